"""One streaming pass over a country's scored measurements of the report window.

``Store.iter_point_rows`` yields every measurement of the window with its latest verdict,
ordered by time; :func:`scan_window` counts what the report needs from all of them and keeps
only the measurements of the report's scope (:class:`~.target.TargetScope`) one by one:

- per network: measurements (all tests, and of the scope), first and last time, the largest
  gap between two consecutive measurements (of the scope, else of any test), its AS name;
- measurements per time bucket per network, for the coverage chart, at every bucket unit the
  window's span may still choose (a unit is dropped once the span outgrows it, so memory stays
  bounded by the number of buckets, not of measurements);
- the rules versions of the latest verdicts, with counts.

Nothing is recomputed from constants: every figure is a count of stored rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from censorscope.store.base import Store
from censorscope.store.points import PointRow

from .chartdata import BUCKET_UNITS, MAX_BUCKETS, BucketUnit, bucket_start, bucket_unit
from .target import TargetScope

__all__ = ["NetworkTally", "WindowScan", "scan_window"]


@dataclass
class _Gap:
    """The largest gap between consecutive times seen so far."""

    last: datetime | None = None
    largest: timedelta | None = None
    start: datetime | None = None
    end: datetime | None = None

    def see(self, t: datetime) -> None:
        if self.last is not None:
            gap = t - self.last
            if self.largest is None or gap > self.largest:
                self.largest, self.start, self.end = gap, self.last, t
        self.last = t


@dataclass
class NetworkTally:
    """What the scan counted for one network (AS)."""

    asn: int
    as_name: str = ""
    measurements: int = 0
    scope_measurements: int = 0
    first: datetime | None = None
    last: datetime | None = None
    gap_all: _Gap = field(default_factory=_Gap)
    gap_scope: _Gap = field(default_factory=_Gap)

    def largest_gap(self) -> tuple[timedelta | None, datetime | None, datetime | None]:
        """(gap, from, to) between consecutive measurements of the scope (of any test when
        the network has fewer than two of the scope)."""
        gap = self.gap_scope if self.scope_measurements >= 2 else self.gap_all
        return gap.largest, gap.start, gap.end


@dataclass
class WindowScan:
    """The result of :func:`scan_window`."""

    networks: dict[int, NetworkTally]
    scope_rows: list[PointRow]
    rules_versions: Counter[str]
    buckets: dict[str, Counter[tuple[int, datetime]]]
    first: datetime | None = None
    last: datetime | None = None
    total: int = 0

    @property
    def unit(self) -> BucketUnit:
        """The bucket unit of the window's time axes (``chartdata.bucket_unit``)."""
        if self.first is None or self.last is None:
            return "hour"
        return bucket_unit(self.first, self.last)

    def coverage_counts(self) -> Counter[tuple[int, datetime]]:
        """Measurements per (asn, bucket start) at :attr:`unit`."""
        return self.buckets.get(self.unit, Counter())


def _rows(store: Store, cc: str, since: datetime | None, until: datetime | None
          ) -> Iterator[PointRow]:
    for batch in store.iter_point_rows(since=since, until=until, cc=cc):
        yield from batch


def scan_window(store: Store, cc: str, since: datetime | None, until: datetime | None,
                scope: TargetScope) -> WindowScan:
    """Count the window's measurements of ``cc`` and keep those of ``scope`` (see the module
    docstring)."""
    scan = WindowScan({}, [], Counter(), {u: Counter() for u in BUCKET_UNITS})
    for row in _rows(store, cc, since, until):
        t = row.measurement_start_time
        weight = row.weight
        scan.total += weight
        if scan.first is None:
            scan.first = t
        scan.last = t
        tally = scan.networks.get(row.probe_asn)
        if tally is None:
            tally = scan.networks[row.probe_asn] = NetworkTally(row.probe_asn)
        if row.probe_network_name:
            tally.as_name = row.probe_network_name
        tally.measurements += weight
        tally.first = tally.first or t
        tally.last = t
        tally.gap_all.see(t)
        scan.rules_versions[row.rules_version] += weight
        if scope.covers(row.test_name, row.input, row.domain):
            tally.scope_measurements += weight
            tally.gap_scope.see(t)
            scan.scope_rows.append(row)
        span = t - scan.first
        for unit in list(scan.buckets):
            if unit != "day" and span >= BUCKET_UNITS[unit] * MAX_BUCKETS:
                del scan.buckets[unit]  # the span outgrew it: bucket_unit will not pick it
                continue
            scan.buckets[unit][(row.probe_asn, bucket_start(t, unit))] += weight  # type: ignore[arg-type]
    return scan
