"""What the analysis says about one measurement: the verdict vocabulary of the brief.

A :class:`Verdict` names the outcome, the layer of the first interference, the mechanism (a
stable taxonomy), the rule that decided and the rules version, the fingerprints that confirmed
it, and evidence a person can check (:class:`~censorscope.model.evidence.Evidence`: a
sentence rendered from the structured facts it states). OONI's ``blocking`` and the MAT flags
(``anomaly``/``confirmed``/``failure``) are derived from it for compatibility.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from .evidence import Evidence

Outcome = Literal["ok", "blocked", "down", "impaired", "insufficient"]
Layer = Literal["dns", "tcp", "tls", "http", "throttling"]

OUTCOMES: Final = ("ok", "blocked", "down", "impaired", "insufficient")
LAYERS: Final = ("dns", "tcp", "tls", "http", "throttling")

# The mechanism taxonomy (brief, "Verdict vocabulary"); rules may only emit these.
MECHANISMS: Final = frozenset(
    {
        "dns.nxdomain", "dns.refused", "dns.servfail", "dns.timeout", "dns.no_answer",
        "dns.injection.bogon", "dns.injection.blockpage", "dns.injection.other",
        "tcp.timeout", "tcp.reset", "tcp.refused",
        "tls.timeout.sni", "tls.reset.sni", "tls.eof.sni", "tls.timeout", "tls.reset",
        "tls.eof", "tls.mitm", "tls.cert",
        "http.blockpage", "http.reset", "http.timeout", "http.eof", "http.diff",
        "throttle.sni", "throttle.ip", "ip.unreachable", "shutdown",
    }
)

# OONI's ``blocking`` values (Web Connectivity), plus "tls" which OONI's backend lacks.
OONI_BLOCKING: Final = (False, None, "dns", "tcp_ip", "http-failure", "http-diff", "tls")


@dataclass(frozen=True)
class LayerVerdict:
    """The decision for one layer (DNS, TCP, TLS, HTTP, throttling) of a measurement."""

    layer: Layer
    outcome: Outcome
    mechanism: str | None
    rule_id: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """The analysis of one measurement."""

    measurement_uid: str
    report_id: str
    input: str | None
    test_name: str
    probe_cc: str
    probe_asn: int
    outcome: Outcome
    layer: Layer | None
    mechanism: str | None
    blocking: bool | str | None
    anomaly: bool
    confirmed: bool
    failure: bool
    rule_id: str
    rules_version: str
    fingerprints: tuple[str, ...] = ()
    fingerprints_version: str | None = None
    evidence: tuple[Evidence, ...] = ()
    layers: tuple[LayerVerdict, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")
        if self.layer is not None and self.layer not in LAYERS:
            raise ValueError(f"unknown layer {self.layer!r}")
        if self.mechanism is not None and self.mechanism not in MECHANISMS:
            raise ValueError(f"mechanism {self.mechanism!r} is not in the taxonomy")
        if self.blocking not in OONI_BLOCKING:
            raise ValueError(f"blocking {self.blocking!r} is not an OONI value")

    def to_json(self) -> dict[str, Any]:
        """The JSON object ``censorscope analyze`` prints (one per line)."""
        return {
            "measurement_uid": self.measurement_uid,
            "report_id": self.report_id,
            "input": self.input,
            "test_name": self.test_name,
            "probe_cc": self.probe_cc,
            "probe_asn": self.probe_asn,
            "outcome": self.outcome,
            "layer": self.layer,
            "mechanism": self.mechanism,
            "blocking": self.blocking,
            "anomaly": self.anomaly,
            "confirmed": self.confirmed,
            "failure": self.failure,
            "rule_id": self.rule_id,
            "rules_version": self.rules_version,
            "fingerprints": list(self.fingerprints),
            "fingerprints_version": self.fingerprints_version,
            "evidence": [e.text for e in self.evidence],
            "evidence_data": [e.to_json() for e in self.evidence],
            "layers": [
                {"layer": lv.layer, "outcome": lv.outcome, "mechanism": lv.mechanism,
                 "rule_id": lv.rule_id, "evidence": [e.text for e in lv.evidence],
                 "evidence_data": [e.to_json() for e in lv.evidence]}
                for lv in self.layers
            ],
        }
