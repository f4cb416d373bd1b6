"""The ``service`` measurer against real loopback servers (no root needed), and the status
aggregation.

Endpoints of a user's file on ``localhost`` (the system resolver answers from /etc/hosts):
an HTTPS site answering 404 (reachable: the real server answered), a TLS server that reads the
ClientHello and never answers (a TLS timeout, as an SNI drop looks), a closed port (refused),
a name that does not exist, and a cleartext HTTP site. Every step is in OONI's keys with the
endpoint's transaction id; the per-endpoint results name the failing step and failure.
"""

from __future__ import annotations

from pathlib import Path

from censorscope.experiments.service.check import EndpointResult
from censorscope.experiments.service.endpoints import Endpoint
from censorscope.experiments.service.summary import service_status, summarise, summary_row
from tests.experiments.service.servicekit import NOT_FOUND, OK, answer, closed_port, measure_keys
from tests.net.loopback import (
    TCPServer,
    http_handler,
    make_pki,
    server_context,
    silent_after_first_read,
    tls_handler,
)


def test_each_endpoint_fails_at_its_own_step(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    pki = make_pki(tmp_path / "pki")
    site_handler = tls_handler(server_context(pki.good, ["http/1.1"]), answer(NOT_FOUND))
    with TCPServer(site_handler) as site, TCPServer(silent_after_first_read) as dropper, \
            TCPServer(http_handler(OK)) as plain:
        refused = closed_port()
        tk = measure_keys(tmp_path, [
            f"tiktok,localhost,{site.port},https,/robots.txt",
            f"tiktok,localhost,{dropper.port},https,/",
            f"tiktok,localhost,{refused},tls,",
            "tiktok,no-such-name.invalid,443,https,/",
            f"tiktok,localhost,{plain.port},http,/",
            f"tiktok,localhost,{site.port},tcp,",
        ], ca_file=pki.ca_file)
    eps = tk["endpoints"]
    assert [(e["status"], e["failed_step"], e["failure"]) for e in eps] == [
        ("ok", None, None),
        ("failed", "tls", "generic_timeout_error"),
        ("failed", "tcp", "connection_refused"),
        ("failed", "dns", "dns_nxdomain_error"),
        ("ok", None, None),
        ("ok", None, None),
    ]
    assert eps[0]["http_status"] == 404 and eps[4]["http_status"] == 200
    assert eps[0]["url"] == f"https://localhost:{site.port}/robots.txt"
    assert eps[0]["connect_rtt"] > 0 and eps[0]["tls_rtt"] > 0 and eps[0]["ttfb"] > 0
    assert eps[1]["connect_rtt"] > 0 and eps[1]["tls_rtt"] is None
    assert tk["service"] == "tiktok" and tk["endpoints_source"].endswith("endpoints.csv")
    assert tk["status"] == "restricted"
    assert (tk["endpoints_total"], tk["endpoints_failing"], tk["failing_share"]) == (6, 3, 0.5)
    assert tk["failing_steps"] == {"dns": 1, "tcp": 1, "tls": 1}
    assert tk["median_connect_rtt"] > 0 and tk["median_ttfb"] > 0

    # OONI's keys: every step, each under its endpoint's transaction id
    by_tid = {e["transaction_id"]: e for e in eps}
    assert set(by_tid) == {1, 2, 3, 4, 5, 6}
    [hs_drop] = [h for h in tk["tls_handshakes"] if h["transaction_id"] == 2]
    assert hs_drop["failure"] == "generic_timeout_error" and hs_drop["server_name"] == "localhost"
    [hs_ok] = [h for h in tk["tls_handshakes"] if h["transaction_id"] == 1]
    assert hs_ok["failure"] is None and hs_ok["peer_certificates"] and not hs_ok["no_tls_verify"]
    [req] = [r for r in tk["requests"] if r["transaction_id"] == 1]
    assert req["response"]["code"] == 404 and req["request"]["url"].endswith("/robots.txt")
    assert [c["status"]["failure"] for c in tk["tcp_connect"] if c["transaction_id"] == 3] == [
        "connection_refused"]
    [q] = [q for q in tk["queries"] if q["transaction_id"] == 4]
    assert q["failure"] == "dns_nxdomain_error" and q["hostname"] == "no-such-name.invalid"
    ops = [e["operation"] for e in tk["network_events"] if e["transaction_id"] == 2]
    assert ops[:4] == ["resolve_start", "resolve_done", "connect", "tls_handshake_start"]
    assert "write" in ops and ops[-1] == "tls_handshake_done"
    assert [e["t"] for e in tk["network_events"]] == sorted(e["t"] for e in tk["network_events"])


def test_certificate_validation_failure_is_a_tls_failure(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    pki = make_pki(tmp_path / "pki")
    with TCPServer(tls_handler(server_context(pki.wrong_host), answer(OK))) as wrong:
        tk = measure_keys(tmp_path, [f"tiktok,localhost,{wrong.port},https,/"], ca_file=pki.ca_file)
    [ep] = tk["endpoints"]
    assert (ep["failed_step"], ep["failure"]) == ("tls", "ssl_invalid_hostname")
    assert tk["status"] == "unavailable" and tk["failing_share"] == 1.0


def test_endpoints_run_concurrently_within_the_bound(tmp_path: Path) -> None:
    with TCPServer(silent_after_first_read) as dropper:
        rows = [f"tiktok,localhost,{dropper.port},https,/{i}" for i in range(6)]
        tk = measure_keys(tmp_path, rows, concurrency=3)
    assert tk["status"] == "unavailable"
    starts = sorted(h["t0"] for h in tk["tls_handshakes"])
    # 6 handshakes timing out after 0.6 s, 3 at a time: two waves
    assert starts[2] - starts[0] < 0.3 and starts[3] - starts[0] >= 0.55


def _result(ok: bool, connect: float | None = None) -> EndpointResult:
    ep = Endpoint("x", "a.example", 443, "https")
    r = EndpointResult(ep, 1, ["192.0.2.1"], connect_rtt=connect)
    if not ok:
        r.failed_step, r.failure = "tls", "generic_timeout_error"
    return r


def test_status_aggregation() -> None:
    assert service_status([True, True]) == "available"
    assert service_status([True, False]) == "restricted"
    assert service_status([False, False]) == "unavailable"
    assert service_status([]) == "unavailable"
    s = summarise([_result(True, 0.01), _result(False, 0.03), _result(False), _result(True, 0.02)])
    assert s == {"status": "restricted", "endpoints_total": 4, "endpoints_failing": 2,
                 "failing_share": 0.5, "failing_steps": {"tls": 2}, "median_connect_rtt": 0.02,
                 "median_tls_rtt": None, "median_ttfb": None}


def test_summary_row(tmp_path: Path) -> None:
    with TCPServer(silent_after_first_read) as dropper:
        tk = measure_keys(tmp_path, [f"tiktok,localhost,{closed_port()},tcp,",
                                     f"tiktok,localhost,{dropper.port},tls,"])
    assert summary_row({"test_keys": tk}) == (
        "unavailable 2/2", f"tcp localhost:{tk['endpoints'][0]['port']}: connection_refused "
                           "(+1 more)")
    ok = {**tk, "status": "available", "endpoints": []}
    assert summary_row({"test_keys": ok}) == ("available", "-")
