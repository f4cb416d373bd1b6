"""The lab DNS server (lab.services.dns), run for real and queried with dnspython, dig, curl."""

from __future__ import annotations

import base64
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from censorscope.lab.services.ca import ensure_ca

PORT = 15353

RECORDS: dict[str, Any] = {
    "www.example.com": [{"type": "A", "value": "93.184.216.34"}],
    "alias.example.com": [{"type": "CNAME", "value": "www.example.com"}],
    "alias2.example.com": [{"type": "CNAME", "value": "alias.example.com"}],
    "noaddr.example.com": [{"type": "CNAME", "value": "web01.example.com"}],
    "яндекс.рф": [{"type": "A", "value": "5.255.255.80"}],
    "v6.example.com": [{"type": "AAAA", "value": "2001:db8::1"}],
}


def query(ip: str, name: str, rdtype: str = "A", port: int = PORT, timeout: float = 1.0,
          tcp: bool = False) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype)
    if tcp:
        return dns.query.tcp(q, ip, port=port, timeout=timeout)
    return dns.query.udp(q, ip, port=port, timeout=timeout)


def addresses(msg: dns.message.Message) -> list[str]:
    return sorted(
        rd.to_text() for rrset in msg.answer for rd in rrset
        if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
    )


def dns_config(ip: str, **extra: Any) -> dict[str, Any]:
    return {"listen": [ip], "port": PORT, "records": RECORDS, **extra}


def test_ready_and_answers_records(start_service, block):
    ip = block + "1"
    svc = start_service("dns", dns_config(ip))
    assert svc.ready_after_s < 5
    reply = query(ip, "www.example.com")
    assert reply.rcode() == dns.rcode.NOERROR
    assert addresses(reply) == ["93.184.216.34"]
    assert addresses(query(ip, "v6.example.com", "AAAA")) == ["2001:db8::1"]
    # a name with only an A record: NOERROR, no data for AAAA
    empty = query(ip, "www.example.com", "AAAA")
    assert empty.rcode() == dns.rcode.NOERROR and empty.answer == []
    assert query(ip, "www.example.xyz").rcode() == dns.rcode.NXDOMAIN


def test_cname_chains_and_cname_without_addresses(start_service, block):
    ip = block + "1"
    start_service("dns", dns_config(ip))
    chain = query(ip, "alias2.example.com")
    kinds = [rrset.rdtype for rrset in chain.answer]
    assert kinds.count(dns.rdatatype.CNAME) == 2
    assert addresses(chain) == ["93.184.216.34"]
    no_addr = query(ip, "noaddr.example.com")
    assert no_addr.rcode() == dns.rcode.NOERROR
    assert addresses(no_addr) == []
    assert [rrset.rdtype for rrset in no_addr.answer] == [dns.rdatatype.CNAME]
    assert no_addr.answer[0][0].target.to_text() == "web01.example.com."


def test_names_are_case_insensitive_and_idna(start_service, block):
    ip = block + "1"
    start_service("dns", dns_config(ip))
    assert addresses(query(ip, "WWW.Example.COM")) == ["93.184.216.34"]
    assert addresses(query(ip, "xn--d1acpjx3f.xn--p1ai")) == ["5.255.255.80"]
    assert addresses(query(ip, "XN--D1ACPJX3F.xn--P1AI")) == ["5.255.255.80"]


