"""The summary table: verdict hints and failing steps from real-shaped test keys."""

from __future__ import annotations

from censorscope.probe.summary import SummaryRow, format_table, summarize


def _m(url: str, **tk: object) -> dict[str, object]:
    return {"input": url, "test_keys": tk}


def test_hints_and_steps() -> None:
    ok = summarize(_m("https://ok.org/", blocking=False, accessible=True))
    assert (ok.verdict, ok.step) == ("ok", "-")
    tls = summarize(_m(
        "https://t.org/", blocking="http-failure", accessible=False,
        http_experiment_failure="generic_timeout_error",
        tcp_connect=[{"ip": "1.2.3.4", "port": 443, "status": {"failure": None},
                      "tags": ["fetch_body=true"]}],
        tls_handshakes=[{"address": "1.2.3.4:443", "server_name": "t.org",
                         "failure": "generic_timeout_error", "tags": ["fetch_body=true"]}],
    ))
    assert tls.verdict == "anomaly: http-failure"
    assert tls.step == "tls 1.2.3.4:443 (sni t.org): generic_timeout_error"
    dns = summarize(_m("http://d.org/", blocking="dns", accessible=False,
                       dns_experiment_failure="dns_nxdomain_error"))
    assert dns.step == "dns: dns_nxdomain_error"
    tcp = summarize(_m("http://c.org/", blocking="tcp_ip", tcp_connect=[
        {"ip": "5.6.7.8", "port": 80, "status": {"failure": "connection_refused"}}]))
    assert tcp.step == "tcp 5.6.7.8:80: connection_refused"
    nocontrol = summarize(_m("http://n.org/", blocking=None, accessible=None,
                             control_failure="connection_refused"))
    assert nocontrol.verdict == "unknown (no control)"
    assert "control: connection_refused" in nocontrol.step


def test_table_is_aligned_and_clipped() -> None:
    rows = [SummaryRow("https://example.org/" + "x" * 200, "ok", "-"),
            SummaryRow("http://b.org/", "anomaly: dns", "dns: dns_nxdomain_error")]
    text = format_table(rows, width=100)
    lines = text.splitlines()
    assert lines[0].startswith("URL") and "VERDICT" in lines[0]
    assert all(len(line) <= 100 for line in lines)
    assert "…" in lines[2]
    assert lines[3].index("anomaly") == lines[0].index("VERDICT")
