"""The ``service`` scorer on real measurements of loopback endpoints (no root needed).

Each case is measured by the real measurer, observed, and scored with the raw measurement and
from the rows alone (as ``reprocess`` does): the verdicts are the same, every evidence item is
a registered claim whose checker finds it true, and tampering with any fact is reported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from censorscope.model.evidence import Evidence
from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.analyzer import score
from censorscope.pipeline.analyze.context import AnalysisContext
from censorscope.pipeline.evidence import CLAIMS, Facts, check_verdict, say
from censorscope.pipeline.observe import measurement_row, observe
from censorscope.pipeline.scorers.service import endpoint_groups
from tests.experiments.service.servicekit import (
    NOT_FOUND,
    OK,
    answer,
    closed_port,
    measurement,
)
from tests.net.loopback import (
    PKI,
    TCPServer,
    http_handler,
    make_pki,
    server_context,
    silent_after_first_read,
    tls_handler,
)


def _scored(msm: dict[str, Any], *, raw: bool) -> tuple[Verdict, Facts]:
    meta, rows = measurement_row(msm, "uid-1"), observe(msm, "uid-1")
    ctx = AnalysisContext()
    ctx.learn(meta, rows)
    return score(meta, rows, ctx, msm if raw else None), Facts(meta, rows, msm if raw else None)


def _items(v: Verdict) -> list[Evidence]:
    return list(v.evidence) + [e for lv in v.layers for e in lv.evidence]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


def _available(tmp: Path, pki: PKI) -> dict[str, Any]:
    with TCPServer(tls_handler(server_context(pki.good, ["http/1.1"]), answer(NOT_FOUND))) as s, \
            TCPServer(http_handler(OK)) as plain:
        return measurement(tmp, [f"tiktok,localhost,{s.port},https,/", f"tiktok,localhost,"
                                 f"{plain.port},http,/", f"tiktok,localhost,{s.port},tcp,"],
                           ca_file=pki.ca_file)


def _restricted_sni(tmp: Path, pki: PKI) -> dict[str, Any]:
    # 127.0.0.1 completes a handshake (IP-literal name) while "localhost" times out there
    with TCPServer(tls_handler(server_context(pki.good, ["http/1.1"]), answer(OK))) as s, \
            TCPServer(silent_after_first_read) as drop:
        return measurement(tmp, [f"tiktok,127.0.0.1,{s.port},https,/",
                                 f"tiktok,localhost,{drop.port},https,/a",
                                 f"tiktok,localhost,{drop.port},https,/b"], ca_file=pki.ca_file)


def _unavailable(tmp: Path, pki: PKI) -> dict[str, Any]:
    with TCPServer(silent_after_first_read) as drop:
        return measurement(tmp, [f"tiktok,localhost,{drop.port},https,/",
                                 "tiktok,no-such-name.invalid,443,https,/",
                                 f"tiktok,localhost,{drop.port},tls,",
                                 f"tiktok,localhost,{closed_port()},tcp,"], ca_file=pki.ca_file)


def _refused(tmp: Path, pki: PKI) -> dict[str, Any]:
    return measurement(tmp, [f"tiktok,localhost,{closed_port()},https,/",
                             f"tiktok,localhost,{closed_port()},tls,"], ca_file=pki.ca_file)


CASES: list[tuple[str, Callable[[Path, PKI], dict[str, Any]], tuple[Any, ...]]] = [
    ("available", _available, ("ok", None, None, "service.available")),
    ("restricted_sni", _restricted_sni,
     ("blocked", "tls", "tls.timeout.sni", "service.restricted")),
    ("unavailable", _unavailable, ("blocked", "tls", "tls.timeout", "service.unavailable")),
    ("refused", _refused, ("insufficient", "tcp", "tcp.refused", "service.failed_other")),
]


@pytest.fixture(scope="module")
def measured(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return {name: build(tmp_path_factory.mktemp(name), pki) for name, build, _ in CASES}


@pytest.mark.parametrize(("name", "expected"), [(c[0], c[2]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_verdicts_with_true_evidence(name: str, expected: tuple[Any, ...],
                                     measured: dict[str, dict[str, Any]]) -> None:
    msm = measured[name]
    v, facts = _scored(msm, raw=True)
    assert (v.outcome, v.layer, v.mechanism, v.rule_id) == expected
    assert v.rules_version == "cs-service-1"
    assert check_verdict(v, facts) == []
    for ev in _items(v):
        assert ev.claim in CLAIMS and ev.claim.startswith(("service.", "rows.")), ev
    # from the stored rows alone (reprocess): the same verdict, still true
    v_rows, facts_rows = _scored(msm, raw=False)
    assert v_rows.to_json() == v.to_json()
    assert check_verdict(v_rows, facts_rows) == []
    # the rows' endpoints are the probe's, and so is the status
    tk = msm["test_keys"]
    groups = endpoint_groups(facts.observations)
    assert [g.reached for g in groups] == [e["status"] == "ok" for e in tk["endpoints"]]
    summary = next(e for e in v.evidence if e.claim == "service.summary")
    assert summary.facts["failing"] == tk["endpoints_failing"]
    assert summary.facts["total"] == tk["endpoints_total"]


def test_every_failing_endpoint_is_named_with_its_step_and_failure(
        measured: dict[str, dict[str, Any]]) -> None:
    msm = measured["unavailable"]
    v, _ = _scored(msm, raw=True)
    texts = [e.text for e in v.evidence]
    assert texts[0] == "4 of 4 endpoints of tiktok failed (100.0%)"
    failing = [e for e in msm["test_keys"]["endpoints"] if e["status"] == "failed"]
    stated = [e for e in v.evidence if e.claim.startswith("rows.")]
    assert [e.claim for e in stated] == ["rows.tls_failed", "rows.dns_failed", "rows.tls_failed",
                                       "rows.tcp_failed"]
    assert [e.facts["failure"] for e in stated] == [e["failure"] for e in failing]
    assert stated[1].facts["hostname"] == "no-such-name.invalid"
    sni = _scored(measured["restricted_sni"], raw=True)[0]
    [proof, *_] = [e for e in sni.evidence if e.claim == "service.sni_same_ip"]
    assert proof.facts["server_name"] == "localhost"
    assert proof.facts["other_server_name"] == "127.0.0.1"
    assert sni.evidence[0].text == "2 of 3 endpoints of tiktok failed (66.7%)"
    assert sni.evidence[1].text == "reached: 127.0.0.1"


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_every_tampered_fact_is_reported(name: str, measured: dict[str, dict[str, Any]]) -> None:
    v, facts = _scored(measured[name], raw=False)
    for ev in _items(v):
        for key, value in ev.facts.items():
            wrong: Any = value + 100_000 if isinstance(value, int | float) and not isinstance(
                value, bool) else [*value, "x"] if isinstance(value, list) else f"{value}x"
            forged = say(ev.claim, source=ev.source, **{**ev.facts, key: wrong})
            items = [forged if e is ev else e for e in v.evidence]
            problems = check_verdict(dataclasses.replace(v, evidence=tuple(items), layers=()),
                                     facts)
            assert problems and all(p.startswith(ev.claim) for p in problems), (ev.claim, key)


def test_no_rows_is_no_data() -> None:
    msm = {"test_name": "service", "test_version": "0.1.0", "input": "tiktok",
           "measurement_start_time": "2022-09-15 12:00:00", "probe_asn": "AS29049",
           "probe_cc": "AZ", "report_id": "r", "test_keys": {"service": "tiktok"}}
    v, facts = _scored(msm, raw=True)
    assert (v.outcome, v.rule_id) == ("insufficient", "test.no_data")
    assert check_verdict(v, facts) == []
