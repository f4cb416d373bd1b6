"""Censor building blocks that need no namespace: patterns, packets, forged DNS, plans."""

from __future__ import annotations

import json
import ssl
import struct
from pathlib import Path

import pytest
from dnslib import QTYPE, DNSRecord

from censorscope.lab.censor import plan_router, resolver_overrides
from censorscope.lab.censor.injector.config import InjectorConfig
from censorscope.lab.censor.injector.dnsforge import forge_reply, parse_query
from censorscope.lab.censor.injector.packets import (
    TCP_ACK,
    TCP_FIN,
    TCP_PSH,
    build_tcp,
    build_udp,
    checksum,
    parse,
    reply_segment,
)
from censorscope.lab.censor.patterns import QNAME_OFFSET, host_pattern, qname_wire, sni_pattern
from censorscope.lab.schema import Policy


def pol(kind: str, **kw: object) -> Policy:
    return Policy(kind=kind, isp="isp1", **kw)  # type: ignore[arg-type]


def client_hello(server_name: str) -> bytes:
    """The first flight of a real TLS client (Python's ssl) with SNI ``server_name``."""
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=server_name)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def test_sni_pattern_matches_exact_server_name_only():
    hello = client_hello("tiktok.com")
    assert sni_pattern("tiktok.com") in hello
    assert sni_pattern("TikTok.com.") in hello  # normalised
    assert sni_pattern("tiktok.com") not in client_hello("www.tiktok.com")
    assert sni_pattern("www.tiktok.com") not in hello
    assert b"tiktok.com" in client_hello("www.tiktok.com")  # what a naive match would hit


def test_host_and_qname_patterns():
    assert host_pattern("site.example") == b"Host: site.example\r\n"
    assert qname_wire("WWW.Example.org.") == b"\x03www\x07example\x03org\x00"
    query = DNSRecord.question("www.example.org", "A").pack()
    ip_udp = bytes(28)
    assert (ip_udp + query)[QNAME_OFFSET:].startswith(qname_wire("www.example.org"))
    with pytest.raises(ValueError):
        qname_wire("bad..name")


def _verify_l4(packet: bytes) -> None:
    assert checksum(packet[:20]) == 0  # IPv4 header checksum
    proto = packet[9]
    l4 = packet[20:]
    pseudo = packet[12:20] + struct.pack("!BBH", 0, proto, len(l4))
    assert checksum(pseudo + l4) == 0


def test_built_packets_have_valid_checksums_and_parse_back():
    seg = build_tcp("203.0.113.10", "198.18.250.2", 443, 50000, 1000, 2000,
                    TCP_PSH | TCP_ACK, b"hello")
    _verify_l4(seg)
    p = parse(seg)
    assert p is not None
    assert (p.src, p.dst, p.sport, p.dport, p.seq, p.ack) == (
        "203.0.113.10", "198.18.250.2", 443, 50000, 1000, 2000)
    assert p.payload == b"hello" and p.flags == TCP_PSH | TCP_ACK
    dgram = build_udp("203.0.113.10", "198.18.250.2", 53, 40000, b"x" * 33)  # odd length
    _verify_l4(dgram)
    assert parse(dgram).payload == b"x" * 33  # type: ignore[union-attr]


def test_reply_segment_acknowledges_the_request():
    req = parse(build_tcp("198.18.250.2", "203.0.113.10", 50000, 80, 7, 900, TCP_PSH | TCP_ACK,
                          b"GET / HTTP/1.1\r\n\r\n"))
    assert req is not None
    fin = parse(reply_segment(req, TCP_FIN | TCP_ACK))
    assert fin is not None
    assert (fin.src, fin.dst, fin.sport, fin.dport) == ("203.0.113.10", "198.18.250.2", 80, 50000)
    assert fin.seq == 900 and fin.ack == 7 + 18 and fin.flags == TCP_FIN | TCP_ACK


def test_forged_dns_reply_is_valid_dns():
    query = DNSRecord.question("Blocked.Example", "A")
    q = parse_query(query.pack())
    assert q is not None and q.name == "blocked.example"
    reply = DNSRecord.parse(forge_reply(q, ["198.18.0.66", "198.18.0.67"]))
    assert reply.header.id == query.header.id and reply.header.qr == 1
    assert [str(r.rdata) for r in reply.rr] == ["198.18.0.66", "198.18.0.67"]
    nx = DNSRecord.parse(forge_reply(q, []))
    assert nx.header.rcode == 3 and not nx.rr
    aaaa = parse_query(DNSRecord.question("blocked.example", "AAAA").pack())
    assert aaaa is not None and aaaa.qtype == QTYPE.AAAA
    assert DNSRecord.parse(forge_reply(aaaa, ["198.18.0.66"])).rr == []
    assert parse_query(reply.pack()) is None  # a response is not a query


def test_plan_contents(tmp_path: Path):
    plan = plan_router(
        [pol("tcp_refuse", ips=["203.0.113.5"], ports=[443]),
         pol("dns_answer", domains=["x.example"], answer=["198.18.0.1"]),
         pol("http_blockpage", hosts=["site.example"]),
         pol("throttle", ips=["203.0.113.6"], rate_kbit=300, delay_ms=50)],
        lan_ifaces=["lan0", "res0"], wan_iface="wan0", state_dir=tmp_path,
    )
    text = plan.iptables
    assert "-A CS-CENSOR -i lan0 -j CS-LAN" in text and "-A CS-CENSOR -i res0 -j CS-LAN" in text
    assert "-d 203.0.113.5 -p tcp --dport 443" in text and "tcp-reset" in text
    assert "wan0" not in text  # nothing acts on traffic entering from the internet side
    assert plan.skipped == ("dns_answer",)
    assert any("rate 300kbit" in line and "dev res0" in line for line in plan.tc)
    assert any("match ip src 203.0.113.6/32" in line for line in plan.tc)
    assert plan.injector is not None
    again = InjectorConfig.from_dict(json.loads(plan.injector.to_json()))
    assert again == plan.injector
    assert "Access Denied" in again.tcp[0].response
    assert again.throttles[0].delay_ms == 50 and again.throttles[0].rate_kbit == 0  # tc does it
    with pytest.raises(ValueError):
        plan_router([], lan_ifaces=["a"], wan_iface="a", state_dir=tmp_path)


def test_plan_without_nfqueue_kinds_needs_no_injector(tmp_path: Path):
    plan = plan_router([pol("sni_drop", sni=["a.example"]), pol("shutdown")],
                       lan_ifaces=["lan0"], wan_iface="wan0", state_dir=tmp_path)
    assert plan.injector is None and plan.tc == ()


def test_resolver_overrides():
    out = resolver_overrides([
        pol("dns_nxdomain", domains=["A.example."]),
        pol("dns_answer", domains=["b.example"], answer=["198.18.0.1"]),
        pol("dns_add", domains=["c.example"], answer=["198.18.0.2"]),
        pol("dns_refused", domains=["d.example"]),
        pol("dns_remove", domains=["e.example"]),
        pol("sni_drop", sni=["f.example"]),
    ])
    assert {k: (v.action, v.answer) for k, v in out.items()} == {
        "a.example": ("nxdomain", []),
        "b.example": ("answer", ["198.18.0.1"]),
        "c.example": ("add", ["198.18.0.2"]),
        "d.example": ("refused", []),
        "e.example": ("remove", []),
    }
