"""End to end: the control process measures real loopback sites (ok, redirects, bad
certificates, closed ports, DNS failures) and answers in OONI's exact shape."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from censorscope.control.client import call_control
from censorscope.control.schema import response_problems

from .conftest import TEST_ASN, Loopback
from .sites import OK_BODY, OK_TITLE, ControlProcess

PROBE_HEADERS = {
    "Accept": ["text/html"],
    "Accept-Language": ["en-US,en;q=0.9"],
    "User-Agent": ["probe-ua/1.0"],
    "X-Not-Honoured": ["nope"],
}
TOP_KEYS = ["tcp_connect", "quic_handshake", "http_request", "http3_request", "dns", "ip_info"]


def post(control: ControlProcess, request: dict[str, Any]) -> dict[str, Any]:
    response = asyncio.run(
        call_control(control.url, request, timeout=30, ca_file=None, user_agent="test/1")
    )
    assert response_problems(response) == [], response
    return response


def req(url: str, tcp_connect: list[str] | None = None) -> dict[str, Any]:
    return {
        "http_request": url,
        "http_request_headers": PROBE_HEADERS,
        "tcp_connect": tcp_connect or [],
        "x_quic_enabled": False,
    }


def test_ok_http_page(loopback: Loopback, lab_control: ControlProcess) -> None:
    site = loopback.http
    before = len(site.requests)
    ep = f"127.0.0.1:{site.port}"
    response = post(lab_control, req(site.url("ok.test"), [ep]))
    assert list(response) == TOP_KEYS  # OONI's key order; no tls_handshake for plain http
    assert response["tcp_connect"] == {ep: {"status": True, "failure": None}}
    assert response["quic_handshake"] == {}
    assert response["http3_request"] is None
    assert response["dns"] == {"failure": None, "addrs": ["127.0.0.1"]}
    assert response["ip_info"] == {"127.0.0.1": {"asn": TEST_ASN, "flags": 1 | 2}}
    assert response["http_request"] == {
        "body_length": len(OK_BODY),
        "discovered_h3_endpoint": "ok.test:443",
        "failure": None,
        "title": OK_TITLE,
        "headers": {
            "Alt-Svc": 'h3=":443"; ma=86400',
            "Connection": "close",
            "Content-Length": str(len(OK_BODY)),
            "Content-Type": "text/html; charset=utf-8",
            "X-Dup": "first",
        },
        "status_code": 200,
    }
    fetched = site.requests[before:]
    assert [r.path for r in fetched] == ["/"]
    assert fetched[0].host == f"ok.test:{site.port}"
    assert fetched[0].headers["user-agent"] == "probe-ua/1.0"
    assert fetched[0].headers["accept-language"] == "en-US,en;q=0.9"
    assert "x-not-honoured" not in fetched[0].headers


def test_ok_https_page_validates_tls(loopback: Loopback, lab_control: ControlProcess) -> None:
    site = loopback.https
    ep = f"127.0.0.1:{site.port}"
    response = post(lab_control, req(site.url("ok.test"), [ep]))
    assert response["tls_handshake"] == {
        ep: {"server_name": "ok.test", "status": True, "failure": None}
    }
    assert response["ip_info"]["127.0.0.1"]["flags"] == 1 | 2 | 8
    assert response["http_request"]["status_code"] == 200
    assert response["http_request"]["title"] == OK_TITLE


def test_redirect_chain_is_followed(loopback: Loopback, lab_control: ControlProcess) -> None:
    site = loopback.http
    before = len(site.requests)
    response = post(lab_control, req(site.url("ok.test", "/r/3")))
    assert [r.path for r in site.requests[before:]] == ["/r/3", "/r/2", "/r/1", "/r/0", "/"]
    http = response["http_request"]
    assert (http["status_code"], http["failure"], http["title"]) == (200, None, OK_TITLE)
    assert http["discovered_h3_endpoint"] == ""  # the first response had no Alt-Svc
    assert response["ip_info"] == {"127.0.0.1": {"asn": TEST_ASN, "flags": 2}}


def test_redirect_from_http_to_https(loopback: Loopback, lab_control: ControlProcess) -> None:
    target = loopback.https.url("ok.test")
    before = len(loopback.https.requests)
    response = post(lab_control, req(loopback.http.url("ok.test", f"/go?to={target}")))
    assert response["http_request"]["status_code"] == 200
    assert len(loopback.https.requests) == before + 1


def test_more_than_ten_redirects_fail(loopback: Loopback, lab_control: ControlProcess) -> None:
    site = loopback.http
    before = len(site.requests)
    response = post(lab_control, req(site.url("ok.test", "/loop/0")))
    assert response["http_request"] == {
        "body_length": -1, "discovered_h3_endpoint": "", "failure": "unknown_error",
        "title": "", "headers": {}, "status_code": -1,
    }
    assert len(site.requests) - before == 11  # the first request + 10 redirects


def test_expired_certificate(loopback: Loopback, lab_control: ControlProcess) -> None:
    site = loopback.expired
    ep = f"127.0.0.1:{site.port}"
    response = post(lab_control, req(site.url("expired.test"), [ep]))
    assert response["tcp_connect"][ep] == {"status": True, "failure": None}
    assert response["tls_handshake"][ep] == {
        "server_name": "expired.test", "status": False, "failure": "ssl_invalid_certificate"
    }
    assert response["http_request"]["failure"] == "unknown_error"
    assert response["http_request"]["status_code"] == -1
    assert response["http_request"]["body_length"] == -1
    assert response["ip_info"]["127.0.0.1"]["flags"] == 1 | 2  # no "valid TLS" bit


def test_wrong_host_certificate(loopback: Loopback, lab_control: ControlProcess) -> None:
    site = loopback.wrong_host
    ep = f"127.0.0.1:{site.port}"
    response = post(lab_control, req(site.url("wrong.test"), [ep]))
    assert response["tls_handshake"][ep]["failure"] == "ssl_invalid_hostname"
    assert response["tls_handshake"][ep]["status"] is False
    assert response["http_request"]["failure"] == "unknown_error"


def test_closed_port(loopback: Loopback, lab_control: ControlProcess) -> None:
    port = loopback.closed_port
    ep = f"127.0.0.1:{port}"
    response = post(lab_control, req(f"http://ok.test:{port}/", [ep]))
    assert response["tcp_connect"] == {ep: {"status": False, "failure": "connection_refused_error"}}
    assert "tls_handshake" not in response
    assert response["http_request"]["failure"] == "connection_refused_error"
    assert response["http_request"]["status_code"] == -1


def test_nxdomain(loopback: Loopback, lab_control: ControlProcess) -> None:
    response = post(lab_control, req(loopback.http.url("nx.test")))
    assert response["dns"] == {"failure": "dns_name_error", "addrs": []}
    assert response["tcp_connect"] == {}
    assert response["http_request"]["failure"] == "dns_lookup_error"
    assert "ip_info" not in response  # omitted when empty, like OONI


def test_servfail_and_no_answer(loopback: Loopback, lab_control: ControlProcess) -> None:
    servfail = post(lab_control, req(loopback.http.url("servfail.test")))
    assert servfail["dns"] == {"failure": "dns_server_failure", "addrs": []}
    assert servfail["http_request"]["failure"] == "dns_lookup_error"
    empty = post(lab_control, req(loopback.http.url("empty.test")))
    assert empty["dns"] == {"failure": None, "addrs": []}  # dns_no_answer maps to null
    assert empty["http_request"]["failure"] == "dns_lookup_error"


def test_ip_literal_url_skips_dns(loopback: Loopback, lab_control: ControlProcess) -> None:
    site = loopback.http
    ep = f"127.0.0.1:{site.port}"
    queries = len(loopback.zone.queries)
    response = post(lab_control, req(site.url("127.0.0.1"), [ep]))
    assert response["dns"] == {"failure": None, "addrs": []}
    assert len(loopback.zone.queries) == queries
    assert response["tcp_connect"] == {ep: {"status": True, "failure": None}}
    assert response["ip_info"] == {"127.0.0.1": {"asn": TEST_ASN, "flags": 1}}
    assert response["http_request"]["status_code"] == 200


def test_probe_ips_are_measured_on_url_ports(loopback: Loopback, lab_control: ControlProcess
                                             ) -> None:
    # the probe saw a different IP (127.0.0.3); the control measures it on the URL's port
    site = loopback.http
    response = post(lab_control, req(site.url("ok.test"), [f"127.0.0.3:{site.port + 1}"]))
    assert set(response["tcp_connect"]) == {f"127.0.0.1:{site.port}", f"127.0.0.3:{site.port}"}
    assert response["ip_info"]["127.0.0.3"]["flags"] == 1
    assert response["ip_info"]["127.0.0.1"]["flags"] == 2


def _access_lines(control: ControlProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in control.log().splitlines() if '"duration_ms"' in line]


def test_access_log_has_one_line_per_request(lab_control: ControlProcess,
                                             loopback: Loopback) -> None:
    before = len(_access_lines(lab_control))
    post(lab_control, req(loopback.http.url("ok.test", "/?logged")))
    deadline = time.monotonic() + 5
    while len(_access_lines(lab_control)) == before and time.monotonic() < deadline:
        time.sleep(0.02)
    lines = _access_lines(lab_control)
    assert len(lines) == before + 1, lab_control.log()
    last = lines[-1]
    assert last["status"] == 200 and last["method"] == "POST" and last["path"] == "/"
    assert last["duration_ms"] > 0 and last["ua"] == "test/1"
