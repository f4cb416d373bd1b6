"""Verdict points grouped into the series change-point detection reads.

A series is one target seen from one network at one layer: a :class:`SeriesKey`
``(probe_cc, probe_asn, target, layer)``. A point belongs to

- the series of its domain target (``domain:<domain>``) when it has a domain;
- the series of a service target (``service:<name>``) when it measured the service
  (``VerdictPoint.service``) or its domain belongs to the service's endpoint set (the
  :class:`~censorscope.pipeline.detect.targets.TargetMap`);

and, for each of these targets, to the layer-any series (layer ``"*"``: every point) and, when
it is blocked (outcome ``blocked``/``impaired``) at a layer, to that layer's series. A layer
series also holds the target's clean (``ok``) points on that network, so that it can show
blocking at that layer beginning *and* ending; points blocked at another layer, ``down`` and
``insufficient`` ones stay out of it (they say nothing about that layer).

What a series' clean points *say* depends on the series: :func:`readings` gives the 0/1
sequence detection reads. A clean point of a test that looks at one layer only
(:data:`SINGLE_LAYER`: ``dns_consistency`` says nothing about TLS) is read only in that
layer's series; in a service's series, a clean point of one of its domains is read only when
that domain is blocked somewhere in the series (a CDN name never blocked on this network says
nothing about whether the service is); a measurement of the whole service (a test of
:data:`WHOLE_SERVICE`, or one without a domain) always counts. Blocked points always count.
The series keep every point (incident clustering reads them as the record of what was
measured).

Each series is sorted by ``(measurement_start_time, measurement_uid)``, so the same points in
any order make the same series. A measurement given twice (ingested twice, or scored by two
rules versions) counts once: the point of the latest ``rules_version`` is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from censorscope.model.detection import SeriesKey, VerdictPoint, domain_target, service_target

from .targets import TargetMap

__all__ = [
    "ANY_LAYER",
    "BLOCKED",
    "CLEAN",
    "SINGLE_LAYER",
    "WHOLE_SERVICE",
    "build_series",
    "ordered_points",
    "point_order",
    "readings",
    "targets_of",
]

ANY_LAYER: Final = "*"
BLOCKED: Final = frozenset({"blocked", "impaired"})
CLEAN: Final = frozenset({"ok"})
# tests whose clean verdict speaks for one layer only
SINGLE_LAYER: Final = {"dns_consistency": "dns", "dnscheck": "dns", "tls_sni": "tls",
                       "throttling": "throttling"}
# tests that measure a service as a whole (every endpoint, or the app's own checks)
WHOLE_SERVICE: Final = frozenset({"service", "whatsapp", "telegram", "signal",
                                  "facebook_messenger"})
_SERVICE: Final = "service:"


def point_order(p: VerdictPoint) -> tuple[object, str]:
    """The order of points in a series: time, then uid (ties broken the same way always)."""
    return (p.measurement_start_time, p.measurement_uid)


def _pick(a: VerdictPoint, b: VerdictPoint) -> VerdictPoint:
    """Of two points of one measurement, the one kept (latest rules, then a fixed order)."""
    def rank(p: VerdictPoint) -> tuple[str, str, str, str]:
        return (p.rules_version, p.outcome, p.layer or "", p.mechanism or "")
    return a if rank(a) >= rank(b) else b


def ordered_points(points: Iterable[VerdictPoint]) -> list[VerdictPoint]:
    """``points`` sorted by :func:`point_order`, one per ``measurement_uid`` (see
    :func:`_pick`; the points of one measurement share its start time, so they are adjacent)."""
    out: list[VerdictPoint] = []
    for p in sorted(points, key=point_order):
        if out and out[-1].measurement_uid == p.measurement_uid:
            out[-1] = _pick(out[-1], p)
        else:
            out.append(p)
    return out


def _targets(domain: str | None, service: str | None, tmap: TargetMap) -> tuple[str, ...]:
    out: list[str] = []
    if domain:
        out.append(domain_target(domain))
    services = set(tmap.services_of(domain))
    if service:
        services.add(service.strip().lower())
    out.extend(service_target(s) for s in sorted(services))
    return tuple(out)


def targets_of(p: VerdictPoint, targets: TargetMap) -> tuple[str, ...]:
    """The targets ``p`` counts for: its domain's, then its services' (sorted, unique)."""
    return _targets(p.domain, p.service, targets)


def build_series(points: Iterable[VerdictPoint],
                 targets: TargetMap | None = None) -> dict[SeriesKey, list[VerdictPoint]]:
    """The series of ``points`` (see the module docstring), each time-ordered; keys sorted.

    ``targets`` defaults to the bundled endpoint sets (:meth:`TargetMap.bundled`).
    """
    tmap = TargetMap.bundled() if targets is None else targets
    # the points of one measurement share network, domain and service: group by those first
    groups: dict[tuple[str, int, str | None, str | None], list[VerdictPoint]] = {}
    for p in points:
        gkey = (p.probe_cc, p.probe_asn, p.domain, p.service)
        group = groups.get(gkey)
        if group is None:
            groups[gkey] = [p]
        else:
            group.append(p)
    anyl: dict[tuple[str, int, str, str], list[VerdictPoint]] = {}
    clean: dict[tuple[str, int, str], list[VerdictPoint]] = {}
    layered: dict[tuple[str, int, str, str], list[VerdictPoint]] = {}
    for (cc, asn, domain, service), group in groups.items():
        members = ordered_points(group)
        oks = [p for p in members if p.outcome in CLEAN]
        by_layer: dict[str, list[VerdictPoint]] = {}
        for p in members:
            if p.outcome in BLOCKED and p.layer and p.layer != ANY_LAYER:
                by_layer.setdefault(p.layer, []).append(p)
        for target in _targets(domain, service, tmap):
            anyl.setdefault((cc, asn, target, ANY_LAYER), []).extend(members)
            if oks:
                clean.setdefault((cc, asn, target), []).extend(oks)
            for layer, blocked in by_layer.items():
                layered.setdefault((cc, asn, target, layer), []).extend(blocked)
    for (cc, asn, target, _layer), members in layered.items():
        members.extend(clean.get((cc, asn, target), ()))
    out = {**anyl, **layered}
    return {SeriesKey(*key): sorted(out[key], key=point_order) for key in sorted(out)}


def readings(key: SeriesKey, points: Iterable[VerdictPoint]) -> tuple[list[VerdictPoint],
                                                                      list[int]]:
    """The points of the series ``key`` detection reads, in order, and their bits (1 blocked
    or impaired, 0 clean); see the module docstring for which clean points are read."""
    ordered = points if isinstance(points, list) else list(points)
    service = key.target.startswith(_SERVICE)
    blocked_domains = ({p.domain for p in ordered if p.outcome in BLOCKED}
                       if service else set())
    read: list[VerdictPoint] = []
    bits: list[int] = []
    for p in ordered:
        if p.outcome in BLOCKED:
            read.append(p)
            bits.append(1)
        elif p.outcome in CLEAN:
            scope = SINGLE_LAYER.get(p.test_name)
            if scope is not None and scope != key.layer:
                continue
            if service and p.domain and p.test_name not in WHOLE_SERVICE and (
                    p.domain not in blocked_domains):
                continue
            read.append(p)
            bits.append(0)
    return read, bits
