"""The facts of a report as plain data: what :mod:`.gather` reads from the store, what the
Markdown and HTML renderers write, and what ``report.json`` holds (``ReportFacts.to_json``).

Every figure here is a stored value or a count of stored rows; times are naive UTC
datetimes as the store keeps them (ISO-8601 with ``Z`` in JSON).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime, timedelta
from typing import Any

from censorscope.model.detection import iso

from .chartdata import ChartData
from .timeline import Timeline

__all__ = [
    "AffectedNetwork", "Cited", "IncidentFacts", "NetworkCoverage", "NetworkProof",
    "OutageFacts", "ReportFacts", "SniProof", "Statement", "UnaffectedNetwork", "jsonable",
]


@dataclass(frozen=True)
class Cited:
    """A measurement the report cites (the appendix row; ``#m-<uid>`` anchors it)."""

    uid: str
    time: datetime | None
    asn: int
    as_name: str
    test_name: str
    input: str | None
    outcome: str | None
    mechanism: str | None


@dataclass(frozen=True)
class Statement:
    """One evidence statement of a verdict (already checked by ``censorscope verify``)."""

    claim: str
    source: str
    text: str
    context_uids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SniProof:
    """At ``ip`` on network ``asn``, a handshake with ``failed_name`` failed after its
    ClientHello (``failed_uid``) while one with ``completed_name`` completed
    (``completed_uid``), both while the network was blocking."""

    asn: int
    ip: str
    failed_name: str
    failure: str
    failed_writes: int | None
    failed_uid: str
    failed_at: datetime
    completed_name: str
    completed_uid: str
    completed_at: datetime

    @property
    def same_measurement(self) -> bool:
        return self.failed_uid == self.completed_uid


@dataclass(frozen=True)
class NetworkProof:
    """The first blocked measurement of a network: its latest verdict, the verdict's evidence
    statements, an event-timeline excerpt, and the SNI proof when the data shows one."""

    uid: str
    rules_version: str | None
    outcome: str | None
    layer: str | None
    mechanism: str | None
    rule_id: str | None
    statements: tuple[Statement, ...]
    timeline: Timeline | None
    sni: SniProof | None


@dataclass(frozen=True)
class AffectedNetwork:
    """One network of an incident. ``onset`` and ``last_clean_at`` are the stored
    ``measurement_start_time`` of ``first_blocked_uid`` and ``last_clean_uid``;
    ``blocked``/``measured``: the scope's measurements of the network from its onset to its
    offset (or the window's end) that the analysis judged blocked, and all of them."""

    asn: int
    as_name: str
    onset: datetime
    first_blocked_uid: str
    last_clean_at: datetime | None
    last_clean_uid: str | None
    offset: datetime | None
    techniques: tuple[str, ...]
    endpoints: tuple[str, ...]
    confidence: float
    blocked: int
    measured: int
    proof: NetworkProof


@dataclass(frozen=True)
class UnaffectedNetwork:
    """A network measured on the target during the incident without being affected:
    ``measured`` measurements of the scope from the incident's start to its end (or the
    window's end), ``blocked`` of them judged blocked, ``outcomes`` all of them per verdict
    outcome; ``first_uid``/``last_uid`` bound them."""

    asn: int
    as_name: str
    measured: int
    blocked: int
    first_uid: str | None
    last_uid: str | None
    outcomes: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class IncidentFacts:
    """A stored incident with what the store says about each network."""

    id: str
    title: str
    target: str
    scope: str
    start: datetime
    end: datetime | None
    confidence: float
    detector: str
    networks: tuple[AffectedNetwork, ...]
    not_affected: tuple[UnaffectedNetwork, ...]
    evidence: tuple[str, ...]
    cost: dict[str, Any] | None = None
    cost_note: str | None = None


@dataclass(frozen=True)
class OutageFacts:
    """A stored outage (``asn`` None: the whole country)."""

    id: str
    asn: int | None
    as_name: str
    kind: str
    start: datetime
    end: datetime | None
    confidence: float
    detector: str
    facts: dict[str, Any]
    evidence: tuple[str, ...]
    cost: dict[str, Any] | None = None
    cost_note: str | None = None


@dataclass(frozen=True)
class NetworkCoverage:
    """Measurements of one network in the window: of every test and of the report's scope,
    distinct report ids of the scope's measurements (≈ probe runs), first and last, and the
    largest gap between consecutive measurements (of the scope; of any test when it has
    fewer than two)."""

    asn: int
    as_name: str
    measurements: int
    scope_measurements: int
    probe_runs: int
    first: datetime | None
    last: datetime | None
    largest_gap: timedelta | None
    gap_from: datetime | None
    gap_to: datetime | None


@dataclass(frozen=True)
class ReportFacts:
    """Everything a report says (see the module docstring). ``target``: the target named
    (None: every incident of the country); ``since``/``until``: the window asked for (None:
    open); ``first``/``last``: its first and last scored measurement; ``lab_clock``: the lab
    scenario whose clock dated the cited measurements (None: a real clock, or unknown)."""

    country: str
    target: str | None
    since: datetime | None
    until: datetime | None
    first: datetime
    last: datetime
    measurements: int
    scope_measurements: int
    scope: dict[str, list[str]]
    incidents: tuple[IncidentFacts, ...]
    outages: tuple[OutageFacts, ...]
    coverage: tuple[NetworkCoverage, ...]
    rules_versions: tuple[tuple[str, int], ...]
    detectors: tuple[str, ...]
    charts: ChartData
    cited: dict[str, Cited] = field(default_factory=dict)
    lab_clock: str | None = None

    def as_name(self, asn: int) -> str:
        """The network's AS name as the store has it ('' if unknown)."""
        for c in self.coverage:
            if c.asn == asn:
                return c.as_name
        return ""

    def to_json(self) -> dict[str, Any]:
        out = jsonable(self)
        assert isinstance(out, dict)
        return out


def jsonable(value: Any) -> Any:
    """``value`` as JSON values: dataclasses as objects, datetimes ISO with ``Z``, durations
    in seconds, tuples as lists, dict keys that are tuples joined with ``|``."""
    if is_dataclass(value) and not isinstance(value, type):
        out = {f.name: jsonable(getattr(value, f.name)) for f in fields(value)}
        to_json = getattr(value, "to_json", None)
        if callable(to_json) and not isinstance(value, ReportFacts):
            return to_json()
        return out
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {(("|".join(str(k) for k in key)) if isinstance(key, tuple) else
                 (iso(key) if isinstance(key, datetime) else str(key))): jsonable(v)
                for key, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [jsonable(v) for v in items]
    return value
