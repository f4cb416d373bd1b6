"""DNS over UDP, DNS over HTTPS and getaddrinfo (censorscope.net.dns)."""

from __future__ import annotations

import asyncio
import ssl

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
    tls_handler,
)

from censorscope.model import failures as F
from censorscope.net.dns import (
    DNSResult,
    LateListeners,
    resolve_doh,
    resolve_getaddrinfo,
    resolve_udp,
)
from censorscope.net.errors import NetError
from censorscope.net.tls import TLSConfig


def test_udp_answer_and_late_duplicate_is_captured() -> None:
    def twice(query: dns.message.Message) -> list[bytes]:
        return [
            dns_reply(query, [("A", "192.0.2.66")]),  # the "injected" reply arrives first
            dns_reply(query, [("A", "198.51.100.7")]),
        ]

    late: list[bytes] = []
    with UDPDNSServer(twice, gap=0.05) as server:
        result = asyncio.run(
            resolve_udp("www.example.org", "A", server.address, timeout=2,
                        late_window=0.5, on_late_reply=late.append)
        )
    assert result.addresses == ["192.0.2.66"]
    assert result.rcode == 0 and result.answers[0].ttl == 300
    assert result.raw_response is not None
    assert len(late) == 1
    assert dns.message.from_wire(late[0]).answer[0][0].to_text() == "198.51.100.7"


def _forged_then_real(query: dns.message.Message) -> list[bytes]:
    return [
        dns_reply(query, [("A", "192.0.2.66")]),  # injected: wins the race
        dns_reply(query, [("A", "198.51.100.7")]),  # the real answer, 200 ms later
    ]


def test_udp_with_late_listeners_returns_at_first_reply_and_keeps_listening() -> None:
    late: list[bytes] = []

    async def main(address: str) -> tuple[DNSResult, float, int, int, int]:
        loop = asyncio.get_running_loop()
        listeners = LateListeners()
        try:
            start = loop.time()
            result = await resolve_udp("www.example.org", "A", address, timeout=2,
                                       late_window=1.0, on_late_reply=late.append,
                                       late=listeners)
            elapsed = loop.time() - start
            at_return = (len(late), listeners.pending)
            await listeners.wait()
        finally:
            await listeners.aclose()
        return result, elapsed, at_return[0], at_return[1], listeners.pending

    with UDPDNSServer(_forged_then_real, gap=0.2) as server:
        result, elapsed, late_at_return, pending_at_return, pending_after = asyncio.run(
            main(server.address)
        )
    assert result.addresses == ["192.0.2.66"]
    assert elapsed < 0.15, "the lookup must not wait for the late window"
    assert (late_at_return, pending_at_return) == (0, 1)
    assert pending_after == 0
    assert len(late) == 1, "the real reply arriving 200 ms later is still captured"
    assert dns.message.from_wire(late[0]).answer[0][0].to_text() == "198.51.100.7"


def test_late_listeners_aclose_stops_listening_early() -> None:
    late: list[bytes] = []

    async def main(address: str) -> float:
        loop = asyncio.get_running_loop()
        listeners = LateListeners()
        await resolve_udp("www.example.org", "A", address, timeout=2, late_window=5.0,
                          on_late_reply=late.append, late=listeners)
        start = loop.time()
        await listeners.aclose()
        assert listeners.pending == 0
        await asyncio.sleep(0.4)  # the real reply (at 0.2 s) must find the socket closed
        return loop.time() - start

    with UDPDNSServer(_forged_then_real, gap=0.2) as server:
        took = asyncio.run(main(server.address))
    assert took < 1.0
    assert late == []


def test_udp_wrong_id_is_ignored_and_cname_kept() -> None:
    def wrong_then_right(query: dns.message.Message) -> list[bytes]:
        return [
            dns_reply(query, [("A", "203.0.113.9")], query_id=(query.id + 1) % 65536),
            dns_reply(query, [("CNAME", "edge.example.net."), ("A", "198.51.100.8")]),
        ]

    with UDPDNSServer(wrong_then_right) as server:
        result = asyncio.run(resolve_udp("www.example.org", "A", server.address, timeout=2))
    assert result.addresses == ["198.51.100.8"]
    assert [(a.type, a.value) for a in result.answers] == [
        ("CNAME", "edge.example.net"),
        ("A", "198.51.100.8"),
    ]


