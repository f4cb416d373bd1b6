"""Detection over a store: read the window's verdict points, detect, write the result.

:func:`read_points` streams the store's ``PointRow``s (``Store.iter_point_rows``) and turns
them into :class:`~censorscope.model.detection.VerdictPoint`s, reading the probe observation
rows of the measurements that need them (service endpoints, TLS handshakes) one batch at a
time. :func:`run_detection` runs :func:`censorscope.pipeline.detect.detect` on them and
replaces the window's stored results (``Store.replace_detections``), so running it twice over
the same store leaves the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from censorscope.model.detection import VerdictPoint
from censorscope.pipeline.detect import Detection, detect
from censorscope.pipeline.detect.points import (
    base_point,
    fold_keeps,
    needs_observations,
    with_observations,
)
from censorscope.pipeline.detect.targets import TargetMap, bundled_targets
from censorscope.store.base import Store
from censorscope.store.detections import DetectionWindow, result_rows
from censorscope.store.points import FoldSpec

__all__ = ["DetectionRun", "NoPoints", "fold_spec", "read_points", "run_detection"]


class NoPoints(LookupError):
    """The window holds no scored measurement (nothing is written)."""


def fold_spec(store: Store, window: DetectionWindow, targets: TargetMap | None = None
              ) -> FoldSpec:
    """What a folding read of ``window`` must keep one by one (``points.fold_keeps`` of the
    window's blocked measurements)."""
    blocked = store.blocked_keys(since=window.since, until=window.until, cc=window.cc)
    domains, tests = fold_keeps(blocked, bundled_targets() if targets is None else targets)
    return FoldSpec(domains, tests)


def read_points(store: Store, window: DetectionWindow, *, batch: int = 100_000,
                fold: FoldSpec | None = None) -> Iterator[VerdictPoint]:
    """The verdict points of ``window``, time-ordered (then by uid); with ``fold``, the clean
    measurements no step needs one by one folded (``VerdictPoint.weight``)."""
    for rows in store.iter_point_rows(since=window.since, until=window.until, cc=window.cc,
                                      batch=batch, fold=fold):
        points = [base_point(*row) for row in rows]
        wanted = [p.measurement_uid for p in points if needs_observations(p)]
        if not wanted:
            yield from points
            continue
        observations = store.get_observations_of(wanted)
        for p in points:
            yield with_observations(p, observations.get(p.measurement_uid, ())) \
                if needs_observations(p) else p


@dataclass(frozen=True)
class DetectionRun:
    """What one run read and wrote."""

    window: DetectionWindow
    points: int
    detection: Detection
    written: dict[str, int]


class _Counted:
    """An iterable of points that counts what went through it."""

    def __init__(self, points: Iterator[VerdictPoint]) -> None:
        self._points = points
        self.count = 0

    def __iter__(self) -> Iterator[VerdictPoint]:
        for p in self._points:
            self.count += p.weight
            yield p


def run_detection(store: Store, window: DetectionWindow, *, fold: bool = True
                  ) -> DetectionRun:
    """Detect over ``window`` and replace the window's stored change points, incidents and
    outages with the result; :class:`NoPoints` (nothing written) when the window is empty.
    ``fold``: fold the clean measurements no step needs one by one (the same result, faster;
    ``points`` then counts measurements, folded ones included)."""
    spec = fold_spec(store, window) if fold else None
    points = _Counted(read_points(store, window, fold=spec))
    result = detect(points, since=window.since, until=window.until)
    if points.count == 0:
        raise NoPoints(window)
    written = store.replace_detections(
        window, result_rows(result.change_points, result.incidents, result.outages))
    return DetectionRun(window, points.count, result, written)
