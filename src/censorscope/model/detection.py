"""Detection as data: the verdict points it reads, and the events it finds.

Detection (``censorscope.pipeline.detect``) reads one :class:`VerdictPoint` per scored
measurement (the store joins ``measurements`` and ``verdicts``) and finds:

- :class:`ChangePoint`: in one series — (country, AS, target, layer) — the moment blocking
  began (``onset``) or ended (``offset``), with the first measurement after the change, the
  last one before it and a confidence;
- :class:`Incident`: change points of one target clustered across networks (and across the
  domains of one service and the techniques), with its scope, the networks and how each is
  affected, the networks measured in the same period without blocking, and evidence links;
- :class:`Outage`: a country's or network's loss of connectivity, told apart by ``kind``.

A *target* is a service (``service:tiktok``: the domains of its endpoint set) or a domain
(``domain:www.example.org``) — :func:`service_target` and :func:`domain_target` spell them.
Everything here is plain data with a ``to_json`` whose shape ``censorscope incidents
--format json`` prints (ISO-8601 UTC times). Ids are derived from content, so detecting
twice over the same verdicts yields the same ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

__all__ = [
    "INCIDENT_SCOPES",
    "OUTAGE_KINDS",
    "ChangeKind",
    "ChangePoint",
    "Incident",
    "IncidentScope",
    "NetworkImpact",
    "Outage",
    "OutageKind",
    "SeriesKey",
    "SniCell",
    "VerdictPoint",
    "domain_target",
    "iso",
    "service_target",
    "stable_id",
]

ChangeKind = Literal["onset", "offset"]
IncidentScope = Literal["one_isp", "several_isps", "national", "server_side"]
OutageKind = Literal["probes_offline", "shutdown", "blocking", "slow"]
INCIDENT_SCOPES: Final = ("one_isp", "several_isps", "national", "server_side")
OUTAGE_KINDS: Final = ("probes_offline", "shutdown", "blocking", "slow")


def service_target(name: str) -> str:
    return f"service:{name.lower()}"


def domain_target(domain: str) -> str:
    return f"domain:{domain.lower().rstrip('.')}"


def iso(t: datetime | None) -> str | None:
    """``t`` as ISO-8601 UTC with a ``Z`` (naive datetimes are UTC), or None."""
    if t is None:
        return None
    text = t.replace(tzinfo=None).isoformat(timespec="seconds")
    return f"{text}Z"


def stable_id(prefix: str, *parts: object) -> str:
    """A short id derived from ``parts`` (the same parts, the same id)."""
    digest = hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:12]
    return f"{prefix}-{digest}"


@dataclass(frozen=True, slots=True)
class VerdictPoint:
    """One scored measurement as detection reads it.

    ``outcome``/``layer``/``mechanism`` are the verdict's; ``domain`` the measured domain
    (None for input-less tests); ``service`` the service name when the measurement is of a
    service (the ``service`` experiment's input, or a messaging test's app); ``endpoints``
    the names that failed in it (a ``service`` measurement's failing endpoints, else the
    domain when blocked); ``control_ok`` whether the control (test helper) was reachable
    (None: unknown / no control); ``handshakes`` the TLS handshakes of a ``tls_sni``
    measurement or of one blocked at TLS, as ``(ip, server_name, result)`` with result
    ``ok`` or the failure string.

    ``weight``: how many measurements the point stands for (1 but for folded points). To
    keep millions of verdicts fast, the store read may fold the *clean* measurements that no
    detection step needs one by one — outcome ``ok``, of a domain (and service) with no
    blocked measurement in the window, not a ``service``/``tls_sni``/messaging test — into
    one point per (country, AS, test, hour, control_ok): ``domain``/``input`` None (so it
    belongs to no series), the earliest time, the smallest uid, ``weight`` = how many. Counts
    of measurements (e.g. outage volume and availability) must add ``weight``.
    """

    measurement_uid: str
    measurement_start_time: datetime
    probe_cc: str
    probe_asn: int
    probe_network_name: str
    test_name: str
    input: str | None
    domain: str | None
    outcome: str
    layer: str | None
    mechanism: str | None
    rules_version: str
    service: str | None = None
    endpoints: tuple[str, ...] = ()
    control_ok: bool | None = None
    handshakes: tuple[tuple[str, str, str], ...] = ()
    weight: int = 1


@dataclass(frozen=True, slots=True, order=True)
class SeriesKey:
    """One series: a target seen from one network, at one layer (``"*"``: any layer)."""

    probe_cc: str
    probe_asn: int
    target: str
    layer: str = "*"


@dataclass(frozen=True)
class ChangePoint:
    """Blocking began (``onset``) or ended (``offset``) in one series.

    ``at`` is the time of ``first_uid``, the first measurement after the change (blocked for
    an onset, clean for an offset); ``last_before_uid``/``last_before_at`` the last
    measurement before it (clean for an onset), None when the series starts changed.
    ``mechanisms`` and ``endpoints`` are what the measurements after the change show;
    ``confidence`` is in [0, 1]; ``detector`` names the method and its version.
    """

    key: SeriesKey
    kind: ChangeKind
    at: datetime
    first_uid: str
    last_before_uid: str | None
    last_before_at: datetime | None
    confidence: float
    mechanisms: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()
    detector: str = ""

    @property
    def id(self) -> str:
        k = self.key
        return stable_id("cp", k.probe_cc, k.probe_asn, k.target, k.layer, self.kind,
                         self.first_uid)

    def to_json(self) -> dict[str, Any]:
        k = self.key
        return {"id": self.id, "cc": k.probe_cc, "asn": k.probe_asn, "target": k.target,
                "layer": k.layer, "kind": self.kind, "at": iso(self.at),
                "first_uid": self.first_uid, "last_before_uid": self.last_before_uid,
                "last_before_at": iso(self.last_before_at),
                "confidence": round(self.confidence, 4), "mechanisms": list(self.mechanisms),
                "endpoints": list(self.endpoints), "detector": self.detector}


@dataclass(frozen=True)
class NetworkImpact:
    """How one network is affected by an incident."""

    asn: int
    as_name: str
    onset: datetime
    first_blocked_uid: str
    last_clean_uid: str | None
    techniques: tuple[str, ...]
    endpoints: tuple[str, ...]
    offset: datetime | None = None
    confidence: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"asn": self.asn, "as_name": self.as_name, "onset": iso(self.onset),
                "offset": iso(self.offset), "first_blocked_uid": self.first_blocked_uid,
                "last_clean_uid": self.last_clean_uid, "techniques": list(self.techniques),
                "endpoints": list(self.endpoints), "confidence": round(self.confidence, 4)}


@dataclass(frozen=True)
class SniCell:
    """One cell of the IP × server-name matrix: what a handshake to ``ip`` with
    ``server_name`` did on network ``asn`` (``ok``, or the failure), with the measurement."""

    asn: int
    ip: str
    server_name: str
    result: str
    uid: str

    def to_json(self) -> dict[str, Any]:
        return {"asn": self.asn, "ip": self.ip, "server_name": self.server_name,
                "result": self.result, "uid": self.uid}


@dataclass(frozen=True)
class Incident:
    """Change points of one target clustered across networks into one story."""

    cc: str
    target: str
    scope: IncidentScope
    start: datetime
    end: datetime | None
    confidence: float
    networks: tuple[NetworkImpact, ...]
    not_affected: tuple[int, ...] = ()
    sni_matrix: tuple[SniCell, ...] = ()
    evidence: tuple[str, ...] = ()  # measurement uids a person can open
    title: str = ""
    detector: str = ""

    @property
    def id(self) -> str:
        return stable_id("inc", self.cc, self.target, iso(self.start))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "cc": self.cc, "target": self.target,
                "scope": self.scope, "start": iso(self.start), "end": iso(self.end),
                "confidence": round(self.confidence, 4),
                "networks": [n.to_json() for n in self.networks],
                "not_affected": list(self.not_affected),
                "sni_matrix": [c.to_json() for c in self.sni_matrix],
                "evidence": list(self.evidence), "detector": self.detector}


@dataclass(frozen=True)
class Outage:
    """Connectivity lost in a country (``asn`` None) or one network, by ``kind``:
    ``probes_offline`` (nothing arrives), ``shutdown`` (probes online, everything fails,
    the control too), ``blocking`` (some services fail), ``slow`` (throttling). ``facts``
    are the figures that decided it (volume against its baseline, the share of
    measurements reaching the control, per-service availability …)."""

    cc: str
    asn: int | None
    kind: OutageKind
    start: datetime
    end: datetime | None
    confidence: float
    facts: dict[str, Any] = field(default_factory=dict)
    evidence: tuple[str, ...] = ()
    detector: str = ""

    @property
    def id(self) -> str:
        return stable_id("out", self.cc, self.asn, self.kind, iso(self.start))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "cc": self.cc, "asn": self.asn, "kind": self.kind,
                "start": iso(self.start), "end": iso(self.end),
                "confidence": round(self.confidence, 4), "facts": dict(self.facts),
                "evidence": list(self.evidence), "detector": self.detector}
