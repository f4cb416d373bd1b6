"""On-path DNS censor kinds (injection, drop), proven with dig and a raw UDP client."""

from __future__ import annotations

import json

import pytest

from censorscope.lab.schema import Policy

pytestmark = pytest.mark.lab

SRV = "203.0.113.10"
FORGED = "198.18.0.66"

# A raw UDP DNS client run in the client namespace: sends one A query, prints every reply
# (answer addresses and rcode) that arrives within 0.5 s.
RAW_CLIENT = r"""
import json, socket, sys, time
from dnslib import DNSRecord
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect((sys.argv[1], 53))
sock.send(DNSRecord.question(sys.argv[2], "A").pack())
sock.settimeout(0.1)
replies, deadline = [], time.monotonic() + 0.5
while time.monotonic() < deadline:
    try:
        data = sock.recv(4096)
    except TimeoutError:
        continue
    msg = DNSRecord.parse(data)
    replies.append({"rcode": msg.header.rcode, "a": [str(r.rdata) for r in msg.rr]})
sock.close()
print(json.dumps(replies))
"""


def pol(kind: str, **kw: object) -> Policy:
    return Policy(kind=kind, isp="isp1", **kw)  # type: ignore[arg-type]


def dig(topo, name: str):
    return topo.client("dig", f"@{SRV}", name, "A", "+tries=1", "+time=1", timeout=5)


def dig_short(topo, name: str) -> str:
    r = topo.client("dig", f"@{SRV}", name, "A", "+short", "+tries=1", "+time=1", timeout=5)
    return r.stdout.strip()


def raw_replies(topo, name: str) -> list[dict[str, object]]:
    import sys

    r = topo.client(sys.executable, "-c", RAW_CLIENT, SRV, name, timeout=10)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_dns_inject_forged_answer_races_real_one(topo, censor):
    censor(pol("dns_inject", domains=["Blocked.Example"], answer=[FORGED]))
    assert dig_short(topo, "blocked.example") == FORGED
    assert dig_short(topo, "BLOCKED.example") == FORGED  # case-insensitive
    assert dig_short(topo, "www.blocked.example") == SRV  # exact name only
    replies = raw_replies(topo, "blocked.example")
    # the forged answer first, the real one later: a duplicate response
    assert [r["a"] for r in replies] == [[FORGED], [SRV]], replies


def test_dns_inject_on_resolver_link(topo, censor):
    censor(pol("dns_inject", domains=["blocked.example"], answer=[FORGED]))
    r = topo.exec(topo.res, "dig", f"@{SRV}", "blocked.example", "+short", "+tries=1", "+time=1")
    assert r.stdout.strip() == FORGED  # the ISP resolver's upstream query is answered too


def test_dns_inject_empty_answer_is_nxdomain(topo, censor):
    censor(pol("dns_inject", domains=["blocked.example"]))
    r = dig(topo, "blocked.example")
    assert "status: NXDOMAIN" in r.stdout, r.stdout
    replies = raw_replies(topo, "blocked.example")
    assert [x["rcode"] for x in replies] == [3, 0], replies


def test_dns_drop_by_name(topo, censor):
    censor(pol("dns_drop", domains=["blocked.example"]))
    r = dig(topo, "blocked.example")
    assert r.returncode == 9, r.stdout  # no servers could be reached
    assert dig_short(topo, "other.example") == SRV


def test_dns_drop_everything(topo, censor):
    censor(pol("dns_drop"))
    assert dig(topo, "other.example").returncode == 9
