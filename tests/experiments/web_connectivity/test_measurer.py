"""Web Connectivity measurer against real loopback servers (no root needed).

A threaded HTTP site on 127.0.0.1 (``/`` redirects to ``/next`` with a cookie), a dnslib
Do53 server that also sends a duplicate reply 200 ms later, and the real control
(``censorscope.control.server``) allowed to dial 127.0.0.0/8. The URL host is ``localhost``
so the system resolver answers from ``/etc/hosts`` without leaving the machine.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dns.message
import pytest
from dnslib import QTYPE, RR, A, DNSRecord

from censorscope.control.measure import MeasureConfig
from censorscope.control.policy import AddressPolicy
from censorscope.control.server import ControlServer, ServerConfig
from censorscope.experiments.web_connectivity.measurer import WebConnectivityMeasurer
from censorscope.experiments.web_connectivity.options import Timeouts, WebConnectivityOptions
from censorscope.trace.throttling import SamplerInterval

sys.path.insert(0, str(Path(__file__).parents[2] / "net"))

from loopback import (
    TCPServer,
    dns_reply,
    make_pki,
    read_request,
    server_context,
    tls_handler,
)

TEST_KEYS = [
    "agent", "client_resolver", "retries", "socksproxy", "network_events", "x_dns_whoami",
    "x_doh", "x_do53", "x_dns_duplicate_responses", "queries", "requests", "tcp_connect",
    "tls_handshakes", "x_control_request", "control", "x_conn_priority_log", "control_failure",
    "x_dns_flags", "dns_experiment_failure", "dns_consistency", "http_experiment_failure",
    "x_blocking_flags", "x_null_null_flags", "body_proportion", "body_length_match",
    "headers_match", "status_code_match", "title_match", "blocking", "accessible",
]
PAGE = (b"<html><head><title>Loopback landing page</title></head><body>" + b"x" * 500
        + b"</body></html>")


class _Site(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        port = self.server.server_address[1]
        if self.path == "/":
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{port}/next")
            self.send_header("Set-Cookie", "session=s1; Path=/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.cookies.append(self.headers.get("Cookie"))  # type: ignore[attr-defined]
        self.server.referers.append(self.headers.get("Referer"))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: Any) -> None:
        pass


LATE_GAP = 0.2  # seconds between the Do53 server's first and duplicate replies
LATE_WINDOW = 0.6  # the measurer's dns_late_window in these tests


class _DNS:
    """Do53 on 127.0.0.1: A localhost → 127.0.0.1, then (``LATE_GAP`` later) a forged
    duplicate 127.0.0.9."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._timers: list[threading.Timer] = []
        self.thread = threading.Thread(target=self._serve)
        self.thread.start()

    def _reply(self, query: DNSRecord, ip: str | None) -> bytes:
        reply = query.reply()
        if ip is not None and query.q.qtype == QTYPE.A:
            reply.add_answer(RR(query.q.qname, QTYPE.A, rdata=A(ip), ttl=30))
        return reply.pack()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = DNSRecord.parse(data)
            self.sock.sendto(self._reply(query, "127.0.0.1"), peer)
            if query.q.qtype == QTYPE.A:
                late = threading.Timer(
                    LATE_GAP, self._send_late, (self._reply(query, "127.0.0.9"), peer)
                )
                self._timers.append(late)
                late.start()

    def _send_late(self, reply: bytes, peer: tuple[str, int]) -> None:
        if not self._stop.is_set():
            self.sock.sendto(reply, peer)

    def close(self) -> None:
        self._stop.set()
        self.thread.join()
        for timer in self._timers:
            timer.cancel()
            timer.join()
        self.sock.close()


