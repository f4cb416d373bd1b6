"""Every evidence statement is true: ``check_verdict`` finds no false statement in the
verdicts of the real OONI samples (every test; the report groups by test name), the lab corpus
(alone and in one batch), the synthetic QA-like set and every rule case; and the checker does
catch a false statement (every fact of every claim, tampered, is reported).
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

import pytest

from censorscope.model.evidence import Evidence
from censorscope.pipeline.analyze import AnalysisContext, analyze_batch, score
from censorscope.pipeline.analyze.claims import WC_CLAIMS
from censorscope.pipeline.evidence import CLAIMS, Facts, check_verdict, render
from censorscope.pipeline.observe import measurement_row, observe
from tests.pipeline.analyze.labmix import (
    Batch,
    facts_of_batch,
    lab_corpus,
    problems,
    samples,
    synthetic_qa,
    uid_of,
)
from tests.pipeline.analyze.msmkit import LAB
from tests.pipeline.analyze.test_analyze_rules import CASES


def lab_ctx() -> AnalysisContext:
    return AnalysisContext.create(public_ranges=LAB)


def _report(found: list[str]) -> str:
    by_test = collections.Counter(p.split(" ", 1)[0] for p in found)
    return f"{len(found)} false statements {dict(by_test)}:\n" + "\n".join(found[:40])


def test_every_sample_statement_is_true() -> None:
    """All the samples (web_connectivity and every other test) in one batch."""
    batch = samples()
    found = problems(batch, analyze_batch(batch, AnalysisContext.create()))
    assert not found, _report(found)


def test_every_sample_statement_is_true_from_stored_rows() -> None:
    """``reprocess`` has no raw measurement: the verdict from rows must be just as true,
    checked against the rows alone."""
    batch = [(m, uid) for m, uid in samples() if m.get("test_name") == "web_connectivity"]
    rows = facts_of_batch(batch)
    ctx = AnalysisContext.create()
    for meta, obs in rows.values():
        ctx.learn(meta, obs)
    found: list[str] = []
    for meta, obs in rows.values():
        v = score(meta, obs, ctx)
        found += check_verdict(v, Facts(meta, obs, None, rows.get))
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", ["synthetic", "lab"])
def test_lab_statements_are_true_alone_and_in_batch(name: str) -> None:
    corpus = synthetic_qa() if name == "synthetic" else lab_corpus()
    if not corpus:
        pytest.skip("the lab corpus (tests/golden/measurements) is not committed yet")
    batch: Batch = [(m, f"{name}-{case}") for case, m in corpus.items()]
    found = problems(batch, analyze_batch(batch, lab_ctx()))
    for item in batch:
        found += problems([item], analyze_batch([item], lab_ctx()))
    assert not found, _report(found)


def test_rule_case_statements_are_true() -> None:
    found: list[str] = []
    for rule_id, (build, *_rest) in sorted(CASES.items()):
        item: Batch = [(build().build(), None)]
        found += [f"{rule_id}: {p}" for p in problems(item, analyze_batch(
            item, AnalysisContext.create()))]
    assert not found, "\n".join(found)


def test_every_wc_claim_is_registered_with_a_template_and_checker() -> None:
    assert len(WC_CLAIMS) == len(set(WC_CLAIMS)) >= 40
    for claim_id in WC_CLAIMS:
        assert CLAIMS[claim_id].template and callable(CLAIMS[claim_id].check)


# --- the checker catches false statements ------------------------------------------------------
def _verdicts_with_facts() -> list[tuple[Evidence, Facts]]:
    """Every evidence item of the rule cases and of the synthetic set (in one batch), with
    the facts to check it against."""
    out: list[tuple[Evidence, Facts]] = []
    batches: list[tuple[Batch, AnalysisContext]] = [
        ([(build().build(), None)], AnalysisContext.create()) for build, *_ in CASES.values()]
    batches.append(([(m, f"syn-{c}") for c, m in synthetic_qa().items()], lab_ctx()))
    for batch, ctx in batches:
        rows = facts_of_batch(batch)
        for (msm, uid), v in zip(batch, analyze_batch(batch, ctx), strict=True):
            meta, obs = rows[uid_of(msm, uid)]
            facts = Facts(meta, obs, msm, rows.get)
            for ev in list(v.evidence) + [e for lv in v.layers for e in lv.evidence]:
                out.append((ev, facts))
    return out


ITEMS = _verdicts_with_facts()


def _tampered(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 7
    if isinstance(value, float):
        return round(value + 3.3, 1)
    if isinstance(value, str):
        return "93.184.216.250" if value.count(".") == 3 else value + "x"
    if isinstance(value, list | tuple):
        return [_tampered(value[0]), *value[1:]] if value else ["93.184.216.250"]
    return "tampered"


def _recheck(ev: Evidence, facts: Facts, **changes: Any) -> list[str]:
    new_facts = {**ev.facts, **changes}
    text = render(CLAIMS[ev.claim].template, new_facts)
    bad = dataclasses.replace(ev, facts=new_facts, text=text)
    from censorscope.model.verdict import Verdict

    v = Verdict(measurement_uid=facts.meta.measurement_uid, report_id="", input=None,
                test_name="web_connectivity", probe_cc="", probe_asn=facts.meta.probe_asn,
                outcome="insufficient", layer=None, mechanism=None, blocking=None,
                anomaly=False, confirmed=False, failure=True, rule_id="x", rules_version="x",
                evidence=(bad,))
    return check_verdict(v, facts)


def test_the_items_are_true_before_tampering() -> None:
    assert ITEMS
    claims = {ev.claim for ev, _ in ITEMS}
    assert len(claims) >= 30, sorted(set(WC_CLAIMS) - claims)
    for ev, facts in ITEMS:
        assert _recheck(ev, facts) == [], ev


def test_every_tampered_fact_is_reported() -> None:
    """Change any one fact of any statement (and re-render the sentence, so only the facts
    lie): the checker reports it."""
    missed: list[str] = []
    seen: set[tuple[str, str]] = set()
    for ev, facts in ITEMS:
        for key, value in ev.facts.items():
            if (ev.claim, key) in seen:
                continue
            seen.add((ev.claim, key))
            if not _recheck(ev, facts, **{key: _tampered(value)}):
                missed.append(f"{ev.claim}.{key} = {value!r}")
    assert not missed, missed


def test_a_sentence_that_is_not_its_facts_is_reported() -> None:
    ev, facts = next((e, f) for e, f in ITEMS if e.claim == "tcp.connect_failed")
    bad = dataclasses.replace(ev, text=ev.text.replace("failed", "succeeded"))
    from censorscope.model.verdict import Verdict

    v = Verdict(measurement_uid="u", report_id="", input=None, test_name="web_connectivity",
                probe_cc="", probe_asn=facts.meta.probe_asn, outcome="insufficient",
                layer=None, mechanism=None, blocking=None, anomaly=False, confirmed=False,
                failure=True, rule_id="x", rules_version="x", evidence=(bad,))
    assert any("not the rendering" in p for p in check_verdict(v, facts))


def test_context_from_another_network_or_unknown_uid_is_reported() -> None:
    ev, facts = next((e, f) for e, f in ITEMS if e.source == "context")
    assert facts.lookup is not None
    other_uid = "syn-websiteDownNXDOMAIN"  # shows no handshake and no control answer
    assert _recheck(dataclasses.replace(ev, context_uids=("nope",)), facts)
    meta, obs = facts.lookup(other_uid)  # type: ignore[misc]
    elsewhere = meta._replace(probe_asn=meta.probe_asn + 1)

    def lookup(uid: str) -> Any:
        return (elsewhere, obs) if uid == other_uid else facts.lookup(uid)  # type: ignore[misc]

    moved = dataclasses.replace(facts, lookup=lookup)
    assert any("from AS" in p for p in _recheck(
        dataclasses.replace(ev, context_uids=(other_uid,)), moved))
    # a cited measurement of the same network that does not show the fact
    assert _recheck(dataclasses.replace(ev, context_uids=(other_uid,)), facts)


def test_observations_alone_cannot_vouch_for_absent_network_events() -> None:
    """A handshake without recorded network events cannot be said to have failed before or
    after the ClientHello: both statements are reported false."""
    from tests.pipeline.analyze.msmkit import Msm

    m = (Msm("https://www.example.com/").dns("www.example.com", ["93.184.216.34"])
         .connect("93.184.216.34", 443, sni="www.example.com", tls_failure="connection_reset")
         .build())
    m["test_keys"]["network_events"] = None
    meta, obs = measurement_row(m, "m1"), observe(m, "m1")
    facts = Facts(meta, obs, m)
    row = next(r for r in obs if r.tls_failure)
    assert row.tls_handshake_write_count is None
    base = {"ip": row.ip, "port": row.port, "endpoint": f"{row.ip}:{row.port}",
            "server_name": "www.example.com", "failure": "connection_reset",
            "verb": "was reset"}
    for claim_id, extra in (("tls.failed_before_hello", {}),
                            ("tls.failed_after_hello_untimed", {"write_bytes": 517})):
        facts_ = {**base, **extra}
        ev = Evidence(claim_id, render(CLAIMS[claim_id].template, facts_), facts_)
        assert _recheck(ev, facts), claim_id
    ok = Evidence("tls.failed", render(CLAIMS["tls.failed"].template, base), base)
    assert _recheck(ok, facts) == []
