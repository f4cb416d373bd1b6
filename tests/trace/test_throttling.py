"""The throttling sampler against a loopback server streaming a body slowly."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time

from loopback import HOST, TCPServer, read_request

from censorscope.net.http import HTTPRequestSpec
from censorscope.trace.throttling import SamplerInterval, ThrottlingSampler
from censorscope.trace.trace import Trace

CHUNK, CHUNKS, PAUSE = 200, 8, 0.04


def _slow_body(sock: socket.socket, stop: threading.Event) -> None:
    read_request(sock)
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (CHUNK * CHUNKS))
    for _ in range(CHUNKS):
        if stop.wait(PAUSE):
            break
        sock.sendall(b"x" * CHUNK)
    sock.close()


def test_samples_grow_while_the_body_streams_and_end_at_the_bytes_read() -> None:
    trace = Trace(time.monotonic(), 40001, ["depth=0", "fetch_body=true"])

    async def main(port: int) -> int:
        sampler = ThrottlingSampler(trace, SamplerInterval(mean=0.02, min=0.01, max=0.04),
                                    seed=1)
        sampler.start()
        try:
            conn = await trace.connect_tcp(HOST, port, timeout=2)
            try:
                request = HTTPRequestSpec("GET", f"http://{HOST}:{port}/", [])
                response = await trace.http_round_trip(conn, request, timeout=5)
            finally:
                conn.close()
        finally:
            await sampler.stop()
        await sampler.stop()  # idempotent: no second final sample
        return len(response.body)

    with TCPServer(_slow_body) as server:
        body_len = asyncio.run(main(server.port))
    assert body_len == CHUNK * CHUNKS
    address = f"{HOST}:{server.port}"
    samples = [e for e in trace.network_events if e["operation"] == "bytes_received_cumulative"]
    reads = [e for e in trace.network_events if e["operation"] == "read"]
    assert len(samples) >= 4, "the ~300 ms stream is sampled every 10-40 ms"
    counts = [e["num_bytes"] for e in samples]
    assert counts == sorted(counts), "cumulative counts never decrease"
    assert len(set(counts)) >= 3, "samples taken during the stream see it grow"
    assert counts[-1] == sum(e.get("num_bytes", 0) for e in reads)
    assert counts[-1] > CHUNK * CHUNKS  # headers + body
    assert samples[-1]["t"] >= reads[-1]["t"]
    for sample in samples:
        assert sample["address"] == address and sample["proto"] == "tcp"
        assert sample["failure"] is None and sample["t0"] == sample["t"]
        assert sample["transaction_id"] == 40001
        assert sample["tags"] == ["depth=0", "fetch_body=true"]
    times = [e["t"] for e in samples]
    assert times == sorted(times)


def test_no_samples_before_any_byte_is_received() -> None:
    trace = Trace(time.monotonic(), 40002)

    async def main() -> None:
        sampler = ThrottlingSampler(trace, SamplerInterval(mean=0.01, min=0.005, max=0.02))
        sampler.start()
        await asyncio.sleep(0.1)
        await sampler.stop()

    asyncio.run(main())
    assert trace.network_events == []


def test_interval_is_memoryless_and_clamped_to_ooni_bounds() -> None:
    interval = SamplerInterval()
    assert (interval.mean, interval.min, interval.max) == (0.25, 0.025, 0.65)
    rng = random.Random(7)
    draws = [interval.draw(rng) for _ in range(5000)]
    assert min(draws) == 0.025 and max(draws) == 0.65, "both clamps are hit"
    assert all(0.025 <= d <= 0.65 for d in draws)
    mean = sum(draws) / len(draws)
    assert 0.18 < mean < 0.26  # exponential(250 ms) clamped to [25, 650] ms: about 0.23 s
