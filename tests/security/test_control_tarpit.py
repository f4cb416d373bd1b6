"""A client pointing the control at a tarpit (accepts, never answers) holds only its own
share of measurements: another client address is still served, at once. Against the real
``censorscope control serve`` process with its default limits (50 in flight, 8 per client)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest

from tests.control.sites import ControlProcess, raw_http

from .conftest import Env

FLOOD = 40  # requests from client A, all at once (25 were enough to starve everyone before)
STEP_TIMEOUT = 6.0
PER_CLIENT = 8  # the default --max-inflight-per-client


class Tarpit:
    """Accepts TCP connections on 127.0.0.1 and never answers (keeps them open)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = int(self.sock.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def tarpit() -> Iterator[Tarpit]:
    pit = Tarpit()
    try:
        yield pit
    finally:
        pit.close()


def post(control: ControlProcess, url: str, source: str) -> tuple[int, float, dict[str, Any]]:
    body = orjson.dumps({"http_request": url})
    head = (f"POST / HTTP/1.1\r\nHost: control\r\nContent-Length: {len(body)}\r\n"
            f"User-Agent: ooniprobe-android/3.20.0\r\n\r\n").encode()
    started = time.monotonic()
    status, _, raw = raw_http(control.host, control.port, head + body, timeout=60,
                              source=source)
    return status, time.monotonic() - started, orjson.loads(raw)


def test_tarpit_flood_from_one_client_leaves_another_served(
    control_lab: Env, tarpit: Tarpit, start_control: Callable[..., ControlProcess]
) -> None:
    control = start_control("--listen", "127.0.0.1:0", "--resolver", f"udp://{control_lab.dns}",
                            "--timeout", str(STEP_TIMEOUT), "--allow-range", "127.0.0.0/8")
    pit_url = f"http://127.0.0.1:{tarpit.port}/slow"
    ok_url = control_lab.site.url("ok.test")
    flood_started = time.monotonic()
    with ThreadPoolExecutor(FLOOD) as pool:
        flood = [pool.submit(post, control, pit_url, "127.0.0.1") for _ in range(FLOOD)]
        deadline = time.monotonic() + 10
        while len(tarpit.accepted) < PER_CLIENT and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(tarpit.accepted) >= PER_CLIENT, "A's measurements never reached the tarpit"
        # client B, another source address, while A's measurements hang in the tarpit
        served = [post(control, ok_url, "127.0.0.2") for _ in range(5)]
        b_done = time.monotonic() - flood_started
        results = [f.result(timeout=60) for f in flood]
    flood_time = time.monotonic() - flood_started

    a_busy = [r for r in results if r[0] in (503, 429)]  # 429: serve's per-source cap
    a_measured = [r for r in results if r[0] == 200]
    figures = {
        "flood": FLOOD, "a_measured": len(a_measured), "a_503": len(a_busy),
        "a_503_max_s": round(max((r[1] for r in a_busy), default=0), 3),
        "a_measured_s": round(min((r[1] for r in a_measured), default=0), 2),
        "b_status": [r[0] for r in served], "b_max_s": round(max(r[1] for r in served), 3),
        "b_done_after_s": round(b_done, 2), "flood_done_s": round(flood_time, 2),
        "tarpit_connections": len(tarpit.accepted),
    }
    print("tarpit figures:", figures)
    assert [r[0] for r in served] == [200] * 5, figures
    assert all(r[2]["http_request"]["status_code"] == 200 for r in served)
    assert max(r[1] for r in served) < 2.0, figures
    assert b_done < STEP_TIMEOUT, figures  # served while A's measurements still hang
    assert len(a_measured) == PER_CLIENT and len(a_busy) == FLOOD - PER_CLIENT, figures
    assert all("measurements of yours in flight" in str(r[2]) for r in a_busy if r[0] == 503)
    assert all(r[2]["http_request"]["failure"] == "generic_timeout_error"
               for r in a_measured)
