"""Detection: from stored verdicts to change points, incidents and outages.

:func:`detect` reads :class:`~censorscope.model.detection.VerdictPoint`s (any order; the store
reads them with ``censorscope.ingest.detection.read_points``) and runs the steps:

1. ``series.build_series``: one time-ordered series per (country, AS, target, layer), a
   target being a domain or a service (``targets.TargetMap``: the bundled endpoint sets);
2. ``changepoints.detect_changes`` on each series: onsets and offsets of blocking;
3. ``points_index.PointsIndex`` (over the series) and ``incidents.cluster_incidents``: the
   change points of one target clustered across networks, domains and techniques into
   incidents;
4. ``outages.find_outages``: loss of connectivity per country and network.

Everything is a pure function of the points: the same verdicts, in any order, give the same
:class:`Detection` (ids are derived from content).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from censorscope.model.detection import ChangePoint, Incident, Outage, VerdictPoint

from .changepoints import detect_changes
from .incidents import cluster_incidents
from .outages import find_outages
from .points_index import PointsIndex
from .series import build_series
from .targets import TargetMap, bundled_targets

__all__ = ["Detection", "detect"]


@dataclass(frozen=True)
class Detection:
    """What one detection run found."""

    change_points: tuple[ChangePoint, ...]
    incidents: tuple[Incident, ...]
    outages: tuple[Outage, ...]

    def to_json(self) -> dict[str, Any]:
        return {"change_points": [c.to_json() for c in self.change_points],
                "incidents": [i.to_json() for i in self.incidents],
                "outages": [o.to_json() for o in self.outages]}


def _cp_order(cp: ChangePoint) -> tuple[Any, ...]:
    return (cp.at, cp.key, cp.kind, cp.first_uid)


def detect(points: Iterable[VerdictPoint], *, since: datetime | None = None,
           until: datetime | None = None, targets: TargetMap | None = None) -> Detection:
    """Change points, incidents and outages of ``points``. ``since``/``until`` are the
    window the points were read from (None: open): ``until`` is "now" for the outage
    detector (default: the latest point), ``since`` needs no step (a series begins with its
    first point). ``targets``: the service endpoint sets (default: the bundled ones)."""
    tmap = bundled_targets() if targets is None else targets
    pts = list(points)
    series = build_series(pts, tmap)
    changes = sorted((cp for key, members in series.items()
                      for cp in detect_changes(key, members)), key=_cp_order)
    index = PointsIndex.from_series(series, tmap)
    incidents = cluster_incidents(changes, index)
    outages = find_outages(pts, until=until)
    return Detection(tuple(changes), tuple(incidents), tuple(outages))