class _Control:
    """The real control in a background event loop, allowed to dial loopback."""

    def __init__(self, resolver: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = ControlServer(
            ServerConfig(host="127.0.0.1", port=0),
            MeasureConfig(resolver=f"udp://{resolver}", timeout=2.0, dns_timeout=1.0,
                          policy=AddressPolicy.from_cidrs(["127.0.0.0/8"])),
        )
        self.thread = threading.Thread(target=self.loop.run_forever)
        self.thread.start()
        host, port = asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        self.url = f"http://{host}:{port}/"

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    site = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    site.cookies = []  # type: ignore[attr-defined]
    site.referers = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=site.serve_forever)
    thread.start()
    dns = _DNS()
    control = _Control(dns.address)
    try:
        yield {"site": site, "port": site.server_address[1], "dns": dns.address,
               "control": control.url}
    finally:
        control.close()
        dns.close()
        site.shutdown()
        thread.join()
        site.server_close()


def _options(world: dict[str, Any], **changes: Any) -> WebConnectivityOptions:
    base: dict[str, Any] = {
        "resolver": world["dns"],
        "control_url": world["control"],
        "allow_loopback": True,
        "client_resolver": "127.0.0.1",
        "timeouts": Timeouts(dns=2, tcp=2, tls=2, http=3, control=8,
                             dns_late_window=LATE_WINDOW, priority_window=0.1),
        "sampler": SamplerInterval(mean=0.02, min=0.01, max=0.04),
    }
    base.update(changes)
    return WebConnectivityOptions(**base)


@pytest.fixture(scope="module")
def measured(world: dict[str, Any]) -> dict[str, Any]:
    url = f"http://localhost:{world['port']}/"
    return asyncio.run(WebConnectivityMeasurer(_options(world)).measure(url))


def test_test_keys_are_complete_and_in_ooni_order(measured: dict[str, Any]) -> None:
    assert list(measured) == TEST_KEYS
    assert measured["agent"] == "redirect"
    assert measured["retries"] is None and measured["socksproxy"] is None
    assert measured["client_resolver"] == "127.0.0.1"


def test_dns_stage_records_three_engines_with_ooni_ids_and_tags(measured: dict[str, Any]) -> None:
    system = [q for q in measured["queries"] if q["engine"] == "getaddrinfo"]
    assert len(system) == 1
    assert system[0]["query_type"] == "ANY"
    assert system[0]["transaction_id"] == 10001
    assert system[0]["tags"] == ["classic", "depth=0"]
    assert [a["ipv4"] for a in system[0]["answers"]] == ["127.0.0.1"]
    udp = [q for q in measured["queries"] if q["engine"] == "udp"]
    assert sorted(q["query_type"] for q in udp) == ["A", "AAAA"]
    assert {q["transaction_id"] for q in udp} == {20001}
    assert all(q["resolver_address"] == _world_dns(measured) for q in udp)
    assert measured["x_do53"]["network_events"], "Do53 annotations belong in x_do53"


def _world_dns(measured: dict[str, Any]) -> str:
    return next(q["resolver_address"] for q in measured["queries"] if q["engine"] == "udp")


def test_late_duplicate_reply_is_recorded(measured: dict[str, Any]) -> None:
    dups = measured["x_dns_duplicate_responses"]
    assert dups, "the forged second reply must be kept"
    assert dups[0]["query_type"] == "A"
    assert [a["ipv4"] for a in dups[0]["answers"]] == ["127.0.0.9"]


def test_dns_stage_does_not_wait_for_the_late_window(measured: dict[str, Any]) -> None:
    (udp_a,) = [q for q in measured["queries"]
                if q["engine"] == "udp" and q["query_type"] == "A"]
    (dup,) = measured["x_dns_duplicate_responses"]
    assert udp_a["t"] - udp_a["t0"] < LATE_GAP, "the query ends at its first reply"
    assert dup["t"] - udp_a["t"] >= LATE_GAP * 0.75, "the duplicate came ~200 ms later"
    assert dup["t"] < udp_a["t"] + LATE_WINDOW
    first_connect = min(c["t0"] for c in measured["tcp_connect"])
    assert first_connect < dup["t"], "flows start before the late window is over"
    assert first_connect < udp_a["t"] + LATE_GAP