@pytest.mark.parametrize(
    ("rcode", "records", "failure"),
    [
        (dns.rcode.NXDOMAIN, [], F.DNS_NXDOMAIN_ERROR),
        (dns.rcode.REFUSED, [], F.DNS_REFUSED_ERROR),
        (dns.rcode.SERVFAIL, [], F.DNS_SERVFAIL_ERROR),
        (dns.rcode.NOERROR, [], F.DNS_NO_ANSWER),
        (dns.rcode.NOERROR, [("AAAA", "2001:db8::1")], F.DNS_NO_ANSWER),
    ],
)
def test_udp_failures(rcode: int, records: list[tuple[str, str]], failure: str) -> None:
    with UDPDNSServer(lambda q: [dns_reply(q, records, rcode)]) as server:
        with pytest.raises(NetError) as info:
            asyncio.run(resolve_udp("blocked.example", "A", server.address, timeout=2))
    assert (info.value.failure, info.value.operation) == (failure, F.RESOLVE)
    assert isinstance(info.value.dns_result, DNSResult)
    assert info.value.dns_result.rcode == rcode


def test_udp_silence_is_generic_timeout() -> None:
    with UDPDNSServer(lambda q: []) as server, pytest.raises(NetError) as info:
        asyncio.run(resolve_udp("x.example", "A", server.address, timeout=0.3))
    assert (info.value.failure, info.value.operation) == (F.GENERIC_TIMEOUT_ERROR, F.RESOLVE)


def test_getaddrinfo_localhost() -> None:
    result = asyncio.run(resolve_getaddrinfo("localhost", timeout=5))
    assert "127.0.0.1" in result.addresses
    assert len(result.addresses) == len(set(result.addresses))
    assert result.rcode is None and all(a.ttl is None for a in result.answers)


def test_getaddrinfo_of_an_ip_literal_returns_it() -> None:
    assert asyncio.run(resolve_getaddrinfo("192.0.2.5", timeout=5)).addresses == ["192.0.2.5"]


def _doh_handler(pki: PKI, seen: list[bytes]) -> object:
    def answer(tls: ssl.SSLSocket) -> None:
        request = read_request(tls)
        seen.append(request)
        body = request.partition(b"\r\n\r\n")[2]
        query = dns.message.from_wire(body)
        reply = dns_reply(query, [("A", "203.0.113.5")])
        tls.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/dns-message\r\n"
            + f"Content-Length: {len(reply)}\r\n\r\n".encode()
            + reply
        )

    return tls_handler(server_context(pki.good, ["http/1.1"]), answer)


def test_doh_post_over_tls(pki: PKI) -> None:
    seen: list[bytes] = []
    with TCPServer(_doh_handler(pki, seen)) as server:  # type: ignore[arg-type]
        url = f"https://test.example:{server.port}/dns-query"
        result = asyncio.run(
            resolve_doh("www.example.org", "A", url, timeout=3, connect_ip=HOST,
                        tls=TLSConfig("test.example", alpn=["http/1.1"], ca_file=pki.ca_file))
        )
    assert result.addresses == ["203.0.113.5"]
    head = seen[0].partition(b"\r\n\r\n")[0]
    assert head.startswith(b"POST /dns-query HTTP/1.1")
    assert b"Content-Type: application/dns-message" in head


def test_doh_untrusted_server_fails_with_tls_failure(pki: PKI) -> None:
    seen: list[bytes] = []
    with TCPServer(_doh_handler(pki, seen)) as server:  # type: ignore[arg-type]
        url = f"https://test.example:{server.port}/dns-query"
        with pytest.raises(NetError) as info:
            asyncio.run(resolve_doh("www.example.org", "A", url, timeout=3, connect_ip=HOST))
    assert (info.value.failure, info.value.operation) == (F.SSL_UNKNOWN_AUTHORITY, F.RESOLVE)
    assert seen == []


def test_udp_to_a_closed_port_is_connection_refused() -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    with pytest.raises(NetError) as info:
        asyncio.run(resolve_udp("x.example", "A", f"{HOST}:{port}", timeout=2))
    assert (info.value.failure, info.value.operation) == (F.CONNECTION_REFUSED, F.RESOLVE)
