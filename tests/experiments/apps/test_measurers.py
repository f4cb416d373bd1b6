"""The four messaging experiments against real loopback servers: OONI's verdict keys under
working, refused, reset and untrusted endpoints, the raw-event lists, the envelope, options."""

from __future__ import annotations

from pathlib import Path

import pytest

from censorscope.experiments.interface import InputKind
from censorscope.experiments.registry import get_experiment
from tests.experiments.apps.appkit import (
    TCPServer,
    closed_port,
    http_handler,
    https_server,
    make_pki,
    reset_after_request,
    response,
    run_app,
    table,
)

RAW = ("network_events", "queries", "requests", "tcp_connect", "tls_handshakes")


@pytest.mark.parametrize(("name", "version"), [
    ("telegram", "0.3.1"), ("whatsapp", "0.11.0"), ("signal", "0.2.5"),
    ("facebook_messenger", "0.2.1")])
def test_registered_with_oonis_names(name: str, version: str) -> None:
    exp = get_experiment(name)
    assert (exp.test_name, exp.test_version, exp.inputs) == (name, version, InputKind.NONE)
    assert "parallelism" in exp.options


def test_telegram_posts_and_web(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    seen: list[bytes] = []
    refused = closed_port()
    with TCPServer(http_handler(response(404), seen)) as dc, https_server(pki) as web:
        m = run_app("telegram", {"data_centres": "127.0.0.1", "ports": f"{dc.port},{refused}",
                                 "web_url": f"https://localhost:{web.port}/"},
                    ca_file=pki.ca_file)
    assert (m["test_name"], m["test_version"], m["input"]) == ("telegram", "0.3.1", None)
    tk = m["test_keys"]
    assert {k: tk[k] for k in ("telegram_http_blocking", "telegram_tcp_blocking",
                               "telegram_web_status", "telegram_web_failure")} == {
        "telegram_http_blocking": False, "telegram_tcp_blocking": False,
        "telegram_web_status": "ok", "telegram_web_failure": None}
    assert all(isinstance(tk[k], list) for k in RAW)
    [post] = seen
    assert post.startswith(b"POST / HTTP/1.1\r\n") and b"Content-Length: 0\r\n" in post
    assert f"Host: 127.0.0.1:{dc.port}".encode() in post
    # the POST the refused connect kept off the wire is recorded, as urlgetter does
    unsent = [r for r in tk["requests"] if r["request"]["url"].endswith(f":{refused}/")]
    assert [(r["failure"], r["request"]["method"]) for r in unsent] == [
        ("connection_refused", "POST")]
    assert {(c["port"], c["status"]["success"]) for c in tk["tcp_connect"]} >= {
        (dc.port, True), (refused, False)}


def test_telegram_refused_data_centres_and_web_error(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    with https_server(pki, status=404) as web:
        m = run_app("telegram", {"data_centres": "127.0.0.1", "ports": str(closed_port()),
                                 "web_url": f"https://localhost:{web.port}/"},
                    ca_file=pki.ca_file)
    tk = m["test_keys"]
    assert (tk["telegram_http_blocking"], tk["telegram_tcp_blocking"]) == (True, True)
    # FailOnHTTPError: a 404 from the web client is a failure of the target
    assert (tk["telegram_web_status"], tk["telegram_web_failure"]) == (
        "blocked", "http_request_failed")


def test_telegram_reset_after_connect_is_http_blocking_only() -> None:
    with reset_after_request() as dc:
        m = run_app("telegram", {"data_centres": "127.0.0.1", "ports": str(dc.port),
                                 "web_url": f"https://localhost:{closed_port()}/"})
    tk = m["test_keys"]
    assert (tk["telegram_http_blocking"], tk["telegram_tcp_blocking"]) == (True, False)
    assert (tk["telegram_web_status"], tk["telegram_web_failure"]) == (
        "blocked", "connection_refused")


def test_whatsapp_open_any_status_is_an_answer(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    with TCPServer(http_handler(response())) as ep, https_server(pki) as reg, \
            https_server(pki, status=400) as web:
        m = run_app("whatsapp", {
            "endpoints": "localhost", "endpoint_ports": f"{ep.port},{closed_port()}",
            "registration_url": f"https://localhost:{reg.port}/v2/register",
            "web_url": f"https://localhost:{web.port}/"}, ca_file=pki.ca_file)
    tk = m["test_keys"]
    assert {k: v for k, v in tk.items() if k not in RAW} == {
        "agent": "redirect", "failed_operation": None, "failure": None,
        "registration_server_failure": None, "registration_server_status": "ok",
        "whatsapp_endpoints_blocked": [], "whatsapp_endpoints_dns_inconsistent": [],
        "whatsapp_endpoints_status": "ok",
        "whatsapp_web_failure": None, "whatsapp_web_status": "ok"}


def test_whatsapp_blocked_everywhere(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    with https_server(pki, leaf="unknown_ca") as web:
        m = run_app("whatsapp", {
            "endpoints": "localhost", "endpoint_ports": f"{closed_port()},{closed_port()}",
            "registration_url": f"https://localhost:{closed_port()}/v2/register",
            "web_url": f"https://localhost:{web.port}/"}, ca_file=pki.ca_file)
    tk = m["test_keys"]
    assert tk["whatsapp_endpoints_status"] == "blocked"
    assert tk["whatsapp_endpoints_blocked"] == ["localhost"]  # failed on both ports
    assert (tk["registration_server_status"], tk["registration_server_failure"]) == (
        "blocked", "connection_refused")
    assert (tk["whatsapp_web_status"], tk["whatsapp_web_failure"]) == (
        "blocked", "ssl_unknown_authority")
    [hs] = tk["tls_handshakes"]
    assert hs["failure"] == "ssl_unknown_authority" and hs["peer_certificates"]


def test_signal_trusts_its_own_ca_and_ignores_uptime(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    with https_server(pki, status=404) as backend:
        url = f"https://localhost:{backend.port}/"
        # no ca_file for the probe: the system's roots, plus the "Signal CA" of the option
        trusted = run_app("signal", {"urls": url, "uptime_host": "uptime.invalid",
                                     "ca_file": pki.ca_file})
        bundled = run_app("signal", {"urls": url, "uptime_host": "localhost"})
    tk = trusted["test_keys"]
    assert (tk["signal_backend_status"], tk["signal_backend_failure"]) == ("ok", None)
    assert any(q["hostname"] == "uptime.invalid" and q["failure"] for q in tk["queries"])
    tk = bundled["test_keys"]  # the test PKI is not signed by Signal's real root
    assert (tk["signal_backend_status"], tk["signal_backend_failure"]) == (
        "blocked", "ssl_unknown_authority")


FB_SERVICES = ("stun", "b_api", "b_graph", "edge", "external_cdn", "scontent_cdn", "star")


def _fb(port: int, asn: int) -> dict[str, object]:
    options = {svc: "localhost" for svc in FB_SERVICES} | {"port": str(port)}
    return run_app("facebook_messenger", options, asn_table=table(asn))["test_keys"]


def test_facebook_messenger_consistent_reachable_blocked() -> None:
    with TCPServer(http_handler(response())) as server:
        ok = _fb(server.port, 32934)
        lie = _fb(server.port, 64500)
    refused = _fb(closed_port(), 32934)
    for svc in FB_SERVICES:
        assert ok[f"facebook_{svc}_dns_consistent"] is True
        assert ok[f"facebook_{svc}_reachable"] is (None if svc == "stun" else True)
        assert lie[f"facebook_{svc}_dns_consistent"] is False
        assert lie[f"facebook_{svc}_reachable"] is None
        assert refused[f"facebook_{svc}_reachable"] is (None if svc == "stun" else False)
    assert (ok["facebook_dns_blocking"], ok["facebook_tcp_blocking"]) == (False, False)
    assert (lie["facebook_dns_blocking"], lie["facebook_tcp_blocking"]) == (True, False)
    assert (refused["facebook_dns_blocking"], refused["facebook_tcp_blocking"]) == (False, True)
    answers = [a for q in ok["queries"] for a in q["answers"] or [] if a.get("ipv4")]
    assert answers and {a["asn"] for a in answers} == {32934}


@pytest.mark.parametrize(("name", "key", "value"), [
    ("telegram", "data_centres", "149.154.175.50,not-an-ip"),
    ("telegram", "ports", "80,99999"),
    ("whatsapp", "endpoints", "e1.whatsapp.net,bad_name!"),
    ("whatsapp", "web_url", "ftp://web.whatsapp.com/"),
    ("signal", "ca_file", "/nonexistent/signal.pem"),
    ("facebook_messenger", "b_api", "-bad-.facebook.com"),
    ("facebook_messenger", "parallelism", "0"),
])
def test_bad_option_names_its_key(name: str, key: str, value: str) -> None:
    with pytest.raises(ValueError, match=key):
        run_app(name, {key: value})


def test_summary_rows(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    refused = closed_port()
    with TCPServer(http_handler(response())) as dc, https_server(pki) as web:
        url = f"https://localhost:{web.port}/"
        ok = run_app("telegram", {"data_centres": "127.0.0.1", "ports": str(dc.port),
                                  "web_url": url}, ca_file=pki.ca_file)
        blocked = run_app("telegram", {"data_centres": "127.0.0.1", "ports": str(refused),
                                       "web_url": url}, ca_file=pki.ca_file)
        signal = run_app("signal", {"urls": url, "uptime_host": "localhost"})
    summary = get_experiment("telegram").summary
    assert summary is not None
    assert summary(ok) == ("ok", "-")
    assert summary(blocked) == ("anomaly: tcp, http",
                                f"connect 127.0.0.1:{refused}: connection_refused")
    signal_summary = get_experiment("signal").summary
    assert signal_summary is not None
    assert signal_summary(signal) == (
        "anomaly: backend",
        f"tls_handshake 127.0.0.1:{web.port} SNI localhost: ssl_unknown_authority")
