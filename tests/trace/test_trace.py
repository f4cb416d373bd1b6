"""OONI records produced by Trace around real loopback I/O (censorscope.trace.trace)."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import ssl
import time

import dns.message
import dns.rcode
import pytest
from loopback import (
    HOST,
    PKI,
    TCPServer,
    UDPDNSServer,
    dns_reply,
    read_request,
    server_context,
    silent_after_first_read,
    tls_handler,
)

from censorscope.model import failures as F
from censorscope.net.dns import LateListeners
from censorscope.net.errors import NetError
from censorscope.net.http import HTTPRequestSpec
from censorscope.net.tls import TLSConfig
from censorscope.trace.trace import Trace


def test_tls_timeout_after_client_hello_is_visible_in_network_events() -> None:
    """The TikTok/Azerbaijan signature: connect, ClientHello write, no data until timeout."""

    async def main(port: int) -> Trace:
        trace = Trace(time.monotonic(), 7, ["depth=0"])
        conn = await trace.connect_tcp(HOST, port, timeout=2)
        try:
            with pytest.raises(NetError) as info:
                await trace.tls_handshake(conn, TLSConfig("www.tiktok.com"), timeout=0.5)
            assert info.value.failure == F.GENERIC_TIMEOUT_ERROR
        finally:
            conn.close()
        return trace

    with TCPServer(silent_after_first_read) as server:
        trace = asyncio.run(main(server.port))
    address = f"{HOST}:{server.port}"
    ops = [e["operation"] for e in trace.network_events]
    assert ops == ["connect", "tls_handshake_start", "write", "read", "tls_handshake_done"]
    connect, _, write, read, done = trace.network_events
    assert connect["address"] == address and connect["failure"] is None
    assert connect["proto"] == "tcp"
    assert write["num_bytes"] > 0 and write["failure"] is None  # type: ignore[operator]
    assert read["failure"] == F.GENERIC_TIMEOUT_ERROR and "num_bytes" not in read
    assert read["t"] - read["t0"] >= 0.4
    assert all(e["transaction_id"] == 7 and e["tags"] == ["depth=0"] for e in trace.network_events)
    assert trace.tcp_connect == [
        {
            "ip": HOST,
            "port": server.port,
            "status": {"failure": None, "success": True},
            "t0": trace.tcp_connect[0]["t0"],
            "t": trace.tcp_connect[0]["t"],
            "tags": ["depth=0"],
            "transaction_id": 7,
        }
    ]
    (handshake,) = trace.tls_handshakes
    assert handshake["failure"] == F.GENERIC_TIMEOUT_ERROR
    assert handshake["server_name"] == "www.tiktok.com"
    assert handshake["peer_certificates"] == [] and handshake["tls_version"] == ""
    assert handshake["address"] == address and handshake["no_tls_verify"] is False
    assert done["t"] - handshake["t0"] >= 0.4
    json.dumps(trace.network_events)  # plain JSON


def test_connect_failure_is_recorded_and_reraised() -> None:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    trace = Trace(time.monotonic(), 1)
    with pytest.raises(NetError):
        asyncio.run(trace.connect_tcp(HOST, port, timeout=2))
    assert trace.tcp_connect[0]["status"] == {"failure": F.CONNECTION_REFUSED, "success": False}
    assert trace.network_events[0]["operation"] == "connect"
    assert trace.network_events[0]["failure"] == F.CONNECTION_REFUSED


def test_https_transaction_records_handshake_and_request(trace_pki: PKI) -> None:
    def answer(tls: ssl.SSLSocket) -> None:
        read_request(tls)
        tls.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nSet-Cookie: a=1\r\n"
            b"Set-Cookie: b=2\r\nContent-Length: 16\r\n\r\n<title>x</title>"
        )

    async def main(port: int) -> Trace:
        trace = Trace(time.monotonic(), 3, ["fetch_body=true"])
        conn = await trace.connect_tcp(HOST, port, timeout=2)
        try:
            config = TLSConfig("test.example", alpn=["http/1.1"], ca_file=trace_pki.ca_file)
            tls = await trace.tls_handshake(conn, config, timeout=2)
            request = HTTPRequestSpec("GET", "https://test.example/", [("Accept", "*/*")])
            response = await trace.http_round_trip(tls, request, timeout=2)
            assert response.status == 200
        finally:
            conn.close()
        return trace

    ctx = server_context(trace_pki.good, ["h2", "http/1.1"])
    with TCPServer(tls_handler(ctx, answer)) as server:
        trace = asyncio.run(main(server.port))
    (handshake,) = trace.tls_handshakes
    assert handshake["failure"] is None and handshake["tls_version"] == "TLSv1.3"
    assert handshake["negotiated_protocol"] == "http/1.1"
    assert handshake["cipher_suite"].startswith("TLS_")
    certs = [base64.b64decode(c["data"]) for c in handshake["peer_certificates"]]
    assert certs == trace_pki.good.der_chain
    assert all(c["format"] == "base64" for c in handshake["peer_certificates"])
    (tx,) = trace.requests
    assert tx["failure"] is None and tx["alpn"] == "http/1.1"
    assert tx["request"]["headers"]["Host"] == "test.example"
    assert ["Accept", "*/*"] in tx["request"]["headers_list"]
    assert tx["response"]["code"] == 200
    assert tx["response"]["body"] == "<title>x</title>"
    assert tx["response"]["headers"]["Content-Type"] == "text/html"
    assert tx["response"]["headers"]["Set-Cookie"] == "a=1"
    assert [["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"]] == [
        h for h in tx["response"]["headers_list"] if h[0] == "Set-Cookie"
    ]
    ops = [e["operation"] for e in trace.network_events]
    assert ops[:2] == ["connect", "tls_handshake_start"]
    assert "http_transaction_start" in ops and ops[-1] == "http_transaction_done"
    reads = [e for e in trace.network_events if e["operation"] == "read"]
    assert sum(e.get("num_bytes", 0) or 0 for e in reads) > 100


def test_requests_are_most_recent_first_and_binary_bodies_are_base64() -> None:
    def handle(sock: socket.socket, stop: object) -> None:
        request = read_request(sock)
        body = b"\xff\xfe" if b"/bin" in request else b"text"
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        sock.close()

    async def main(port: int) -> Trace:
        trace = Trace(time.monotonic(), 1)
        for path in ("/text", "/bin"):
            conn = await trace.connect_tcp(HOST, port, timeout=2)
            try:
                await trace.http_round_trip(
                    conn, HTTPRequestSpec("GET", f"http://h.example{path}", []), timeout=2
                )
            finally:
                conn.close()
        return trace

    with TCPServer(handle) as server:
        trace = asyncio.run(main(server.port))
    assert [r["request"]["url"] for r in trace.requests] == [
        "http://h.example/bin",
        "http://h.example/text",
    ]
    assert trace.requests[0]["response"]["body"] == {"format": "base64", "data": "//4="}
    assert trace.requests[1]["response"]["body"] == "text"


def test_http_failure_records_empty_response() -> None:
    def handle(sock: socket.socket, stop: object) -> None:
        read_request(sock)
        sock.close()

    async def main(port: int) -> Trace:
        trace = Trace(time.monotonic(), 1)
        conn = await trace.connect_tcp(HOST, port, timeout=2)
        try:
            with pytest.raises(NetError):
                await trace.http_round_trip(
                    conn, HTTPRequestSpec("GET", "http://h.example/", []), timeout=2
                )
        finally:
            conn.close()
        return trace

    with TCPServer(handle) as server:
        trace = asyncio.run(main(server.port))
    (tx,) = trace.requests
    assert tx["failure"] == F.EOF_ERROR and tx["response"]["code"] == 0


def test_udp_query_and_late_reply_are_recorded() -> None:
    def twice(query: dns.message.Message) -> list[bytes]:
        return [dns_reply(query, [("A", "192.0.2.66")]), dns_reply(query, [("A", "198.51.100.7")])]

    late: list[bytes] = []
    trace = Trace(time.monotonic(), 2, ["classic"])
    with UDPDNSServer(twice) as server:
        asyncio.run(trace.resolve_udp("www.example.org", "A", server.address, timeout=2,
                                      late_window=0.4, on_late_reply=late.append))
    (query,) = trace.queries
    assert query["engine"] == "udp" and query["resolver_address"] == server.address
    assert query["query_type"] == "A" and query["hostname"] == "www.example.org"
    assert query["answers"] == [{"answer_type": "A", "ipv4": "192.0.2.66", "ttl": 300}]
    assert query["failure"] is None and query["rcode"] == 0
    assert dns.message.from_wire(base64.b64decode(query["raw_response"] or "")).id > -1
    assert len(late) == 1
    assert trace.dns_late_replies[0]["answers"] == [
        {"answer_type": "A", "ipv4": "198.51.100.7", "ttl": 300}
    ]
    ops = [e["operation"] for e in trace.network_events]
    assert ops == ["resolve_start", "resolve_done"]


def test_udp_nxdomain_is_recorded_with_rcode() -> None:
    trace = Trace(time.monotonic(), 2)
    with UDPDNSServer(lambda q: [dns_reply(q, [], dns.rcode.NXDOMAIN)]) as server:
        with pytest.raises(NetError):
            asyncio.run(trace.resolve_udp("blocked.example", "A", server.address, timeout=2))
    (query,) = trace.queries
    assert query["failure"] == F.DNS_NXDOMAIN_ERROR
    assert query["rcode"] == dns.rcode.NXDOMAIN and query["answers"] is None
    assert query["raw_response"]


def test_getaddrinfo_is_one_any_query() -> None:
    trace = Trace(time.monotonic(), 4)
    result = asyncio.run(trace.resolve_getaddrinfo("localhost", timeout=5))
    (query,) = trace.queries
    assert query["engine"] == "getaddrinfo" and query["query_type"] == "ANY"
    assert query["resolver_address"] == "" and query["failure"] is None
    assert {"answer_type": "A", "ipv4": "127.0.0.1", "ttl": None} in (query["answers"] or [])
    assert len(query["answers"] or []) == len(result.answers)


def test_doh_query_is_recorded_with_url(trace_pki: PKI) -> None:
    def answer(tls: ssl.SSLSocket) -> None:
        request = read_request(tls)
        reply = dns_reply(dns.message.from_wire(request.partition(b"\r\n\r\n")[2]),
                          [("AAAA", "2001:db8::5")])
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/dns-message\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(reply) + reply)

    trace = Trace(time.monotonic(), 5)
    ctx = server_context(trace_pki.good, ["http/1.1"])
    with TCPServer(tls_handler(ctx, answer)) as server:
        url = f"https://test.example:{server.port}/dns-query"
        config = TLSConfig("test.example", alpn=["http/1.1"], ca_file=trace_pki.ca_file)
        asyncio.run(trace.resolve_doh("www.example.org", "AAAA", url, timeout=3,
                                      connect_ip=HOST, tls=config))
    (query,) = trace.queries
    assert query["engine"] == "doh" and query["resolver_address"] == url
    assert query["answers"] == [{"answer_type": "AAAA", "ipv6": "2001:db8::5", "ttl": 300}]


def test_udp_lookup_ends_at_first_reply_and_late_reply_is_recorded_later() -> None:
    def forged_then_real(query: dns.message.Message) -> list[bytes]:
        return [dns_reply(query, [("A", "192.0.2.66")]), dns_reply(query, [("A", "198.51.100.7")])]

    trace = Trace(time.monotonic(), 20001, ["depth=0"])

    async def main(address: str) -> int:
        listeners = LateListeners()
        try:
            await trace.resolve_udp("www.example.org", "A", address, timeout=2,
                                    late_window=0.8, late=listeners)
            recorded_at_return = len(trace.dns_late_replies)
            await listeners.wait()
        finally:
            await listeners.aclose()
        return recorded_at_return

    with UDPDNSServer(forged_then_real, gap=0.2) as server:
        recorded_at_return = asyncio.run(main(server.address))
    (query,) = trace.queries
    (late,) = trace.dns_late_replies
    assert recorded_at_return == 0
    assert query["answers"] == [{"answer_type": "A", "ipv4": "192.0.2.66", "ttl": 300}]
    assert query["t"] - query["t0"] < 0.15, "the query's t is the first reply, not the window"
    assert late["answers"] == [{"answer_type": "A", "ipv4": "198.51.100.7", "ttl": 300}]
    assert late["t"] - query["t"] >= 0.15, "the real reply came ~200 ms after the forged one"
    assert late["transaction_id"] == 20001 and late["tags"] == ["depth=0"]
    ops = [(e["operation"], e["t"]) for e in trace.network_events]
    assert [op for op, _ in ops] == ["resolve_start", "resolve_done"]
    assert ops[1][1] == query["t"]


def test_doh_transport_is_traced(trace_pki: PKI) -> None:
    def answer(tls: ssl.SSLSocket) -> None:
        request = read_request(tls)
        reply = dns_reply(dns.message.from_wire(request.partition(b"\r\n\r\n")[2]),
                          [("A", "203.0.113.5")])
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/dns-message\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(reply) + reply)

    trace = Trace(time.monotonic(), 30001, ["depth=0"])
    ctx = server_context(trace_pki.good, ["http/1.1"])
    with TCPServer(tls_handler(ctx, answer)) as server:
        url = f"https://test.example:{server.port}/dns-query"
        config = TLSConfig("test.example", alpn=["http/1.1"], ca_file=trace_pki.ca_file)
        asyncio.run(trace.resolve_doh("www.example.org", "A", url, timeout=3,
                                      connect_ip=HOST, tls=config))
    address = f"{HOST}:{server.port}"
    (query,) = trace.queries
    assert query["engine"] == "doh"
    (connect,) = trace.tcp_connect
    assert (connect["ip"], connect["port"], connect["status"]["success"]) == (
        HOST, server.port, True
    )
    (handshake,) = trace.tls_handshakes
    assert handshake["address"] == address and handshake["failure"] is None
    assert handshake["server_name"] == "test.example"
    assert handshake["peer_certificates"], "the DoH server's chain is recorded"
    (request,) = trace.requests
    assert request["request"]["method"] == "POST" and request["request"]["url"] == url
    assert request["response"]["code"] == 200 and request["failure"] is None
    assert request["response"]["headers"]["Content-Type"] == "application/dns-message"
    ops = [e["operation"] for e in trace.network_events]
    assert ops[0] == "resolve_start" and ops[-1] == "resolve_done"
    assert ops[1] == "connect"
    for op in ("tls_handshake_start", "tls_handshake_done", "http_transaction_start",
               "http_transaction_done", "write", "read"):
        assert op in ops
    ids = {r["transaction_id"] for r in [*trace.tcp_connect, *trace.tls_handshakes,
                                          *trace.requests, *trace.network_events]}
    assert ids == {30001}


def test_doh_failed_connect_is_traced_and_lookup_fails() -> None:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        closed = sock.getsockname()[1]
    trace = Trace(time.monotonic(), 30001)
    url = f"https://test.example:{closed}/dns-query"
    with pytest.raises(NetError) as info:
        asyncio.run(trace.resolve_doh("www.example.org", "A", url, timeout=3, connect_ip=HOST))
    assert (info.value.failure, info.value.operation) == (F.CONNECTION_REFUSED, F.RESOLVE)
    (connect,) = trace.tcp_connect
    assert connect["status"] == {"failure": F.CONNECTION_REFUSED, "success": False}
    (query,) = trace.queries
    assert query["failure"] == F.CONNECTION_REFUSED
    assert trace.tls_handshakes == [] and trace.requests == []
