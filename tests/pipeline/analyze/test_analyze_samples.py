"""The real OONI samples: each is analysed without error, the verdict is in the vocabulary and
ignores the probe's own verdict keys; the Iranian confirmed case is confirmed by OONI's
fingerprint; the pipeline imports nothing but ``censorscope.model`` (and itself)."""

from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any

import pytest

from censorscope.ingest.analyze_cli import iter_measurements
from censorscope.model.verdict import MECHANISMS, OUTCOMES, Verdict
from censorscope.pipeline.analyze import (
    AnalysisContext,
    Subject,
    analyze_batch,
    analyze_measurement,
    register,
    registered,
    scorer_for,
)
from censorscope.pipeline.evidence import unstructured

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO.parent / "shared" / "data" / "ooni-samples"
PIPELINE = REPO / "src" / "censorscope" / "pipeline"

# the probe's own conclusions (OONI web_connectivity and other tests): never read by analysis
VERDICT_KEYS = (
    "blocking", "accessible", "dns_consistency", "body_length_match", "body_proportion",
    "status_code_match", "headers_match", "title_match", "x_blocking_flags", "x_dns_flags",
    "x_null_null_flags", "x_http_diff_flags", "control_failure", "dns_experiment_failure",
    "http_experiment_failure", "blocking_general", "blocking_global", "blocking_country",
)


def all_samples() -> list[tuple[dict[str, Any], str]]:
    return list(iter_measurements([str(SAMPLES)]))


SAMPLE_LIST = all_samples()


def strip_verdict_keys(msm: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(msm)
    tk = out.get("test_keys")
    if isinstance(tk, dict):
        for key in list(tk):
            if key in VERDICT_KEYS or key.endswith(("_match", "_flags")):
                del tk[key]
    return out


def test_samples_are_found() -> None:
    assert len(SAMPLE_LIST) >= 80
    assert sum(1 for m, _ in SAMPLE_LIST if m["test_name"] == "web_connectivity") >= 20


def test_every_sample_is_analysed_in_the_vocabulary() -> None:
    verdicts = analyze_batch(SAMPLE_LIST, AnalysisContext.create())
    assert len(verdicts) == len(SAMPLE_LIST)
    for v, (msm, uid) in zip(verdicts, SAMPLE_LIST, strict=True):
        assert isinstance(v, Verdict) and v.measurement_uid == uid
        assert v.outcome in OUTCOMES and (v.mechanism is None or v.mechanism in MECHANISMS)
        assert v.rule_id and v.rules_version
        assert v.test_name == msm["test_name"]
        if v.outcome == "blocked":
            assert (v.evidence and v.layer is not None) or msm["test_name"] != "web_connectivity"


def test_deleting_the_probe_verdict_keys_changes_nothing() -> None:
    with_keys = analyze_batch(SAMPLE_LIST, AnalysisContext.create())
    without = analyze_batch([(strip_verdict_keys(m), uid) for m, uid in SAMPLE_LIST],
                            AnalysisContext.create())
    assert [v.to_json() for v in without] == [v.to_json() for v in with_keys]
    # and the samples do carry such keys (the test would be vacuous otherwise)
    assert sum(1 for m, _ in SAMPLE_LIST if "blocking" in (m.get("test_keys") or {})) >= 20


def test_iranian_dns_blockpage_is_confirmed_by_ooni_fingerprint() -> None:
    [(msm, uid)] = list(iter_measurements([str(SAMPLES / "fastpath" /
                                                "web_connectivity_ir_fp.json")]))
    v = analyze_measurement(msm, AnalysisContext.create(), uid=uid)
    assert (v.outcome, v.layer, v.mechanism) == ("blocked", "dns", "dns.injection.blockpage")
    assert v.confirmed and v.anomaly and v.blocking == "dns"
    assert v.fingerprints == ("ooni.ir_10dot10_ipv4_1",)  # OONI fastpath's expected id
    assert v.fingerprints_version
    assert any("10.10.34.36" in e.text for e in v.evidence)


def test_unknown_test_is_insufficient_and_registry_dispatches() -> None:
    msm = {"test_name": "cs_selftest_x", "test_keys": {}, "probe_cc": "IT", "probe_asn": "AS1",
           "report_id": "r", "input": None}
    v = analyze_measurement(msm, uid="u1")
    assert (v.outcome, v.rule_id) == ("insufficient", "registry.no_scorer")

    @register("cs_selftest_x")
    def _scorer(subject: Subject, ctx: AnalysisContext) -> Verdict:
        return subject.verdict("blocked", rule_id="selftest", layer="tcp",
                               mechanism="tcp.reset", evidence=[unstructured("seen")],
                               rules_version="selftest-1")

    try:
        v = analyze_measurement(msm, uid="u1")
        assert (v.outcome, v.blocking, v.anomaly, v.rule_id) == ("blocked", "tcp_ip", True,
                                                                 "selftest")
        assert scorer_for("cs_selftest_x") is _scorer
    finally:
        from censorscope.pipeline.analyze import registry

        registry._SCORERS.pop("cs_selftest_x", None)
    assert "web_connectivity" in registered()


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", sorted(PIPELINE.rglob("*.py")),
                         ids=lambda p: str(p.relative_to(PIPELINE)))
def test_pipeline_imports_only_the_model(path: Path) -> None:
    for name in _imports(path):
        if name.startswith("censorscope"):
            assert name.startswith(("censorscope.model", "censorscope.pipeline")), name
