"""Seed case az-2022-tiktok, phase ``blocked-all``: ``probe run --preset social`` tells the story.

From Delta (AS29049), which drops the ClientHello of every TikTok name, the preset's
``service`` measurement says TikTok is unavailable (or restricted) with a failing entry per
endpoint, ``tls_sni`` says the CDN address of www.tiktok.com is ``sni_triggered`` (the same
address completes a handshake with another name), and ``dns_consistency`` says the answers are
the CDN's own (``consistent`` or ``cdn_valid_cert``), never a lie: the false "DNS
inconsistency" alarm of 2022 must not be raised. From Bakcell (AS197830), which does not block,
TikTok is available and every address is ``ok``. The analysis agrees: ``analyze --lab`` blocks
TikTok on Delta with evidence for each endpoint and finds nothing wrong on Bakcell.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.labkit import CENSORSCOPE, lab_running, probe_run, requires_root

CDN_IP = "198.19.20.1"  # serves www.tiktok.com and www.example.org


def _by_test(measurements: list[dict[str, Any]], test_name: str,
             input_: str) -> dict[str, Any]:
    [m] = [m for m in measurements if m["test_name"] == test_name and m["input"] == input_]
    return m


def _verdicts(path: Path, asn_table: Path) -> dict[tuple[str, str], dict[str, Any]]:
    out = subprocess.run([CENSORSCOPE, "analyze", "--lab", "--asn-table", str(asn_table),
                          str(path)], capture_output=True, text=True, check=True).stdout
    return {(v["test_name"], v["input"]): v for v in map(json.loads, out.splitlines())}


@requires_root
@pytest.mark.lab
@pytest.mark.slow
def test_social_preset_tells_delta_from_bakcell(tmp_path: Path) -> None:
    with lab_running("az-2022-tiktok", "blocked-all") as (lab, state):
        delta = probe_run(lab, state, "delta", [], tmp_path / "delta.jsonl",
                          "--preset", "social", "--parallel", "4", timeout=300)
        bakcell = probe_run(lab, state, "bakcell", [], tmp_path / "bakcell.jsonl",
                            "--preset", "social", "--parallel", "4", timeout=300)
        asn_table = Path(state.asn_table)
        delta_v = _verdicts(tmp_path / "delta.jsonl", asn_table)
        bakcell_v = _verdicts(tmp_path / "bakcell.jsonl", asn_table)

    # every step of the preset ran, each under its own report
    for ms in (delta, bakcell):
        assert {m["test_name"] for m in ms} == {"service", "tls_sni", "dns_consistency"}
        assert len({m["report_id"] for m in ms}) == 3

    # service: TikTok unavailable/restricted on Delta, one failing entry per endpoint
    svc = _by_test(delta, "service", "tiktok")["test_keys"]
    assert svc["status"] in ("unavailable", "restricted")
    failing = [e for e in svc["endpoints"] if e["status"] == "failed"]
    assert len(failing) == svc["endpoints_failing"] > 0
    assert all(e["failed_step"] == "tls" for e in failing)
    assert _by_test(bakcell, "service", "tiktok")["test_keys"]["status"] == "available"

    # tls_sni: the name, not the address, is blocked on Delta
    sni = {r["ip"]: r for r in _by_test(delta, "tls_sni", "www.tiktok.com")["test_keys"][
        "results"]}
    assert sni[CDN_IP]["verdict"] == "sni_triggered"
    assert all(r["verdict"] == "sni_triggered" for r in sni.values())
    ok = {r["ip"]: r for r in _by_test(bakcell, "tls_sni", "www.tiktok.com")["test_keys"][
        "results"]}
    assert ok[CDN_IP]["verdict"] == "ok"

    # dns_consistency: the CDN's answers are not a lie, on either network
    for ms in (delta, bakcell):
        resolvers = _by_test(ms, "dns_consistency", "www.tiktok.com")["test_keys"]["resolvers"]
        classes = {r["classification"] for r in resolvers} - {None}
        assert classes and classes <= {"consistent", "cdn_valid_cert"}, resolvers

    # the analysis: TikTok blocked on Delta, with a statement per failing endpoint
    v = delta_v[("service", "tiktok")]
    assert v["outcome"] == "blocked" and v["layer"] == "tls"
    cited = {e["facts"].get("server_name") for e in v["evidence_data"]
             if e["claim"] == "rows.tls_failed"}
    assert {e["host"] for e in failing} <= cited
    assert delta_v[("tls_sni", "www.tiktok.com")]["mechanism"].endswith(".sni")
    assert delta_v[("dns_consistency", "www.tiktok.com")]["outcome"] == "ok"
    assert bakcell_v[("service", "tiktok")]["outcome"] == "ok"
    assert bakcell_v[("tls_sni", "www.tiktok.com")]["outcome"] == "ok"
    assert bakcell_v[("dns_consistency", "www.tiktok.com")]["outcome"] == "ok"
