"""The ``dns_consistency`` scorer on measurements the probe made in the lab, and its claims.

``data/dns_consistency/lab-<phase>.jsonl`` are the probe's own output in scenario
``dns-consistency`` (``probe run --experiment dns_consistency -i https://www.example.org/``
from acme's probe, one file per phase, ``drop`` included); ``am-ucom``/``am-mts`` come from
``am-2022-tiktok`` phase ``blocked`` and ``az-delta`` from ``az-2022-tiktok`` phase
``blocked-all`` (``-i www.tiktok.com``; ``tests/e2e/test_dns_consistency_lab.py`` runs the
same). The scorer
must give each its verdict from the raw measurement and from the rows alone (``reprocess``),
every statement must check true, and a changed fact must be reported false. Edited copies
check the other rules: no TLS check, no control, a failing system resolver, a name that does
not exist, a match by AS only, a forged bogon, and OONI's legacy test of the same name.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from censorscope.model.evidence import Evidence
from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.analyzer import score
from censorscope.pipeline.analyze.context import AnalysisContext
from censorscope.pipeline.evidence import CLAIMS, Facts, check_verdict, render
from censorscope.pipeline.observe import measurement_row, observe
from censorscope.pipeline.scorers.claims import NEEDS_RAW
from tests.pipeline.analyze.msmkit import LAB

DATA = Path(__file__).with_name("data") / "dns_consistency"
SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "data" / "ooni-samples"

EXPECTED = {  # file -> (outcome, layer, mechanism, rule_id)
    "lab-open": ("ok", None, None, "dnsc.consistent"),
    "lab-lie": ("blocked", "dns", "dns.injection.other", "dnsc.lie"),
    "lab-nxdomain": ("blocked", "dns", "dns.nxdomain", "dnsc.nxdomain"),
    "lab-bogon": ("blocked", "dns", "dns.injection.bogon", "dnsc.bogon"),
    "lab-inject": ("blocked", "dns", "dns.injection.other", "dnsc.injected"),
    "lab-cdn": ("ok", None, None, "dnsc.cdn_valid_cert"),
    "lab-drop": ("blocked", "dns", "dns.timeout", "dnsc.system_failed"),
    "am-ucom": ("blocked", "dns", "dns.nxdomain", "dnsc.nxdomain"),
    "am-mts": ("blocked", "dns", "dns.injection.other", "dnsc.lie"),
    "az-delta": ("ok", None, None, "dnsc.consistent"),
}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((DATA / f"{name}.jsonl").read_bytes())
    return data


def scored(msm: dict[str, Any], *, raw: bool = True) -> tuple[Verdict, Facts]:
    meta, rows = measurement_row(msm, "uid-1"), observe(msm, "uid-1")
    ctx = AnalysisContext.create(public_ranges=LAB)
    verdict = score(meta, rows, ctx, msm if raw else None)
    return verdict, Facts(meta, rows, msm if raw else None)


def items(v: Verdict) -> list[Evidence]:
    return list(v.evidence) + [e for lv in v.layers for e in lv.evidence]


def decision(v: Verdict) -> tuple[Any, ...]:
    return v.outcome, v.layer, v.mechanism, v.rule_id


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_lab_measurements(name: str) -> None:
    msm = load(name)
    for raw in (True, False):
        v, facts = scored(msm, raw=raw)
        assert decision(v) == EXPECTED[name], (raw, v.evidence)
        assert v.rules_version == "cs-dnsc-1"
        assert check_verdict(v, facts) == []
        claims = [e.claim for e in items(v)]
        assert all(c.startswith(("dnsc.", "rows.")) for c in claims), claims
        assert ("dnsc.whoami" in claims) is raw  # the raw whoami keys, only when at hand
    assert v.blocking == ("dns" if v.outcome == "blocked" else False)


def test_the_verdict_agrees_with_the_probes_own_classes() -> None:
    """The probe classified each resolver with the same function the scorer uses."""
    for name in EXPECTED:
        tk = load(name)["test_keys"]
        labels = {r["classification"] for r in tk["resolvers"]}
        rule = EXPECTED[name][3].removeprefix("dnsc.")
        label = "timeout" if rule == "system_failed" else rule
        assert label in labels, (name, labels)


def test_evidence_names_the_deciding_resolver_first() -> None:
    v, _ = scored(load("am-mts"))
    assert v.evidence[0].text == (
        "the system resolver answered 198.19.17.228: none is an answer of the control "
        "(198.19.20.40, 198.19.20.41) or in its AS, and none completed a TLS handshake with a "
        "valid certificate for www.tiktok.com")
    assert v.evidence[1].text == ("TLS handshake with www.tiktok.com (198.19.17.228:443) "
                                  "failed: generic_timeout_error")
    assert v.evidence[-1].text == ("the system resolver's queries reach the name servers from "
                                   "198.18.2.130 (AS43733): the resolver it really uses")
    v, _ = scored(load("lab-inject"))
    assert v.evidence[0].text == ("udp 198.19.8.8:53 got 2 different replies to one A query: "
                                  "198.19.17.228, 198.19.1.10")
    v, _ = scored(load("lab-cdn"))
    assert [e.text for e in v.evidence[:2]] == [
        "the system resolver answered 198.19.99.10",
        "198.19.99.10 from the system resolver completed a TLS handshake with a valid "
        "certificate for www.example.org"]


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 7
    if isinstance(value, list):
        return [*value, "198.51.100.99"] if value else ["198.51.100.99"]
    return f"{value}x" if value else "x"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_changed_fact_is_reported(name: str) -> None:
    v, facts = scored(load(name))
    for ev in items(v):
        for key, value in ev.facts.items():
            changed = {**ev.facts, key: _changed(value)}
            try:
                text = render(CLAIMS[ev.claim].template, changed)
            except (KeyError, ValueError):
                continue
            bad = Evidence(ev.claim, text, changed, ev.source, ev.context_uids,
                           ev.context_count)
            assert check_verdict(v.__class__(**{**v.__dict__, "evidence": (bad,),
                                                "layers": ()}), facts), (ev.claim, key)


# --- edited measurements: the other rules -------------------------------------------------

def _edited(name: str, edit: Any) -> dict[str, Any]:
    msm = copy.deepcopy(load(name))
    edit(msm["test_keys"])
    return msm


def _no_tls(tk: dict[str, Any]) -> None:
    tk["tcp_connect"], tk["tls_handshakes"] = [], []


def _no_control(tk: dict[str, Any]) -> None:
    tk["control"], tk["control_failure"] = None, "generic_timeout_error"


def _no_reference(tk: dict[str, Any]) -> None:
    _no_control(tk)
    tk["queries"] = [q for q in tk["queries"] if q["engine"] != "doh"]


def _system_timeout(tk: dict[str, Any]) -> None:
    for q in tk["queries"]:
        if q["engine"] == "getaddrinfo":
            q.update(answers=None, failure="generic_timeout_error")


def _name_missing(tk: dict[str, Any]) -> None:
    tk["control"]["dns"] = {"failure": "dns_name_error", "addrs": []}


def _same_asn(tk: dict[str, Any]) -> None:
    """The CDN node annotated in the control's AS, its handshake gone: consistent by AS."""
    _no_tls(tk)
    for q in tk["queries"]:
        for a in q.get("answers") or []:
            if a.get("ipv4") == "198.19.99.10":
                a["asn"] = 15133