def test_tcp_with_dig(start_service, block):
    ip = block + "1"
    start_service("dns", dns_config(ip))
    out = subprocess.run(
        ["dig", "+tcp", "+short", "+tries=1", "+time=2", "-p", str(PORT), f"@{ip}",
         "alias.example.com", "A"],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout.split()
    assert out == ["www.example.com.", "93.184.216.34"]
    assert addresses(query(ip, "www.example.com", tcp=True)) == ["93.184.216.34"]


def test_overrides(start_service, block):
    ip = block + "1"
    overrides = {
        "www.example.com": {"action": "nxdomain"},
        "alias.example.com": {"action": "refused"},
        "v6.example.com": {"action": "answer", "answer": ["10.10.34.35"]},
        "alias2.example.com": {"action": "add", "answer": ["127.0.0.1"]},
        "noaddr.example.com": {"action": "remove"},
        "xn--d1acpjx3f.xn--p1ai": {"action": "drop"},
        "*.blocked.example": {"action": "answer", "answer": ["198.18.0.9"]},
    }
    start_service("dns", dns_config(ip, overrides=overrides))
    assert query(ip, "www.example.com").rcode() == dns.rcode.NXDOMAIN
    assert query(ip, "alias.example.com").rcode() == dns.rcode.REFUSED
    assert addresses(query(ip, "v6.example.com")) == ["10.10.34.35"]
    assert addresses(query(ip, "alias2.example.com")) == ["127.0.0.1", "93.184.216.34"]
    assert query(ip, "noaddr.example.com").rcode() == dns.rcode.NXDOMAIN
    assert addresses(query(ip, "a.b.blocked.example")) == ["198.18.0.9"]
    with pytest.raises(dns.exception.Timeout):
        query(ip, "яндекс.рф".encode("idna").decode(), timeout=0.5)


def test_upstream_forwarding(start_service, block):
    auth_ip, fwd_ip = block + "1", block + "2"
    start_service("dns", dns_config(auth_ip))
    start_service("dns", {
        "listen": [fwd_ip], "port": PORT, "upstream": f"{auth_ip}:{PORT}",
        "records": {"local.isp": [{"type": "A", "value": "198.18.5.5"}]},
        "overrides": {"alias.example.com": {"action": "remove"}},
    })
    relayed = query(fwd_ip, "alias2.example.com")
    assert addresses(relayed) == ["93.184.216.34"]
    assert len(relayed.answer) == 3  # the upstream's whole chain is relayed
    assert addresses(query(fwd_ip, "local.isp")) == ["198.18.5.5"]
    assert query(fwd_ip, "www.example.xyz").rcode() == dns.rcode.NXDOMAIN
    # removed at the ISP although the upstream knows it
    assert addresses(query(auth_ip, "alias.example.com")) == ["93.184.216.34"]
    assert query(fwd_ip, "alias.example.com").rcode() == dns.rcode.NXDOMAIN


def test_upstream_unreachable_gives_servfail(start_service, block):
    ip = block + "1"
    start_service("dns", {"listen": [ip], "port": PORT, "upstream": f"{block}9:{PORT}",
                          "upstream_timeout": 0.3})
    assert query(ip, "www.example.com", timeout=2).rcode() == dns.rcode.SERVFAIL


def test_sighup_reload_changes_answer_and_keeps_running(start_service, block):
    ip = block + "1"
    svc = start_service("dns", dns_config(ip))
    assert addresses(query(ip, "www.example.com")) == ["93.184.216.34"]
    svc.rewrite(dns_config(ip, overrides={"www.example.com": {"action": "answer",
                                                               "answer": ["198.51.100.7"]}}))
    deadline = time.monotonic() + 3
    got: list[str] = []
    while time.monotonic() < deadline:
        got = addresses(query(ip, "www.example.com"))
        if got == ["198.51.100.7"]:
            break
        time.sleep(0.05)
    assert got == ["198.51.100.7"]
    assert svc.proc.poll() is None
    # a broken config on reload keeps the old one running
    svc.config_path.write_text("{not json")
    svc.proc.send_signal(signal.SIGHUP)
    time.sleep(0.2)
    assert svc.proc.poll() is None
    assert addresses(query(ip, "www.example.com")) == ["198.51.100.7"]


def test_bad_config_names_field(tmp_path, launch_service):
    svc, first = launch_service("dns", {"listen": ["not-an-ip"]}, tmp_path / "bad.json")
    assert first == ""
    assert svc.proc.wait(timeout=10) == 2
    assert svc.proc.stderr is not None
    err = svc.proc.stderr.read()
    svc.stop()
    assert "listen" in err


def _curl_doh(args: list[str], out: Path) -> dns.message.Message:
    subprocess.run(["curl", "-sS", "--fail", "-o", str(out), *args], check=True, timeout=10)
    return dns.message.from_wire(out.read_bytes())


def test_doh_get_and_post(start_service, block, cert_dir, tmp_path):
    ip = block + "1"
    doh_port = 18443
    start_service("dns", dns_config(ip, doh={
        "listen": [ip], "port": doh_port, "cert_dir": str(cert_dir), "names": ["dns.google"],
    }))
    ca = ensure_ca(cert_dir)
    base = ["--resolve", f"dns.google:{doh_port}:{ip}", "--cacert", str(ca)]
    url = f"https://dns.google:{doh_port}/dns-query"
    wire = dns.message.make_query("www.example.com", "A").to_wire()
    encoded = base64.urlsafe_b64encode(wire).decode().rstrip("=")
    got = _curl_doh([*base, f"{url}?dns={encoded}"], tmp_path / "get.bin")
    assert addresses(got) == ["93.184.216.34"]
    (tmp_path / "q.bin").write_bytes(dns.message.make_query("alias.example.com", "A").to_wire())
    posted = _curl_doh(
        [*base, "-H", "Content-Type: application/dns-message",
         "--data-binary", f"@{tmp_path / 'q.bin'}", url],
        tmp_path / "post.bin",
    )
    assert addresses(posted) == ["93.184.216.34"]
    assert posted.answer[0].rdtype == dns.rdatatype.CNAME
