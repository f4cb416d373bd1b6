"""The ``service`` experiment in the lab: TikTok per ISP in ``az-2022-tiktok`` (NetBlocks' view).

In phase ``blocked-all`` Delta (AS29049) drops the ClientHello of every TikTok name: every
endpoint of the set fails with a TLS timeout after the ClientHello write → ``unavailable``, and
the analysis says blocked at TLS naming each endpoint. Azercell drops its own subset →
``restricted``, exactly that subset failing (SNI-triggered: the same cache IPs complete
handshakes for the other TikTok names). Bakcell blocks nothing → ``available``. In
``blocked-delta-kinetic`` Connect's subset fails the same way. The expected subsets are read
from the scenario's policies, not written here. ``censorscope analyze`` scores the outputs;
every evidence statement is re-checked against the measurement (zero false statements).
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from censorscope.experiments.service.endpoints import bundled_endpoints
from censorscope.lab.runtime import Lab, LabState
from censorscope.pipeline.analyze import AnalysisContext
from censorscope.pipeline.analyze.analyzer import score
from censorscope.pipeline.evidence import Facts, check_verdict
from censorscope.pipeline.observe import measurement_row, observe
from tests.e2e.labkit import CENSORSCOPE, lab_running, probe_run, requires_root
from tests.pipeline.analyze.msmkit import LAB

SCENARIO = (Path(__file__).resolve().parents[2] / "src" / "censorscope" / "lab" / "scenarios"
            / "az-2022-tiktok.toml")
TLS_TIMEOUT = 2.0


def sni_policy(phase: str, isp: str) -> set[str]:
    """The server names ``isp`` drops in ``phase`` (empty: it blocks nothing)."""
    data = tomllib.loads(SCENARIO.read_text())
    return {name for p in data["phases"][phase].get("policies", [])
            if p["isp"] == isp and p["kind"] == "sni_drop" for name in p["sni"]}


def run_service(lab: Lab, state: LabState, isp: str, out: Path) -> dict[str, Any]:
    [m] = probe_run(lab, state, isp, ["TikTok"], out, "--experiment", "service")
    assert m["test_name"] == "service" and m["input"] == "TikTok"
    return m


def analyze_cli(path: Path) -> dict[str, Any]:
    """``censorscope analyze --lab`` on one output file: its one verdict."""
    proc = subprocess.run([CENSORSCOPE, "analyze", "--lab", "-j", "1", str(path)],
                          capture_output=True, text=True, check=True, timeout=120)
    [line] = proc.stdout.splitlines()
    verdict: dict[str, Any] = json.loads(line)
    return verdict


def false_statements(m: dict[str, Any]) -> list[str]:
    """Every evidence statement of the verdict that its checker refutes (with the raw
    measurement and from the rows alone)."""
    meta, rows = measurement_row(m, "uid"), observe(m, "uid")
    problems = []
    for raw in (m, None):
        ctx = AnalysisContext.create(public_ranges=LAB)
        ctx.learn(meta, rows)
        verdict = score(meta, rows, ctx, raw)
        problems += check_verdict(verdict, Facts(meta, rows, raw))
    return problems


def failing_hosts(m: dict[str, Any]) -> set[str]:
    return {e["host"] for e in m["test_keys"]["endpoints"] if e["status"] == "failed"}


def assert_sni_dropped(m: dict[str, Any], hosts: set[str]) -> None:
    """Each endpoint of ``hosts`` failed at TLS with a timeout right after its ClientHello."""
    tk = m["test_keys"]
    for ep in tk["endpoints"]:
        if ep["host"] not in hosts:
            continue
        assert (ep["failed_step"], ep["failure"]) == ("tls", "generic_timeout_error"), ep
        assert ep["connect_rtt"] is not None and ep["tls_rtt"] is None
        events = [e for e in tk["network_events"] if e["transaction_id"] == ep["transaction_id"]]
        ops = [e["operation"] for e in events]
        start = ops.index("tls_handshake_start")
        writes = [e for e in events[start:] if e["operation"] == "write"]
        reads = [e for e in events[start:] if e["operation"] == "read"]
        assert len(writes) == 1 and writes[0]["num_bytes"] > 200  # one ClientHello
        assert [r.get("num_bytes") for r in reads] == [None]
        assert [r["failure"] for r in reads] == ["generic_timeout_error"]
        assert TLS_TIMEOUT * 0.9 <= reads[0]["t"] - writes[0]["t"] <= TLS_TIMEOUT * 2.5


@requires_root
@pytest.mark.lab
@pytest.mark.slow
def test_tiktok_service_per_isp(tmp_path: Path) -> None:
    hosts = {e.host for e in bundled_endpoints("tiktok")}
    served = {n for s in tomllib.loads(SCENARIO.read_text())["sites"] for n in s["names"]}
    assert hosts <= served  # the scenario serves every endpoint of the set
    delta_drops = sni_policy("blocked-all", "delta")
    azercell_drops = sni_policy("blocked-all", "azercell")
    connect_drops = sni_policy("blocked-delta-kinetic", "connect")
    assert hosts <= delta_drops and sni_policy("blocked-all", "bakcell") == set()
    assert set() < azercell_drops & hosts < hosts and set() < connect_drops & hosts < hosts

    with lab_running("az-2022-tiktok", "blocked-all") as (lab, state):
        delta = run_service(lab, state, "delta", tmp_path / "delta.jsonl")
        azercell = run_service(lab, state, "azercell", tmp_path / "azercell.jsonl")
        bakcell = run_service(lab, state, "bakcell", tmp_path / "bakcell.jsonl")
        lab.phase("blocked-delta-kinetic")
        connect = run_service(lab, state, "connect", tmp_path / "connect.jsonl")

    # the probe's own status and per-endpoint results
    n = len(hosts)
    assert delta["probe_asn"] == "AS29049" and bakcell["probe_asn"] == "AS197830"
    tk = delta["test_keys"]
    assert (tk["service"], tk["status"], tk["endpoints_total"]) == ("tiktok", "unavailable", n)
    assert tk["failing_share"] == 1.0 and tk["failing_steps"] == {"tls": n}
    assert failing_hosts(delta) == hosts
    assert_sni_dropped(delta, hosts)
    assert bakcell["test_keys"]["status"] == "available" and failing_hosts(bakcell) == set()
    assert bakcell["test_keys"]["failing_share"] == 0.0
    for ep in bakcell["test_keys"]["endpoints"]:
        assert ep["http_status"] and ep["connect_rtt"] and ep["tls_rtt"] and ep["ttfb"], ep
    for m, drops in ((azercell, azercell_drops), (connect, connect_drops)):
        tk = m["test_keys"]
        assert tk["status"] == "restricted", m["probe_network_name"]
        assert failing_hosts(m) == drops & hosts
        assert tk["failing_share"] == round(len(drops & hosts) / n, 4)
        assert_sni_dropped(m, drops & hosts)

    # the analysis (the CLI), with every statement true
    v_delta = analyze_cli(tmp_path / "delta.jsonl")
    assert (v_delta["outcome"], v_delta["layer"], v_delta["rule_id"]) == (
        "blocked", "tls", "service.unavailable")
    assert v_delta["mechanism"] in ("tls.timeout", "tls.timeout.sni")
    v_bak = analyze_cli(tmp_path / "bakcell.jsonl")
    assert (v_bak["outcome"], v_bak["rule_id"]) == ("ok", "service.available")
    verdicts = {"delta": v_delta, "bakcell": v_bak}
    for name, drops in (("azercell", azercell_drops), ("connect", connect_drops)):
        v = verdicts[name] = analyze_cli(tmp_path / f"{name}.jsonl")
        assert (v["outcome"], v["layer"], v["mechanism"], v["rule_id"]) == (
            "blocked", "tls", "tls.timeout.sni", "service.restricted"), name
        share = round(100 * len(drops & hosts) / n, 1)
        assert f"{len(drops & hosts)} of {n} endpoints of tiktok failed ({share}%)" in \
            v["evidence"]
    # per-endpoint evidence: one TLS failure statement per failing endpoint, naming it
    measured = {"delta": delta, "azercell": azercell, "bakcell": bakcell, "connect": connect}
    for name, m in measured.items():
        stated = [t for t in verdicts[name]["evidence"] if t.startswith("TLS handshake with ")]
        assert {t.split(" ")[3] for t in stated} == failing_hosts(m)
        assert all(t.endswith("failed: generic_timeout_error") for t in stated)
    for m in measured.values():
        assert false_statements(m) == []