def _forged_bogon(tk: dict[str, Any]) -> None:
    for q in tk["queries"]:
        for a in q.get("answers") or []:
            if a.get("ipv4") == "198.19.17.228":
                a["ipv4"] = "10.1.2.3"


@pytest.mark.parametrize(("name", "edit", "expected"), [
    ("lab-lie", _no_tls, ("insufficient", "dns", None, "dnsc.unverified")),
    ("lab-lie", _no_control, ("blocked", "dns", "dns.injection.other", "dnsc.lie")),
    ("lab-lie", _no_reference, ("insufficient", None, None, "dnsc.no_reference")),
    ("lab-open", _system_timeout, ("blocked", "dns", "dns.timeout", "dnsc.system_failed")),
    ("lab-nxdomain", _name_missing, ("down", "dns", None, "dnsc.name_missing")),
    ("lab-cdn", _same_asn, ("ok", None, None, "dnsc.consistent")),
    ("lab-inject", _forged_bogon, ("blocked", "dns", "dns.injection.bogon",
                                   "dnsc.injected_bogon")),
])
def test_edited_measurements(name: str, edit: Any, expected: tuple[Any, ...]) -> None:
    msm = _edited(name, edit)
    for raw in (True, False):
        v, facts = scored(msm, raw=raw)
        assert decision(v) == expected, (raw, [e.text for e in v.evidence])
        assert check_verdict(v, facts) == []


def test_without_control_doh_is_the_reference() -> None:
    v, _ = scored(_edited("lab-lie", _no_control))
    assert "of doh https://dns.google/dns-query (198.19.1.10)" in v.evidence[0].text


def test_match_by_as_says_which_address_and_as() -> None:
    v, facts = scored(_edited("lab-cdn", _same_asn))
    [same] = [e for e in v.evidence if e.claim == "dnsc.same_asn"][:1]
    assert same.text == ("198.19.99.10 from the system resolver is in AS15133, as is "
                         "198.19.1.10, which the control returned")
    other = Evidence(same.claim, same.text, {**same.facts, "asn": 20940}, same.source)
    other = Evidence(same.claim, render(CLAIMS[same.claim].template, other.facts),
                     other.facts, same.source)
    assert check_verdict(v.__class__(**{**v.__dict__, "evidence": (other,), "layers": ()}),
                         facts)


def test_legacy_ooni_dns_consistency_is_unsupported() -> None:
    """OONI's 2017 test of the same name records no resolver engine: the fallback's verdict,
    under this family's version."""
    msm = orjson.loads((SAMPLES / "fastpath" / "yaml17_0.json").read_bytes())
    v, facts = scored(msm)
    assert (v.outcome, v.rule_id, v.rules_version) == ("insufficient", "test.unsupported",
                                                       "cs-dnsc-1")
    assert check_verdict(v, facts) == []


def test_whoami_claim_needs_the_raw_measurement() -> None:
    v, facts = scored(load("am-ucom"))
    [who] = [e for e in v.evidence if e.claim == "dnsc.whoami"]
    assert who.facts == {"address": "198.18.1.130", "asn": 44395}
    rows_only = Facts(facts.meta, facts.observations, None)
    assert check_verdict(v.__class__(**{**v.__dict__, "evidence": (who,), "layers": ()}),
                         rows_only) == [f"dnsc.whoami: {NEEDS_RAW}: {who.text}"]
