"""The throttling experiment in the lab, run as a user runs it (``probe run`` in a probe's
namespace), then ``censorscope analyze`` on its output.

- ``throttling`` scenario: a 150 kbit/s cap on the SNI ``video.example`` (the injector's
  token bucket per connection) is flagged, with a plateau within 20 % of the cap; the name the
  cap does not match, and the same URL once the cap is lifted, are not.
- ``az-2020-war``, phase ``throttled`` (brief seed case 2; the names, ISPs and the throttle are
  read from the scenario): where only the throttle applies (Uninet) a throttled service name is
  flagged with ``throttle.sni`` against an unthrottled name on the same IP; where the ISP also
  resets the handshake (Baktelekom) the verdict is blocked, not throttling; an unthrottled name,
  and the same service in the ``blocked`` phase (no throttle anywhere), are not flagged.

Margins (a cap is a ceiling the injector enforces; load only slows things down): the capped
download runs until the 6 s HTTP deadline, 4–5 s of body at ~145 kbit/s of TCP payload (the
cap counts IP bytes) → a plateau from ~40 sample pairs; the control takes milliseconds, so the
ratio is ~1e-4 against the 0.25 threshold. Unthrottled downloads complete in well under the
1 s that makes a target too fast to be measured as throttled.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from censorscope.lab import scenarios
from censorscope.lab.runtime import Lab, LabState
from tests.e2e.labkit import CENSORSCOPE, lab_running, probe_run, requires_root
from tests.e2e.test_service_lab import analyze_cli, false_statements

pytestmark = [requires_root, pytest.mark.lab, pytest.mark.slow]

SIZE = 524288
CAP_KBIT = 150


def throttling(lab: Lab, state: LabState, isp: str, url: str, control: str, out: Path,
               *extra: str) -> dict[str, Any]:
    """One throttling measurement of ``url`` against ``control`` (a base URL: same path)."""
    [m] = probe_run(lab, state, isp, [url], out, "--experiment", "throttling",
                    "--option", f"throttling.control_url={control}", *extra)
    assert m["test_name"] == "throttling" and m["input"] == url
    return m


def figures(m: dict[str, Any]) -> str:
    tk = m["test_keys"]
    t, c = tk["target"], tk["control"]
    return (f"{m['probe_asn']} {m['input']}: {tk['verdict']} ratio {tk['ratio']} target "
            f"{t['plateau_kbps']} kbit/s ({t['plateau_method']}, cv {t['plateau_cv']}, "
            f"{t['bytes']} B in {t['body_time']} s, tls {t['tls_handshake_time']} s, ttfb "
            f"{t['time_to_first_byte']} s) control {c['plateau_kbps']} kbit/s")


def verdict_of(path: Path) -> tuple[str, str | None, str | None, str]:
    v = analyze_cli(path)
    return v["outcome"], v["layer"], v["mechanism"], v["rule_id"]


def test_sni_rate_cap_is_flagged_and_its_plateau_is_the_cap(tmp_path: Path) -> None:
    url = f"https://video.example/download/{SIZE}"
    with lab_running("throttling", "capped-sni") as (lab, state):
        capped = throttling(lab, state, "acme", url, "https://www.example.org/",
                            tmp_path / "capped.jsonl", "--http-timeout", "6")
        other = throttling(lab, state, "acme", f"https://www.example.org/download/{SIZE}",
                           "https://mirror.example.net/", tmp_path / "other.jsonl")
        lab.phase("open")
        opened = throttling(lab, state, "acme", url, "https://www.example.org/",
                            tmp_path / "open.jsonl")
    for m in (capped, other, opened):
        print(figures(m))

    tk = capped["test_keys"]
    target = tk["target"]
    assert tk["verdict"] == "throttled" and tk["ratio"] <= 0.25, figures(capped)
    assert abs(target["plateau_kbps"] - CAP_KBIT) <= 0.2 * CAP_KBIT, figures(capped)
    assert target["plateau_method"] == "windows" and target["body_time"] > 3
    # cut by the deadline after progress: a slow download, not a failed one
    assert target["failure"] == "generic_timeout_error" and 16384 <= target["bytes"] < SIZE
    assert tk["control"]["complete"] and tk["control"]["address"] == target["address"]
    assert verdict_of(tmp_path / "capped.jsonl") == (
        "impaired", "throttling", "throttle.sni", "throttling.slow_sni")
    assert false_statements(capped) == []

    for name, m in (("other", other), ("open", opened)):
        tk = m["test_keys"]
        assert tk["verdict"] == "ok" and tk["target"]["complete"], figures(m)
        assert verdict_of(tmp_path / f"{name}.jsonl") == ("ok", None, None, "throttling.ok")
        assert false_statements(m) == []

    # stored and re-checked: every evidence statement holds
    store = f"duckdb:///{tmp_path / 'thr.duckdb'}"
    files = [str(tmp_path / f"{n}.jsonl") for n in ("capped", "other", "open")]
    for argv in (["ingest", "--store", store, "--jobs", "1", *files],
                 ["verify", "--store", store, "--json"]):
        proc = subprocess.run([CENSORSCOPE, *argv], capture_output=True, text=True,
                              timeout=120, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["verdicts"] == 3 and report["false"] == 0
    assert report["true"] == report["statements"] >= 6


def _throttle_case() -> tuple[list[str], str, str]:
    """From ``az-2020-war``'s ``throttled`` phase: the ISPs the throttle applies to, a
    throttled name and an unthrottled name served from the same IP."""
    sc = scenarios.load("az-2020-war")
    [throttle] = [p for p in sc.phases["throttled"].policies if p.kind == "throttle"]
    isps = [i.name for i in sc.isps] if throttle.isp == "*" else [throttle.isp]
    for site in sc.sites:
        if site.names[0] not in throttle.sni:
            continue
        for other in sc.sites:
            if set(other.ips) & set(site.ips) and not set(other.names) & set(throttle.sni):
                return isps, site.names[0], other.names[0]
    raise AssertionError("no throttled name shares an IP with an unthrottled one")


def test_az_2020_war_throttled_phase(tmp_path: Path) -> None:
    isps, throttled, unthrottled = _throttle_case()
    assert {"uninet", "baktel"} <= set(isps)
    sc = scenarios.load("az-2020-war")
    resets = {p.isp for p in sc.phases["throttled"].policies if p.kind == "sni_reset"}
    assert "baktel" in resets and "uninet" not in resets
    slow = ("--tls-timeout", "10", "--http-timeout", "10")  # 300 ms each way + 10 % loss
    url = f"https://{throttled}/download/{SIZE}"
    control = f"https://{unthrottled}/"
    with lab_running("az-2020-war", "throttled") as (lab, state):
        uninet = throttling(lab, state, "uninet", url, control, tmp_path / "uninet.jsonl",
                            *slow)
        baktel = throttling(lab, state, "baktel", url, control, tmp_path / "baktel.jsonl",
                            *slow)
        plain = throttling(lab, state, "uninet", f"https://{unthrottled}/download/{SIZE}",
                           "https://www.example.org/", tmp_path / "plain.jsonl", *slow)
        lab.phase("blocked")
        before = throttling(lab, state, "uninet", url, control, tmp_path / "before.jsonl")
    for m in (uninet, baktel, plain, before):
        print(figures(m))

    assert uninet["test_keys"]["verdict"] == "throttled", figures(uninet)
    assert verdict_of(tmp_path / "uninet.jsonl") == (
        "impaired", "throttling", "throttle.sni", "throttling.slow_sni")
    # Baktelekom resets the handshake first: blocked by SNI, not throttled
    assert baktel["test_keys"]["target"]["failure"] == "connection_reset"
    assert baktel["test_keys"]["verdict"] == "inconclusive"
    assert verdict_of(tmp_path / "baktel.jsonl") == (
        "blocked", "tls", "tls.reset.sni", "throttling.target_failed")
    for name, m in (("plain", plain), ("before", before)):
        assert m["test_keys"]["verdict"] == "ok", figures(m)
        assert verdict_of(tmp_path / f"{name}.jsonl") == ("ok", None, None, "throttling.ok")
    for m in (uninet, baktel, plain, before):
        assert false_statements(m) == []
