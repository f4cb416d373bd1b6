"""Builders of incidents and outages, and a real webhook receiver, for the alerts tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from censorscope.alerts import webhook
from censorscope.model.detection import Incident, NetworkImpact, Outage

T0 = datetime(2022, 9, 14, 12, 11)
AS_NAMES = {29049: "Delta Telecom", 41997: "Connect", 31721: "Azercell", 28787: "Baktelecom",
            197830: "Bakcell"}


def network(asn: int, onset: datetime = T0, *, n: int = 1,
            offset: datetime | None = None) -> NetworkImpact:
    return NetworkImpact(
        asn=asn, as_name=AS_NAMES.get(asn, f"AS{asn}"), onset=onset,
        first_blocked_uid=f"uid-blocked-{asn}-{n}", last_clean_uid=f"uid-clean-{asn}-{n}",
        techniques=("tls.timeout.sni",), endpoints=("www.tiktok.com", "v16m.tiktokcdn.com"),
        offset=offset, confidence=0.97)


def incident(asns: tuple[int, ...] = (29049,), *, start: datetime = T0,
             end: datetime | None = None, scope: str | None = None, cc: str = "AZ",
             target: str = "service:tiktok", title: str = "") -> Incident:
    if scope is None:
        scope = "one_isp" if len(asns) == 1 else "several_isps"
    return Incident(
        cc=cc, target=target, scope=scope, start=start, end=end,  # type: ignore[arg-type]
        confidence=0.95, networks=tuple(network(a, start + timedelta(minutes=10 * i))
                                        for i, a in enumerate(asns)),
        not_affected=(28787, 197830), evidence=tuple(f"uid-ev-{a}" for a in asns),
        title=title or f"TikTok blocked in {cc}", detector="test-1")


def outage(*, start: datetime = T0, end: datetime | None = None, asn: int | None = 29049,
           kind: str = "shutdown") -> Outage:
    return Outage(cc="AZ", asn=asn, kind=kind, start=start, end=end,  # type: ignore[arg-type]
                  confidence=0.9, facts={"control_reach": 0.0, "volume_ratio": 1.02},
                  evidence=("uid-out-1", "uid-out-2"), detector="test-1")


@dataclass
class Received:
    path: str
    body: bytes
    headers: dict[str, str]
    signature_ok: bool


@dataclass
class Receiver:
    """A webhook receiver: ``fail_first`` answers 503 to the first attempts of each delivery
    (``X-Censorscope-Delivery``), ``status`` answers every request that status instead of
    200, ``delay`` sleeps before answering; a bad signature gets 401."""

    secret: bytes
    fail_first: int = 0
    status: int | None = None
    delay: float = 0.0
    attempts: dict[str, int] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def accepted(self) -> list[dict[str, object]]:
        return [json.loads(r.body) for r in self.received if r.signature_ok]


@contextmanager
def receiver(secret: bytes, **kw: object) -> Iterator[Receiver]:
    state = Receiver(secret, **kw)  # type: ignore[arg-type]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ok = webhook.verify(state.secret, body, self.headers[webhook.TIMESTAMP_HEADER],
                                self.headers[webhook.SIGNATURE_HEADER])
            delivery = self.headers[webhook.DELIVERY_HEADER]
            with lock:
                n = state.attempts[delivery] = state.attempts.get(delivery, 0) + 1
                state.received.append(Received(self.path, body, dict(self.headers), ok))
            if state.delay:
                threading.Event().wait(state.delay)
            code = 401 if not ok else state.status or (503 if n <= state.fail_first else 200)
            try:
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/censorscope?token=t0ps3cret"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
