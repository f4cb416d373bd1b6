"""Fuzzing the request parser with hypothesis: no 5xx and no traceback.

``read_request`` on arbitrary byte streams (and on streams shaped like requests), then a real
collector (in a background thread) given random request heads over loopback. The one 5xx the
policy sends on purpose is 501 for a transfer coding it does not know (RFC 9112 §6.1); a
random head that names one gets it, nothing else may be a 5xx.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from censorscope.collector.server import Collector, CollectorConfig
from censorscope.serve import BodyBudget, HTTPError, Limits, read_request

LIMITS = Limits(head_timeout=0.5, idle_timeout=0.5, body_timeout=0.5, max_body=4096,
                max_header_bytes=1024, max_request_line=512)


class _Writer:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data


def _allowed(exc: HTTPError) -> bool:
    return exc.status < 500 or (exc.status == 501 and exc.reason == "not_implemented")


async def _parse_all(data: bytes) -> list[int]:
    reader = asyncio.StreamReader(limit=LIMITS.stream_limit)
    reader.feed_data(data)
    reader.feed_eof()
    budget = BodyBudget(8192, 4096)
    statuses = []
    first = True
    for _ in range(50):  # bounded: a stream of at most a few KiB holds few requests
        try:
            request = await read_request(reader, _Writer(), LIMITS,  # type: ignore[arg-type]
                                         first=first, budget=budget, source="s")
        except HTTPError as exc:
            assert _allowed(exc), (exc.status, exc.message)
            statuses.append(exc.status)
            break
        if request is None:
            break
        budget.release("s", len(request.body))
        statuses.append(200)
        first = False
    assert budget.held == 0
    return statuses


TOKENS = st.sampled_from([
    b"GET", b"POST", b"PUT", b" ", b"/", b"/report", b"?a=b", b"HTTP/1.1", b"HTTP/1.0",
    b"HTTP/2", b"\r\n", b"\n", b"\r", b"Host: x", b"Content-Length: ", b"4", b"-1",
    b"99999999999999", b"Transfer-Encoding: chunked", b"Transfer-Encoding: gzip",
    b"Expect: 100-continue", b"Content-Type: application/json", b":", b"\t", b"\x00", b"\xff",
    b"Connection: close", b"{}", b"x" * 600, b"\r\n\r\n",
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_read_request_on_arbitrary_bytes(data: bytes) -> None:
    asyncio.run(_parse_all(data))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TOKENS, max_size=40).map(b"".join))
def test_read_request_on_request_shaped_bytes(data: bytes) -> None:
    asyncio.run(_parse_all(data))


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def collector_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, _Errors]]:
    archive: Path = tmp_path_factory.mktemp("fuzz") / "archive"
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        app = Collector(CollectorConfig(archive=archive, port=0, seal_interval=0,
                                        limits=Limits(head_timeout=2, body_timeout=2)))
        await app.start()
        holder["app"], holder["stop"] = app, asyncio.Event()
        ready.set()
        await holder["stop"].wait()
        await app.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(20)
    try:
        yield holder["app"].port, errors
    finally:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(30)
        loop.close()
        logging.getLogger().removeHandler(errors)


FIELD = st.tuples(
    st.one_of(st.sampled_from(["Host", "Content-Length", "Content-Type", "Content-Encoding",
                               "Transfer-Encoding", "Expect", "Connection", "Authorization"]),
              st.text(min_size=0, max_size=20)),
    st.one_of(st.sampled_from(["application/json", "0", "12", "-3", "gzip", "zstd", "chunked",
                               "100-continue", "close", "x", "1" * 20]),
              st.text(max_size=60)),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    method=st.one_of(st.sampled_from(["GET", "POST", "HEAD", "DELETE"]), st.text(max_size=10)),
    target=st.one_of(st.sampled_from(["/", "/health", "/report", "/report/x",
                                      "/api/v1/submit_measurement", "/admin/seal",
                                      "/api/v1/raw_measurement?measurement_uid=x"]),
                     st.text(max_size=80)),
    version=st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/0.9", "http/1.1", ""]),
    fields=st.lists(FIELD, max_size=8),
    body=st.binary(max_size=200),
)
def test_a_real_collector_given_random_heads(
    collector_port: tuple[int, _Errors], method: str, target: str, version: str,
    fields: list[tuple[str, str]], body: bytes,
) -> None:
    port, errors = collector_port
    head = f"{method} {target} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields)
    data = head.encode("utf-8", "surrogateescape") + b"\r\n" + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        raw = b""
        for _ in range(1000):  # bounded; the server closes after our EOF
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    statuses = [int(s) for s in re.findall(rb"(?:^|\r\n\r\n|\})HTTP/1\.1 (\d{3}) ", raw)]
    assert statuses, raw[:200]
    for status in statuses:
        assert status < 500 or (status == 501 and b"transfer coding" in raw), raw[:300]
    assert not errors.records, [r.getMessage() for r in errors.records]
