"""Entry points: score one measurement, a batch (facts across it first), or stored rows.

- :func:`score` — rows (+ raw dict when at hand) → :class:`Verdict`, dispatching by test name
  through the registry; a test without a scorer gets ``insufficient`` (``registry.no_scorer``);
- :func:`analyze_measurement` — a measurement dict → verdict;
- :func:`analyze_batch` — dicts → verdicts, learning TLS facts from the whole batch first (so a
  handshake that worked in one measurement informs another);
- :func:`to_verdict_row` and :func:`ingest_analyzer` — the store's row and the hook for
  ``censorscope.ingest.ingest(…, analyze=…)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson

from censorscope.model.verdict import Verdict
from censorscope.pipeline.evidence import say
from censorscope.pipeline.observe import (
    MeasurementRow,
    ObservationRow,
    VerdictRow,
    measurement_row,
    observe,
)

from . import claims as _claims  # noqa: F401  (registers the Web Connectivity claims)
from .context import AnalysisContext
from .registry import scorer_for
from .subject import Subject

__all__ = ["analyze_batch", "analyze_measurement", "ingest_analyzer", "score",
           "stored_version", "to_verdict_row"]


def score(meta: MeasurementRow, observations: Sequence[ObservationRow], ctx: AnalysisContext,
          raw: dict[str, Any] | None = None) -> Verdict:
    """The verdict on one measurement (``ctx`` should already have learnt from it)."""
    subject = Subject(meta, observations, raw)
    scorer = scorer_for(meta.test_name)
    if scorer is None:
        return subject.verdict("insufficient", rule_id="registry.no_scorer", evidence=[
            say("registry.no_scorer", source="rules", test_name=meta.test_name)],
            fingerprints_version=ctx.fingerprints_version)
    return scorer(subject, ctx)


def _rows(msm: dict[str, Any], uid: str | None) -> tuple[MeasurementRow, list[ObservationRow]]:
    if uid is None:
        uid = str(msm.get("measurement_uid") or msm.get("id") or msm.get("report_id") or "")
    return measurement_row(msm, uid), observe(msm, uid)


def analyze_measurement(msm: dict[str, Any], ctx: AnalysisContext | None = None, *,
                        uid: str | None = None) -> Verdict:
    """The verdict on the measurement dict ``msm`` (``uid`` defaults to its
    ``measurement_uid``)."""
    ctx = ctx if ctx is not None else AnalysisContext()
    meta, observations = _rows(msm, uid)
    ctx.learn(meta, observations)
    return score(meta, observations, ctx, msm)


def analyze_batch(measurements: Iterable[tuple[dict[str, Any], str | None]],
                  ctx: AnalysisContext | None = None) -> list[Verdict]:
    """Verdicts for ``(measurement, uid)`` pairs, after learning from all of them."""
    ctx = ctx if ctx is not None else AnalysisContext()
    prepared = []
    for msm, uid in measurements:
        meta, observations = _rows(msm, uid)
        ctx.learn(meta, observations)
        prepared.append((msm, meta, observations))
    return [score(meta, obs, ctx, msm) for msm, meta, obs in prepared]


def stored_version(v: Verdict) -> str:
    """The version a stored verdict is keyed by: the rules version, plus the fingerprints
    version when fingerprints were used (new rules or new fingerprints → a new row)."""
    fp = v.fingerprints_version
    return f"{v.rules_version}+fp.{fp[:12]}" if fp else v.rules_version


def to_verdict_row(v: Verdict) -> VerdictRow:
    """The store's row for ``v`` (``blocking`` as OONI's text value; ``rules_version`` as
    :func:`stored_version`; ``evidence_data`` the JSON text of the evidence items as data)."""
    blocking = v.blocking
    text = None if blocking is None else ("false" if blocking is False else str(blocking))
    return VerdictRow(
        measurement_uid=v.measurement_uid, rules_version=stored_version(v), outcome=v.outcome,
        layer=v.layer, mechanism=v.mechanism, blocking=text, anomaly=v.anomaly,
        confirmed=v.confirmed, failure=v.failure, rule_id=v.rule_id,
        fingerprints=list(v.fingerprints), evidence=[e.text for e in v.evidence],
        evidence_data=orjson.dumps([e.to_json() for e in v.evidence]).decode())


def ingest_analyzer(ctx: AnalysisContext | None = None
                    ) -> Callable[[dict[str, Any], MeasurementRow, list[ObservationRow]],
                                  VerdictRow | None]:
    """An ``Analyzer`` for ``ingest``: facts accumulate in ``ctx`` as measurements stream in
    (``reprocess`` re-scores later with everything learnt)."""
    context = ctx if ctx is not None else AnalysisContext()

    def analyze(msm: dict[str, Any], meta: MeasurementRow,
                observations: list[ObservationRow]) -> VerdictRow | None:
        context.learn(meta, observations)
        return to_verdict_row(score(meta, observations, context, msm))

    return analyze
