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

Each series is sorted by ``(measurement_start_time, measurement_uid)``, so the same points in
any order make the same series. A measurement given twice (ingested twice, or scored by two
rules versions) counts once: the point of the latest ``rules_version`` is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from censorscope.model.detection import SeriesKey, VerdictPoint, domain_target, service_target

from .targets import TargetMap

__all__ = ["ANY_LAYER", "BLOCKED", "CLEAN", "build_series", "point_order", "targets_of",
           "unique_points"]

ANY_LAYER: Final = "*"
BLOCKED: Final = frozenset({"blocked", "impaired"})
CLEAN: Final = frozenset({"ok"})


def point_order(p: VerdictPoint) -> tuple[object, str]:
    """The order of points in a series: time, then uid (ties broken the same way always)."""
    return (p.measurement_start_time, p.measurement_uid)


def _pick(a: VerdictPoint, b: VerdictPoint) -> VerdictPoint:
    """Of two points of one measurement, the one kept (latest rules, then a fixed order)."""
    def rank(p: VerdictPoint) -> tuple[str, str, str, str]:
        return (p.rules_version, p.outcome, p.layer or "", p.mechanism or "")
    return a if rank(a) >= rank(b) else b


def unique_points(points: Iterable[VerdictPoint]) -> list[VerdictPoint]:
    """``points`` with one point per ``measurement_uid`` (see :func:`_pick`)."""
    seen: dict[str, VerdictPoint] = {}
    for p in points:
        have = seen.get(p.measurement_uid)
        seen[p.measurement_uid] = p if have is None else _pick(have, p)
    return list(seen.values())


def targets_of(p: VerdictPoint, targets: TargetMap) -> tuple[str, ...]:
    """The targets ``p`` counts for: its domain's, then its services' (sorted, unique)."""
    out: list[str] = []
    if p.domain:
        out.append(domain_target(p.domain))
    services = set(targets.services_of(p.domain))
    if p.service:
        services.add(p.service.strip().lower())
    out.extend(service_target(s) for s in sorted(services))
    return tuple(out)


def build_series(points: Iterable[VerdictPoint],
                 targets: TargetMap | None = None) -> dict[SeriesKey, list[VerdictPoint]]:
    """The series of ``points`` (see the module docstring), each time-ordered; keys sorted.

    ``targets`` defaults to the bundled endpoint sets (:meth:`TargetMap.bundled`).
    """
    tmap = TargetMap.bundled() if targets is None else targets
    anyl: dict[SeriesKey, list[VerdictPoint]] = {}
    clean: dict[tuple[str, int, str], list[VerdictPoint]] = {}
    layered: dict[SeriesKey, list[VerdictPoint]] = {}
    for p in unique_points(points):
        for target in targets_of(p, tmap):
            anyl.setdefault(SeriesKey(p.probe_cc, p.probe_asn, target, ANY_LAYER), []).append(p)
            if p.outcome in CLEAN:
                clean.setdefault((p.probe_cc, p.probe_asn, target), []).append(p)
            elif p.outcome in BLOCKED and p.layer and p.layer != ANY_LAYER:
                key = SeriesKey(p.probe_cc, p.probe_asn, target, p.layer)
                layered.setdefault(key, []).append(p)
    for key, members in layered.items():
        members.extend(clean.get((key.probe_cc, key.probe_asn, key.target), ()))
    out = {**anyl, **layered}
    return {key: sorted(out[key], key=point_order) for key in sorted(out)}
