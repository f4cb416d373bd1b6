"""The analysis on the lab's scenarios, measured by our probe.

QA: one lab per worker holds the QA topology with every case as a phase (as in
``test_web_connectivity_qa``); each case runs the real probe, is analysed on its own (a fresh
context with the lab's ranges public), and must get an outcome/layer ``EXPECTED`` lists. The
verdict must not change when the probe's verdict keys are deleted, and its deterministic part
matches ``tests/golden/verdicts/qa/<case>.json`` (regenerate with CENSORSCOPE_UPDATE_GOLDEN=1).

With CENSORSCOPE_UPDATE_GOLDEN=1 the tests also write the measurements the probe produced, in
full, to ``tests/golden/measurements/`` (``qa/<case>.json``, ``<scenario>.jsonl``): a corpus of
real lab probe output for tests that analyse measurements alone, in batches and shuffled.
Without the variable nothing is written.

TikTok: in ``az-2022-tiktok`` Delta's measurement of www.tiktok.com is ``tls.timeout.sni`` with
evidence naming the name, the IP and the other server name that works there; no measurement is
DNS blocking (the answers are CDN caches). In ``am-2022-tiktok`` Ucom is ``dns.nxdomain`` and
MTS ``dns.injection.other``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from censorscope.lab.runtime import Lab, LabState
from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze import AnalysisContext, analyze_batch
from tests.e2e.labkit import lab_running, probe_run, requires_root
from tests.e2e.qakit import CASES, EXPECTATIONS, SHARED, qa_all_phases
from tests.pipeline.analyze.msmkit import LAB
from tests.pipeline.analyze.test_analyze_samples import strip_verdict_keys

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "verdicts"
MEASUREMENTS = ROOT / "tests" / "golden" / "measurements"

OK, DOWN = {("ok", None)}, {("down", None)}
DNS, TCP, TLS, HTTP = ({("blocked", x)} for x in ("dns", "tcp", "tls", "http"))
EXPECTED: dict[str, set[tuple[str, str | None]]] = {
    "successWithHTTP": OK, "successWithHTTPS": OK,
    "idnaWithoutCensorshipLowercase": OK, "idnaWithoutCensorshipWithFirstLetterUppercase": OK,
    "largeFileWithHTTP": OK, "largeFileWithHTTPS": OK,
    "dnsHijackingToProxyWithHTTPURL": OK, "dnsHijackingToProxyWithHTTPSURL": OK,
    "badSSLWithUnknownAuthorityWithConsistentDNS": DOWN, "badSSLWithExpiredCertificate": DOWN,
    "badSSLWithWrongServerName": DOWN, "localhostWithHTTP": DOWN, "localhostWithHTTPS": DOWN,
    "redirectWithBrokenLocationForHTTP": DOWN, "redirectWithBrokenLocationForHTTPS": DOWN,
    "redirectWithMoreThanTenRedirectsAndHTTP": DOWN,
    "redirectWithMoreThanTenRedirectsAndHTTPS": DOWN,
    "websiteDownNXDOMAIN": DOWN, "websiteDownNoAddrs": DOWN, "websiteDownTCPConnect": DOWN,
    "cloudflareCAPTCHAWithHTTP": OK | DOWN, "cloudflareCAPTCHAWithHTTPS": OK | DOWN,
    "controlFailureWithSuccessfulHTTPWebsite": OK | {("insufficient", None)},
    "controlFailureWithSuccessfulHTTPSWebsite": OK | {("insufficient", None)},
    "badSSLWithUnknownAuthorityWithInconsistentDNS": DNS, "dnsBlockingBOGON": DNS,
    "dnsBlockingNXDOMAIN": DNS, "dnsHijackingToLocalhostWithHTTP": DNS,
    "dnsHijackingToLocalhostWithHTTPS": DNS, "ghostDNSBlockingWithHTTP": DNS,
    "ghostDNSBlockingWithHTTPS": DNS, "httpDiffWithInconsistentDNS": DNS,
    "tcpBlockingConnectionRefusedWithInconsistentDNS": DNS,
    "tlsBlockingConnectionResetWithInconsistentDNS": DNS,
    "redirectWithConsistentDNSAndThenNXDOMAIN": DNS,
    "tcpBlockingConnectTimeout": TCP,
    "redirectWithConsistentDNSAndThenConnectionRefusedForHTTP": TCP,
    "redirectWithConsistentDNSAndThenConnectionRefusedForHTTPS": TCP,
    "tlsBlockingConnectionResetWithConsistentDNS": TLS,
    "redirectWithConsistentDNSAndThenConnectionResetForHTTPS": TLS,
    "redirectWithConsistentDNSAndThenEOFForHTTPS": TLS,
    "redirectWithConsistentDNSAndThenTimeoutForHTTPS": TLS,
    "httpBlockingConnectionReset": HTTP, "httpDiffWithConsistentDNS": HTTP,
    "redirectWithConsistentDNSAndThenConnectionResetForHTTP": HTTP,
    "redirectWithConsistentDNSAndThenEOFForHTTP": HTTP,
    "redirectWithConsistentDNSAndThenTimeoutForHTTP": HTTP,
    # deterministic: the lab caps the rate instead of losing packets (docs/lab.md, Timing margins)
    "throttlingWithHTTP": {("impaired", "throttling")},
    "throttlingWithHTTPS": {("impaired", "throttling")},
}


def lab_context() -> AnalysisContext:
    return AnalysisContext.create(public_ranges=LAB)


def golden_digest(v: Verdict) -> dict[str, Any]:
    """The deterministic part of a verdict (evidence has byte counts and times)."""
    return {
        "input": v.input, "outcome": v.outcome, "layer": v.layer, "mechanism": v.mechanism,
        "rule_id": v.rule_id, "blocking": v.blocking, "anomaly": v.anomaly,
        "confirmed": v.confirmed, "failure": v.failure, "fingerprints": list(v.fingerprints),
        "layers": [[lv.layer, lv.outcome, lv.mechanism, lv.rule_id] for lv in v.layers],
    }


def updating_golden() -> bool:
    return os.environ.get("CENSORSCOPE_UPDATE_GOLDEN") == "1"


def check_golden(name: str, current: Any) -> None:
    golden = GOLDEN / f"{name}.json"
    current = json.loads(json.dumps(current))
    if updating_golden() or not golden.exists():
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(current, indent=1, ensure_ascii=False) + "\n")
    assert current == json.loads(golden.read_text())


def save_measurements(name: str, measurements: list[dict[str, Any]]) -> None:
    """With CENSORSCOPE_UPDATE_GOLDEN=1, write the probe's measurements to the corpus:
    ``<name>.json`` (one measurement, indent=1) or ``<name>.jsonl`` (one per line)."""
    if not updating_golden():
        return
    if name.endswith(".json"):
        [m] = measurements
        text = json.dumps(m, indent=1, ensure_ascii=False) + "\n"
    else:
        text = "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in measurements)
    path = MEASUREMENTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def analyze_alone(measurements: list[dict[str, Any]]) -> list[Verdict]:
    """Verdicts for one run; the same without the probe's verdict keys must be identical."""
    verdicts = analyze_batch([(m, None) for m in measurements], lab_context())
    stripped = analyze_batch([(strip_verdict_keys(m), None) for m in measurements],
                             lab_context())
    assert [v.to_json() for v in stripped] == [v.to_json() for v in verdicts]
    return verdicts


