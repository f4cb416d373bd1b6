"""``tls_sni`` end to end in the lab: the probe as a user runs it, then the pipeline.

Scenario ``tls-sni``: the ISP ``acme`` reaches ``www.example.com`` (served at 198.19.1.10, with
``example.org``) and ``example.org`` alone at 198.19.1.11. In each phase the probe runs
``censorscope probe run --experiment tls_sni -i https://www.example.com/
--option tls_sni.ips=198.19.1.11`` inside acme's probe namespace (the system resolver is the
ISP's). 198.19.1.11 does not serve the target name: its handshake gets a certificate for
another name (inconclusive), except when the censor drops or resets it first.

Expected per phase, for 198.19.1.10: ``open`` → ok; ``sni-drop`` → sni_triggered (timeout
after the ClientHello); ``sni-reset`` → sni_triggered (reset); ``blackhole`` → ip_blocked
(every connect times out). ``censorscope analyze`` must agree (blocked/tls with
``tls.timeout.sni`` / ``tls.reset.sni``, blocked/tcp ``tcp.timeout``, ok), and every evidence
statement of the stored verdicts must check true (``censorscope verify``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from censorscope.cli.main import cli
from tests.e2e.labkit import lab_running, probe_run, requires_root

TARGET_IP = "198.19.1.10"
OTHER_IP = "198.19.1.11"
PHASES = ("open", "sni-drop", "sni-reset", "blackhole")
# phase -> (verdict at TARGET_IP, verdict at OTHER_IP, the target handshake's failure there)
EXPECTED = {
    "open": ("ok", "inconclusive", None),
    "sni-drop": ("sni_triggered", "sni_triggered", "generic_timeout_error"),
    "sni-reset": ("sni_triggered", "sni_triggered", "connection_reset"),
    "blackhole": ("ip_blocked", "inconclusive", "generic_timeout_error"),
}
# phase -> (outcome, layer, mechanism, rule) of `censorscope analyze`
ANALYSIS = {
    "open": ("ok", None, None, "tls_sni.ok"),
    "sni-drop": ("blocked", "tls", "tls.timeout.sni", "tls_sni.sni_timeout"),
    "sni-reset": ("blocked", "tls", "tls.reset.sni", "tls_sni.sni_reset"),
    "blackhole": ("blocked", "tcp", "tcp.timeout", "tls_sni.ip_blocked_tcp"),
}


def by_ip(m: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["ip"]: r for r in m["test_keys"]["results"]}


def events_of(m: dict[str, Any], tid: int) -> list[dict[str, Any]]:
    return [e for e in m["test_keys"]["network_events"] if e["transaction_id"] == tid]


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """phase -> (output file, its one measurement), from one lab."""
    out = tmp_path_factory.mktemp("tls_sni")
    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    with lab_running("tls-sni") as (lab, state):
        for phase in PHASES:
            lab.phase(phase)
            path = out / f"{phase}.jsonl"
            [m] = probe_run(lab, state, "acme", ["https://www.example.com/"], path,
                            "--experiment", "tls_sni", "--option", f"tls_sni.ips={OTHER_IP}")
            found[phase] = (path, m)
    return found


@requires_root
@pytest.mark.lab
@pytest.mark.slow
def test_output_is_ooni_envelope_jsonl_with_per_ip_results(
        measured: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    for phase, (path, m) in measured.items():
        lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
        assert len(lines) == 1 and json.loads(lines[0]) == m
        assert m["test_name"] == "tls_sni" and m["data_format_version"] == "0.2.0"
        assert m["input"] == "https://www.example.com/"
        assert m["probe_asn"] == "AS64500" and m["probe_cc"] == "ZZ"
        assert "_tlssni_ZZ_64500_" in m["report_id"]  # OONI's report id names the test
        tk = m["test_keys"]
        assert tk["target"] == tk["server_name"] == "www.example.com" and tk["port"] == 443
        assert tk["control_sni"] == "example.org"
        results = by_ip(m)
        assert list(results) == [TARGET_IP, OTHER_IP], phase
        assert results[TARGET_IP]["sources"] == ["dns"]
        assert results[OTHER_IP]["sources"] == ["option"]
        # the name was resolved through the system resolver, and every attempt recorded
        assert tk["queries"][0]["engine"] == "getaddrinfo"
        assert len(tk["tcp_connect"]) == 6
        for r in results.values():
            assert {r[k]["server_name"] for k in ("target", "control", "no_sni")} == {
                "www.example.com", "example.org", ""}


@requires_root
@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.parametrize("phase", PHASES)
def test_per_ip_verdicts_follow_the_censors_technique(
        measured: dict[str, tuple[Path, dict[str, Any]]], phase: str) -> None:
    m = measured[phase][1]
    results = by_ip(m)
    here, other, failure = EXPECTED[phase]
    r = results[TARGET_IP]
    assert (r["verdict"], results[OTHER_IP]["verdict"]) == (here, other), r["reason"]
    assert m["test_keys"]["summary"]["verdict"] == here
    target = r["target"]
    assert target["failure"] == failure
    if here == "sni_triggered":
        # the ClientHello (with the name) went out, nothing came back; the control and the
        # no-SNI handshakes to the same IP completed
        assert target["failed_operation"] == "tls_handshake"
        assert target["client_hello_written"] and target["bytes_written"] > 200
        assert target["bytes_read"] == 0
        assert r["control"]["handshake_completed"] and r["no_sni"]["handshake_completed"]
        ops = [(e["operation"], e.get("num_bytes", 0), e["failure"])
               for e in events_of(m, target["transaction_id"])]
        start = [o for o, _, _ in ops].index("tls_handshake_start")
        assert ops[start + 1][0] == "write" and ops[start + 1][1] > 200
        assert [f for o, n, f in ops if o == "read"] == [failure]
    elif here == "ip_blocked":
        for k in ("target", "control", "no_sni"):
            assert r[k]["failed_operation"] == "connect"
            assert r[k]["failure"] == "generic_timeout_error"
    else:
        assert target["cert_valid_for_name"] is True
        assert results[OTHER_IP]["target"]["failure"] == "ssl_invalid_hostname"
        assert results[OTHER_IP]["target"]["cert_valid_for_name"] is False


@requires_root
@pytest.mark.lab
@pytest.mark.slow
def test_analyze_and_verify_agree_with_the_lab(
        measured: dict[str, tuple[Path, dict[str, Any]]], tmp_path: Path) -> None:
    runner = CliRunner()
    for phase, (path, _) in measured.items():
        result = runner.invoke(cli, ["analyze", "--jobs", "1", "--lab", str(path)])
        assert result.exit_code == 0, result.output
        [verdict] = [json.loads(ln) for ln in result.stdout.splitlines() if ln.strip()]
        got = (verdict["outcome"], verdict["layer"], verdict["mechanism"], verdict["rule_id"])
        assert got == ANALYSIS[phase], (phase, verdict["evidence"])
        assert verdict["rules_version"] == "cs-tlssni-1"
        text = "\n".join(verdict["evidence"])
        if verdict["outcome"] == "blocked" and verdict["layer"] == "tls":
            assert f"{TARGET_IP}:443 is sni_triggered for www.example.com" in text
            assert "with SNI www.example.com: failed: " in text
            assert f"TLS handshake to {TARGET_IP}:443 with SNI example.org: completed" in text
        if verdict["layer"] == "tcp":
            assert f"TCP connect to {TARGET_IP}:443 failed: generic_timeout_error" in text

    store = f"duckdb:///{tmp_path / 'tls_sni.duckdb'}"
    files = [str(path) for path, _ in measured.values()]
    result = runner.invoke(cli, ["ingest", "--store", store, "--jobs", "1", *files])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["verify", "--store", store, "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 0, report
    assert report["verdicts"] == len(PHASES)
    assert report["false"] == 0 and report["without_data"] == 0
    assert report["true"] == report["statements"] > 4 * len(PHASES)


@requires_root
@pytest.mark.lab
@pytest.mark.slow
def test_seed_case_az_2022_tiktok_delta_is_sni_triggered_bakcell_ok(tmp_path: Path) -> None:
    """``az-2022-tiktok``, phase ``blocked-all``: Delta (AS29049) drops the TikTok SNI at the
    Akamai cache, whose other names still complete; Bakcell (AS197830) does not block."""
    with lab_running("az-2022-tiktok", "blocked-all") as (lab, state):
        [delta] = probe_run(lab, state, "delta", ["https://www.tiktok.com/"],
                            tmp_path / "delta.jsonl", "--experiment", "tls_sni")
        [bakcell] = probe_run(lab, state, "bakcell", ["https://www.tiktok.com/"],
                              tmp_path / "bakcell.jsonl", "--experiment", "tls_sni")
    assert (delta["probe_asn"], bakcell["probe_asn"]) == ("AS29049", "AS197830")
    [d], [b] = delta["test_keys"]["results"], bakcell["test_keys"]["results"]
    assert d["ip"] == b["ip"]  # the same cache IP, told apart by the name only
    assert (d["verdict"], d["target"]["failure"]) == ("sni_triggered", "generic_timeout_error")
    assert d["control"]["handshake_completed"] and d["no_sni"]["handshake_completed"]
    assert (b["verdict"], b["target"]["cert_valid_for_name"]) == ("ok", True)
    runner = CliRunner()
    for path, expected in ((tmp_path / "delta.jsonl", ("blocked", "tls", "tls.timeout.sni")),
                           (tmp_path / "bakcell.jsonl", ("ok", None, None))):
        result = runner.invoke(cli, ["analyze", "--jobs", "1", "--lab", str(path)])
        [v] = [json.loads(ln) for ln in result.stdout.splitlines() if ln.strip()]
        assert (v["outcome"], v["layer"], v["mechanism"]) == expected, v["evidence"]
