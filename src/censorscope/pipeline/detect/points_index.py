"""What incident clustering needs to know about the measured networks: the points index.

Change points say when blocking began and ended on the networks that changed; an incident
also needs the networks that did *not* change (measured on the target in the same period,
without blocking: ``not_affected``), the measurements a person can open (evidence), the
names of the networks, the TLS handshakes of the period (the IP × server-name matrix), whether
the control failed too and how the target fared in other countries (``server_side``). The
:class:`PointsIndex` keeps the :class:`~censorscope.model.detection.VerdictPoint` references
grouped by target, country and AS, time-ordered, and answers those questions for a window.

A group of services restricted together (``services:facebook+tiktok``, see
:func:`services_group_target`) covers the targets of each.

A point is indexed under its domain target (``domain:<domain>``) and under its service target
(``service:<name>``) when it measured a service. A service target also covers the domains of
the service (its endpoint set, given as ``services``: domain -> service names, and learned
from the points: a service measurement's failing endpoints and a point carrying both a
service and a domain), merged at query time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from censorscope.model.detection import (
    SeriesKey,
    VerdictPoint,
    domain_target,
    service_target,
)

from .series import BLOCKED, CLEAN, ordered_points, point_order

__all__ = [
    "BLOCKED_OUTCOMES",
    "CLEAN_OUTCOMES",
    "FAILING_OUTCOMES",
    "PointsIndex",
    "build_points_index",
    "services_group_target",
]

# As the change-point detector reads outcomes: blocked/impaired is blocking, ok is clean,
# down/insufficient say nothing about blocking. ``down`` counts as failing when asking whether
# the target fails elsewhere too (a server that is down is down everywhere).
BLOCKED_OUTCOMES: Final = BLOCKED
CLEAN_OUTCOMES: Final = CLEAN
FAILING_OUTCOMES: Final = BLOCKED | {"down"}

ANY_LAYER: Final = "*"
_SERVICE_PREFIX: Final = "service:"
_SERVICES_PREFIX: Final = "services:"
_DOMAIN_PREFIX: Final = "domain:"

_PerAsn = dict[int, list[VerdictPoint]]


def _time(p: VerdictPoint) -> datetime:
    return p.measurement_start_time


def _domain_of(target: str) -> str | None:
    return target[len(_DOMAIN_PREFIX):] if target.startswith(_DOMAIN_PREFIX) else None


@dataclass
class PointsIndex:
    """Verdict points by target -> country -> AS (time-ordered), the domains of each service
    and the network names. Build it with :func:`build_points_index`."""

    by_target: dict[str, dict[str, _PerAsn]] = field(default_factory=dict)
    services_of: dict[str, frozenset[str]] = field(default_factory=dict)
    domains_of: dict[str, tuple[str, ...]] = field(default_factory=dict)
    as_names: dict[tuple[str, int], str] = field(default_factory=dict)

    @classmethod
    def from_series(cls, series: Mapping[SeriesKey, list[VerdictPoint]],
                    services: Mapping[str, Iterable[str]] | None = None) -> PointsIndex:
        """The index over series already built (``series.build_series``: time-ordered, one
        point per measurement, a service's series holding its domains' points): its
        layer-any series are the index's lists. ``services`` is the target map the series were
        built with (domain -> service names); a point of a service's series that carries the
        service and a domain adds that domain to it (a ``service`` measurement whose stored
        domain is its input, ``tiktok``, must not make an incident of ``domain:tiktok``)."""
        index = cls()
        latest: dict[tuple[str, int], VerdictPoint] = {}
        learned: dict[str, set[str]] = {}
        for domain, names in (services or {}).items():
            learned.setdefault(domain.lower().rstrip("."), set()).update(n.lower() for n in names)
        for key, points in series.items():
            if key.layer != ANY_LAYER or not points:
                continue
            if key.target.startswith(_SERVICE_PREFIX):  # what a service measurement names
                for p in points:
                    if p.service and p.domain:
                        learned.setdefault(p.domain.lower().rstrip("."), set()).add(
                            p.service.lower())
            per_cc = index.by_target.setdefault(key.target, {})
            per_cc.setdefault(key.probe_cc, {})[key.probe_asn] = points
            net = (key.probe_cc, key.probe_asn)
            have = latest.get(net)
            if have is None or point_order(points[-1]) > point_order(have):
                latest[net] = points[-1]
        index.as_names = {net: p.probe_network_name for net, p in latest.items()}
        index.services_of = {d: frozenset(n) for d, n in learned.items()}
        return index

    def services_of_domain(self, domain: str) -> frozenset[str]:
        """The service names whose endpoint set contains ``domain``."""
        return self.services_of.get(domain.lower().rstrip("."), frozenset())

    def incident_targets(self, target: str) -> tuple[str, ...]:
        """The targets a change point of ``target`` is clustered under: a domain of a
        service's endpoint set goes to the service (each, when shared), else itself."""
        domain = _domain_of(target)
        if domain is None:
            return (target,)
        services = self.services_of_domain(domain)
        if not services:
            return (target,)
        return tuple(sorted(service_target(s) for s in services))

    def as_name(self, cc: str, asn: int) -> str:
        return self.as_names.get((cc, asn), "")

    def countries(self, target: str) -> tuple[str, ...]:
        """Every country with points on ``target`` (a service: on any of its domains too)."""
        ccs: set[str] = set()
        for t in self._member_targets(target):
            ccs.update(self.by_target.get(t, {}))
        return tuple(sorted(ccs))

    def window(self, target: str, cc: str, start: datetime, end: datetime | None,
               asn: int | None = None) -> dict[int, list[VerdictPoint]]:
        """The points on ``target`` in ``cc`` (on ``asn`` only, when given) with
        ``start <= time`` (and ``time < end`` unless ``end`` is None), per AS, time-ordered,
        each measurement once."""
        parts: dict[int, list[list[VerdictPoint]]] = {}
        for t in self._member_targets(target):
            per_asn = self.by_target.get(t, {}).get(cc, {})
            nets = per_asn.items() if asn is None else [(asn, per_asn.get(asn, []))]
            for a, points in nets:
                lo = bisect_left(points, start, key=_time)
                hi = len(points) if end is None else bisect_left(points, end, key=_time)
                if lo < hi:
                    parts.setdefault(a, []).append(points[lo:hi])
        out: dict[int, list[VerdictPoint]] = {}
        for a, lists in parts.items():
            if len(lists) == 1:  # one sorted list of unique points: nothing to merge
                out[a] = lists[0]
            else:
                unique = {p.measurement_uid: p for lst in lists for p in lst}
                out[a] = sorted(unique.values(), key=point_order)
        return out

    def last_time(self, target: str, cc: str) -> datetime | None:
        """The time of the latest point on ``target`` in ``cc``."""
        times = [points[-1].measurement_start_time
                 for t in self._member_targets(target)
                 for points in self.by_target.get(t, {}).get(cc, {}).values() if points]
        return max(times, default=None)

    def _member_targets(self, target: str) -> list[str]:
        if target.startswith(_SERVICES_PREFIX):
            return [m for name in target[len(_SERVICES_PREFIX):].split("+")
                    for m in self._member_targets(service_target(name))]
        if not target.startswith(_SERVICE_PREFIX):
            return [target]
        name = target[len(_SERVICE_PREFIX):]
        return [target, *(domain_target(d) for d in self.domains_of.get(name, ()))]