def test_every_case_has_an_expectation() -> None:
    assert set(EXPECTED) == set(CASES)


@pytest.fixture(scope="module")
def qa_lab() -> Iterator[tuple[Lab, LabState]]:
    with lab_running(qa_all_phases()) as running:
        yield running


@requires_root
@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_qa_case_verdict(case: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = EXPECTATIONS[case]["input"]
    if case in SHARED:
        lab, state = request.getfixturevalue("qa_lab")
        lab.phase(case)
        [m] = probe_run(lab, state, "garr", [url], tmp_path / "out.jsonl")
    else:
        with lab_running(f"qa.{case}") as (lab, state):
            [m] = probe_run(lab, state, "garr", [url], tmp_path / "out.jsonl")
    [v] = analyze_alone([m])
    assert (v.outcome, v.layer) in EXPECTED[case], json.dumps(v.to_json(), indent=1)
    if v.outcome in ("blocked", "impaired", "down"):
        assert v.evidence and v.rule_id
    check_golden(f"qa/{case}", golden_digest(v))
    save_measurements(f"qa/{case}.json", [m])


@requires_root
@pytest.mark.lab
@pytest.mark.slow
def test_az_tiktok_is_sni_blocking_not_dns(tmp_path: Path) -> None:
    with lab_running("az-2022-tiktok", "blocked-delta") as (lab, state):
        ms = probe_run(lab, state, "delta", ["https://www.tiktok.com/",
                                             "https://www.example.org/"], tmp_path / "d.jsonl")
        ms += probe_run(lab, state, "aztel", ["https://www.tiktok.com/"], tmp_path / "a.jsonl")
    blocked, other, aztel = analyze_alone(ms)
    assert (blocked.outcome, blocked.layer, blocked.mechanism, blocked.blocking) == (
        "blocked", "tls", "tls.timeout.sni", "tls")
    first = " ".join(e.text for e in blocked.evidence)
    for fact in ("www.tiktok.com", "198.19.20.1:443", "www.example.org",
                 "after the ClientHello write", "AS29049"):
        assert fact in first, first
    assert any("control completed the handshake with SNI www.tiktok.com" in e.text
               for e in blocked.evidence)
    assert (other.outcome, aztel.outcome) == ("ok", "ok")
    for v in (blocked, other, aztel):  # the CDN answers are not DNS blocking
        assert v.layer != "dns"
        assert all(lv.outcome == "ok" for lv in v.layers if lv.layer == "dns")
    check_golden("az-2022-tiktok", [golden_digest(v) for v in (blocked, other, aztel)])
    save_measurements("az-2022-tiktok.jsonl", ms)


@requires_root
@pytest.mark.lab
@pytest.mark.slow
def test_am_tiktok_nxdomain_and_injection(tmp_path: Path) -> None:
    with lab_running("am-2022-tiktok", "blocked") as (lab, state):
        ms = probe_run(lab, state, "ucom", ["https://www.tiktok.com/"], tmp_path / "u.jsonl")
        ms += probe_run(lab, state, "mts", ["https://www.tiktok.com/"], tmp_path / "m.jsonl")
        ms += probe_run(lab, state, "telarm", ["https://www.tiktok.com/"],
                        tmp_path / "t.jsonl")
    ucom, mts, telarm = analyze_alone(ms)
    assert (ucom.outcome, ucom.mechanism) == ("blocked", "dns.nxdomain")
    assert "dns_nxdomain_error" in ucom.evidence[0].text
    assert (mts.outcome, mts.mechanism) == ("blocked", "dns.injection.other")
    assert "198.19.17.228" in mts.evidence[0].text
    assert telarm.outcome == "ok"
    check_golden("am-2022-tiktok", [golden_digest(v) for v in (ucom, mts, telarm)])
    save_measurements("am-2022-tiktok.jsonl", ms)