def test_throttling_samples_end_at_the_bytes_read_per_flow(measured: dict[str, Any]) -> None:
    events = measured["network_events"]
    flows = {c["transaction_id"] for c in measured["tcp_connect"] if c["status"]["success"]}
    assert flows
    for tid in flows:
        reads = [e for e in events if e["transaction_id"] == tid and e["operation"] == "read"]
        samples = [e for e in events
                   if e["transaction_id"] == tid and e["operation"] == "bytes_received_cumulative"]
        assert samples, f"flow {tid} has no throttling samples"
        counts = [e["num_bytes"] for e in samples]
        assert counts == sorted(counts)
        assert counts[-1] == sum(e.get("num_bytes", 0) for e in reads)
        connect = next(c for c in measured["tcp_connect"] if c["transaction_id"] == tid)
        assert {e["address"] for e in samples} == {f"{connect['ip']}:{connect['port']}"}
        assert {e["proto"] for e in samples} == {"tcp"}
    assert not any(e["operation"] == "bytes_received_cumulative"
                   for e in measured["x_do53"]["network_events"])


def test_sampler_can_be_turned_off(world: dict[str, Any]) -> None:
    url = f"http://localhost:{world['port']}/"
    tk = asyncio.run(WebConnectivityMeasurer(
        _options(world, sampler=None, control_url=None)).measure(url))
    assert tk["requests"], "the measurement still fetches"
    assert not any(e["operation"] == "bytes_received_cumulative" for e in tk["network_events"])


def test_one_get_per_depth_and_redirect_goes_to_depth_one(measured: dict[str, Any]) -> None:
    depths = [next(t for t in r["tags"] if t.startswith("depth=")) for r in measured["requests"]]
    assert depths == ["depth=1", "depth=0"], "newest first, exactly one GET per depth"
    newest, oldest = measured["requests"]
    assert newest["t0"] >= oldest["t"]
    assert oldest["response"]["code"] == 302
    assert newest["response"]["code"] == 200
    assert newest["request"]["url"].endswith("/next")
    assert newest["request"]["headers"]["Referer"] == oldest["request"]["url"]
    assert newest["request"]["headers"]["Cookie"] == "session=s1"
    assert oldest["request"]["headers"]["Referer"] == ""
    assert "fetch_body=true" in newest["tags"] and "tcptls_experiment" not in newest["tags"]
    assert oldest["tags"] == ["classic", "tcptls_experiment", "depth=0", "fetch_body=true"]


def test_records_of_one_endpoint_share_a_transaction_id(measured: dict[str, Any]) -> None:
    for request in measured["requests"]:
        tid = request["transaction_id"]
        assert 40001 <= tid < 50000
        connects = [c for c in measured["tcp_connect"] if c["transaction_id"] == tid]
        assert len(connects) == 1
        assert f"{connects[0]['ip']}:{connects[0]['port']}" == request["address"]
        ops = [e["operation"] for e in measured["network_events"] if e["transaction_id"] == tid]
        assert ops[0] == "connect"
        assert "http_transaction_start" in ops and "http_transaction_done" in ops
        assert "write" in ops and "read" in ops


def test_network_events_are_sorted_by_time(measured: dict[str, Any]) -> None:
    times = [e["t"] for e in measured["network_events"]]
    assert times == sorted(times)
    assert len(times) > 6


def test_control_is_called_with_ooni_request_and_answers(measured: dict[str, Any]) -> None:
    request = measured["x_control_request"]
    assert request["http_request"].startswith("http://localhost:")
    port = request["http_request"].rsplit(":", 1)[1].strip("/")
    assert request["tcp_connect"] == [f"127.0.0.1:{port}"]
    assert request["x_quic_enabled"] is False
    assert set(request["http_request_headers"]) == {"Accept", "Accept-Language", "User-Agent"}
    assert measured["control_failure"] is None
    assert measured["control"]["http_request"]["status_code"] == 200
    assert measured["blocking"] is False and measured["accessible"] is True


