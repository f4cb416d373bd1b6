"""TCP/IP and HTTP censor kinds, proven with curl in the client namespace."""

from __future__ import annotations

import pytest

from censorscope.lab.schema import Policy

pytestmark = pytest.mark.lab

SRV = "203.0.113.10"
SRV2 = "203.0.113.11"
SRV3 = "203.0.113.12"

CURL_COULDNT_CONNECT = 7
CURL_TIMEOUT = 28
CURL_EMPTY_REPLY = 52
CURL_RECV_ERROR = 56


def pol(kind: str, **kw: object) -> Policy:
    return Policy(kind=kind, isp="isp1", **kw)  # type: ignore[arg-type]


def test_tcp_drop_times_out_only_that_endpoint(topo, censor):
    censor(pol("tcp_drop", ips=[SRV], ports=[80]))
    r = topo.curl(f"http://{SRV}/")
    assert r.returncode == CURL_TIMEOUT, r.stderr
    assert topo.curl(f"https://{SRV}/").returncode == 0  # other port on the same IP
    assert topo.curl(f"http://{SRV2}/").returncode == 0  # other IP


def test_tcp_refuse_answers_syn_with_rst(topo, censor):
    censor(pol("tcp_refuse", ips=[SRV], ports=[80]))
    r = topo.curl(f"http://{SRV}/", "-v")
    assert r.returncode == CURL_COULDNT_CONNECT, r.stderr
    assert "connection refused" in r.stderr.lower()
    assert topo.curl(f"http://{SRV2}/").returncode == 0


def dig_ok(topo, server: str, ns: str | None = None) -> bool:
    r = topo.exec(ns or topo.cli, "dig", f"@{server}", "a.example", "+short", "+tries=1",
                  "+time=1")
    return r.returncode == 0 and r.stdout.strip() == SRV


def test_ip_blackhole_drops_every_protocol(topo, censor):
    assert dig_ok(topo, SRV2)
    censor(pol("ip_blackhole", ips=[SRV2]))
    assert topo.curl(f"http://{SRV2}/").returncode == CURL_TIMEOUT
    dig = topo.client("dig", f"@{SRV2}", "a.example", "+tries=1", "+time=1")
    assert dig.returncode == 9, dig.stdout  # no reply from the server
    assert topo.curl(f"http://{SRV}/").returncode == 0
    assert dig_ok(topo, SRV)


def test_shutdown_kills_tcp_and_dns(topo, censor):
    assert dig_ok(topo, SRV) and dig_ok(topo, SRV, ns=topo.res)
    censor(pol("shutdown"))
    assert topo.curl(f"http://{SRV}/").returncode == CURL_TIMEOUT
    dig = topo.client("dig", f"@{SRV}", "a.example", "+tries=1", "+time=1")
    assert dig.returncode == 9
    # the ISP resolver's upstream link is cut too
    assert not dig_ok(topo, SRV, ns=topo.res)


def test_http_reset_by_host_header(topo, censor):
    censor(pol("http_reset", hosts=["site.example"]))
    r = topo.curl("http://site.example/", "--resolve", f"site.example:80:{SRV}")
    assert r.returncode == CURL_RECV_ERROR, r.stderr
    assert "reset" in r.stderr.lower()
    # exact Host line: a longer name containing it is not blocked
    ok = topo.curl("http://www.site.example/", "--resolve", f"www.site.example:80:{SRV}")
    assert ok.returncode == 0 and "real content" in ok.stdout


def test_http_drop_by_host_header_times_out(topo, censor):
    censor(pol("http_drop", hosts=["site.example"]))
    r = topo.curl("http://site.example/", "--resolve", f"site.example:80:{SRV}")
    assert r.returncode == CURL_TIMEOUT, r.stderr
    assert topo.curl(f"http://{SRV}/").returncode == 0  # Host: 203.0.113.10


def test_http_eof_gives_empty_reply(topo, censor):
    censor(pol("http_eof", hosts=["site.example"]))
    r = topo.curl("http://site.example/", "--resolve", f"site.example:80:{SRV}")
    assert r.returncode == CURL_EMPTY_REPLY, r.stderr
    assert topo.curl(f"http://{SRV}/").returncode == 0


def test_http_blockpage_injected(topo, censor):
    censor(pol("http_blockpage", hosts=["site.example"]))
    r = topo.curl("http://site.example/", "--resolve", f"site.example:80:{SRV}", "-i")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("HTTP/1.0 200 OK")
    assert "Access Denied" in r.stdout
    assert "real content" not in r.stdout
    ok = topo.curl(f"http://{SRV}/")
    assert "real content" in ok.stdout and "Access Denied" not in ok.stdout


def test_ports_override_default(topo, censor):
    censor(pol("http_reset", hosts=["site.example"], ports=[8080]))
    r = topo.curl("http://site.example/", "--resolve", f"site.example:80:{SRV}")
    assert r.returncode == 0, r.stderr  # port 80 is not censored any more