def services_group_target(names: Iterable[str]) -> str:
    """The target of services restricted together: ``services:facebook+tiktok`` (sorted)."""
    return _SERVICES_PREFIX + "+".join(sorted({n.lower() for n in names}))


def build_points_index(points: Iterable[VerdictPoint],
                       services: Mapping[str, Iterable[str]] | None = None) -> PointsIndex:
    """Index ``points`` (any order; a measurement given twice counts once, as in the
    series). ``services`` maps a domain to the names of the
    services whose endpoint set holds it (e.g. the detection's target map)."""
    index = PointsIndex()
    learned: dict[str, set[str]] = {}
    for domain, names in (services or {}).items():
        learned.setdefault(domain.lower().rstrip("."), set()).update(n.lower() for n in names)
    for p in ordered_points(points):  # time-ordered: every list is built in order
        targets = []
        if p.domain:
            targets.append(domain_target(p.domain))
        if p.service:
            name = p.service.lower()
            targets.append(service_target(name))
            for host in (p.domain, *p.endpoints):
                if host:
                    learned.setdefault(host.lower().rstrip("."), set()).add(name)
        for t in targets:
            index.by_target.setdefault(t, {}).setdefault(p.probe_cc, {}).setdefault(
                p.probe_asn, []).append(p)
        if p.probe_network_name:
            index.as_names[(p.probe_cc, p.probe_asn)] = p.probe_network_name
    index.services_of = {d: frozenset(n) for d, n in learned.items()}
    members: dict[str, list[str]] = {}
    for domain, names in sorted(learned.items()):
        for name in names:
            members.setdefault(name, []).append(domain)
    index.domains_of = {name: tuple(ds) for name, ds in members.items()}
    return index
