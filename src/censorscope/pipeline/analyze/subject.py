"""What a scorer gets (:class:`Subject`) and how it builds the :class:`Verdict` it returns.

OONI's ``blocking`` value and the MAT flags are derived here, in one place, from the outcome,
layer and mechanism (brief, "Verdict vocabulary"): scorers never set them by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from censorscope.model.evidence import Evidence
from censorscope.model.rows import MeasurementRow, ObservationRow
from censorscope.model.verdict import Layer, LayerVerdict, Outcome, Verdict
from censorscope.pipeline.rules import family_of

__all__ = ["Subject", "mat_flags", "ooni_blocking"]


def ooni_blocking(outcome: Outcome, layer: Layer | None, mechanism: str | None
                  ) -> bool | str | None:
    """OONI's Web Connectivity ``blocking`` for a verdict (``"tls"`` where OONI says
    ``"http-failure"`` for a TLS failure)."""
    if outcome == "insufficient":
        return None
    if outcome in ("ok", "down"):
        return False
    if layer == "dns":
        return "dns"
    if layer == "tcp":
        return "tcp_ip"
    if layer == "tls":
        return "tls"
    if mechanism in ("http.diff", "http.blockpage"):
        return "http-diff"
    if layer in ("http", "throttling"):
        return "http-failure"
    return None


def mat_flags(outcome: Outcome, confirmed_by: Sequence[str]) -> tuple[bool, bool, bool]:
    """(anomaly, confirmed, failure) as MAT counts them."""
    anomaly = outcome in ("blocked", "impaired")
    confirmed = outcome == "blocked" and bool(confirmed_by)
    return anomaly, confirmed, outcome == "insufficient"


@dataclass(frozen=True)
class Subject:
    """One measurement to score: its metadata row, observation rows, and the raw dict when
    it is at hand (None when re-scoring stored rows)."""

    meta: MeasurementRow
    observations: Sequence[ObservationRow]
    raw: dict[str, Any] | None = None

    def verdict(
        self,
        outcome: Outcome,
        *,
        rule_id: str,
        layer: Layer | None = None,
        mechanism: str | None = None,
        evidence: Sequence[Evidence] = (),
        layers: Sequence[LayerVerdict] = (),
        fingerprints: Sequence[str] = (),
        fingerprints_version: str | None = None,
        rules_version: str | None = None,
        confirmed: bool | None = None,
    ) -> Verdict:
        """A :class:`Verdict` about this measurement; ``blocking`` and the MAT flags follow
        from ``outcome``/``layer``/``mechanism``; ``confirmed`` defaults to "a fingerprint
        matched" (pass False for matches that do not confirm in this country).
        ``rules_version`` defaults to the version of the family declaring ``rule_id``
        (``pipeline.rules``; KeyError for a rule id no family declares)."""
        if rules_version is None:
            rules_version = family_of(rule_id).version
        anomaly, confirmed_by_fp, failure = mat_flags(outcome, fingerprints)
        confirmed = confirmed_by_fp if confirmed is None else (confirmed and confirmed_by_fp)
        meta = self.meta
        return Verdict(
            measurement_uid=meta.measurement_uid, report_id=meta.report_id, input=meta.input,
            test_name=meta.test_name, probe_cc=meta.probe_cc, probe_asn=meta.probe_asn,
            outcome=outcome, layer=layer, mechanism=mechanism,
            blocking=ooni_blocking(outcome, layer, mechanism),
            anomaly=anomaly, confirmed=confirmed, failure=failure,
            rule_id=rule_id, rules_version=rules_version,
            fingerprints=tuple(fingerprints), fingerprints_version=fingerprints_version,
            evidence=tuple(evidence),
            layers=tuple(layers),
        )