def test_priority_log_grants_one_connection_per_depth(measured: dict[str, Any]) -> None:
    msgs = [e["msg"] for e in measured["x_conn_priority_log"]]
    assert msgs[0].startswith("create with [{Addr:127.0.0.1 Flags:3}")
    assert sum("granted permission: true" in m for m in msgs) == 2


def test_loopback_is_never_dialled_by_default(world: dict[str, Any]) -> None:
    url = f"http://localhost:{world['port']}/"
    tk = asyncio.run(WebConnectivityMeasurer(
        _options(world, allow_loopback=False, control_url=None)).measure(url))
    assert tk["tcp_connect"] == [] and tk["requests"] == []
    assert tk["queries"], "DNS still runs"
    assert tk["control_failure"] == "unknown_failure: no available helpers"
    assert tk["blocking"] is None and tk["accessible"] is None


def test_unreachable_control_gives_control_failure(world: dict[str, Any]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    url = f"http://localhost:{world['port']}/"
    tk = asyncio.run(WebConnectivityMeasurer(
        _options(world, control_url=f"http://127.0.0.1:{closed}/")).measure(url))
    assert tk["control_failure"] == "connection_refused"
    assert tk["control"] is None
    assert len(tk["requests"]) == 2, "the measurement itself completes"


def test_doh_transport_is_recorded_in_x_doh(world: dict[str, Any], tmp_path: Path) -> None:
    pki = make_pki(tmp_path)

    def answer(tls: ssl.SSLSocket) -> None:
        query = dns.message.from_wire(read_request(tls).partition(b"\r\n\r\n")[2])
        qtype = query.question[0].rdtype
        records = [("A", "127.0.0.1")] if qtype == 1 else []
        reply = dns_reply(query, records)
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/dns-message\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(reply) + reply)

    with TCPServer(tls_handler(server_context(pki.good, ["http/1.1"]), answer)) as doh:
        url = f"https://test.example:{doh.port}/dns-query"
        options = _options(world, control_url=None, doh_url=url, doh_connect_ip="127.0.0.1",
                           control_ca_file=pki.ca_file, doh_always=True)
        tk = asyncio.run(WebConnectivityMeasurer(options).measure(
            f"http://localhost:{world['port']}/"))
    address = f"127.0.0.1:{doh.port}"
    doh_queries = [q for q in tk["queries"] if q["engine"] == "doh"]
    assert sorted(q["query_type"] for q in doh_queries) == ["A", "AAAA"]
    assert {q["transaction_id"] for q in doh_queries} == {30001}
    x_doh = tk["x_doh"]
    assert x_doh["queries"] == [], "the DoH server's IP is pinned: no lookup of its name"
    assert [(c["ip"], c["port"], c["status"]["success"]) for c in x_doh["tcp_connect"]] == [
        ("127.0.0.1", doh.port, True)
    ] * 2
    assert [(h["address"], h["server_name"], h["failure"]) for h in x_doh["tls_handshakes"]] == [
        (address, "test.example", None)
    ] * 2
    assert len(x_doh["requests"]) == 2
    for request in x_doh["requests"]:
        assert request["request"]["method"] == "POST" and request["request"]["url"] == url
        assert request["response"]["code"] == 200 and request["address"] == address
    ops = [e["operation"] for e in x_doh["network_events"]]
    for op in ("resolve_start", "resolve_done", "connect", "tls_handshake_start",
               "tls_handshake_done", "http_transaction_start", "http_transaction_done",
               "write", "read"):
        assert op in ops, op
    everything = [*x_doh["tcp_connect"], *x_doh["tls_handshakes"], *x_doh["requests"],
                  *x_doh["network_events"]]
    assert {r["transaction_id"] for r in everything} == {30001}
    assert not any(c["port"] == doh.port for c in tk["tcp_connect"]), "not in the main keys"
    assert not any(e.get("address") == address for e in tk["network_events"])
