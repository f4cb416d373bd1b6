"""Verdict points counted per network and time bucket: what the outage detector reads.

One pass over the points fills a :class:`BucketCounts` per (country, AS, bucket): the
measurements (kept, for evidence and refining start/end), how many worked (``ok``, or
``impaired``: it got through, slowly), failed (``blocked``, ``down``, ``insufficient``), were
blocked, were throttled (``impaired`` at the ``throttling`` layer), and how many said whether
the control was reachable and how many reached it; per target (a service, else a domain, else
the test) the same counts. Buckets are numbered from Monday 1970-01-05 00:00 UTC, so bucket
``b`` of a size that divides a day sits at hour-of-week ``b % buckets_per_week``. Naive times
are UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Final

from censorscope.model.detection import VerdictPoint, domain_target, service_target

__all__ = [
    "EPOCH",
    "BucketCounts",
    "Grid",
    "NetworkBuckets",
    "count_buckets",
    "is_throttled",
    "naive_utc",
    "order",
    "target_of",
]

EPOCH: Final = datetime(1970, 1, 5)  # a Monday: bucket numbers align with hour-of-week
_WORKING: Final = frozenset({"ok", "impaired"})
_FAILED: Final = frozenset({"blocked", "down", "insufficient"})


def naive_utc(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo is not None else t


def order(p: VerdictPoint) -> tuple[datetime, str]:
    """The total order of points: time (UTC), then uid."""
    return naive_utc(p.measurement_start_time), p.measurement_uid


def target_of(p: VerdictPoint) -> str:
    """What a point measured: its service, else its domain, else its test."""
    if p.service:
        return service_target(p.service)
    if p.domain:
        return domain_target(p.domain)
    return f"test:{p.test_name}"


def is_throttled(p: VerdictPoint) -> bool:
    return p.outcome == "impaired" and p.layer == "throttling"


class BucketCounts:
    """The measurements of one bucket (one network, or a country) and their counts."""

    __slots__ = ("blocked", "ctrl_known", "ctrl_ok", "failed", "n", "points", "targets",
                 "throttled", "work")

    def __init__(self) -> None:
        self.points: list[VerdictPoint] = []
        self.n = self.work = self.failed = self.blocked = self.throttled = 0
        self.ctrl_known = self.ctrl_ok = 0
        # target -> [measurements, working, throttled, blocked]
        self.targets: dict[str, list[int]] = {}

    def add(self, p: VerdictPoint) -> None:
        self.points.append(p)
        self.n += 1
        key = target_of(p)
        row = self.targets.get(key)
        if row is None:
            row = self.targets[key] = [0, 0, 0, 0]
        row[0] += 1
        outcome = p.outcome
        if outcome in _WORKING:
            self.work += 1
            row[1] += 1
            if is_throttled(p):
                self.throttled += 1
                row[2] += 1
        elif outcome in _FAILED:
            self.failed += 1
            if outcome == "blocked":
                self.blocked += 1
                row[3] += 1
        if p.control_ok is not None:
            self.ctrl_known += 1
            self.ctrl_ok += p.control_ok

    def merge(self, other: BucketCounts) -> None:
        """Add ``other``'s measurements (another network's, for the country's view)."""
        self.points.extend(other.points)
        self.n += other.n
        self.work += other.work
        self.failed += other.failed
        self.blocked += other.blocked
        self.throttled += other.throttled
        self.ctrl_known += other.ctrl_known
        self.ctrl_ok += other.ctrl_ok
        for t, row in other.targets.items():
            mine = self.targets.setdefault(t, [0, 0, 0, 0])
            for i, v in enumerate(row):
                mine[i] += v

    def sorted_points(self) -> list[VerdictPoint]:
        return sorted(self.points, key=order)


NetworkBuckets = dict[int, BucketCounts]


class Grid:
    """Bucket numbering for one bucket size (which must divide a day)."""

    def __init__(self, size: timedelta) -> None:
        seconds = size.total_seconds()
        if seconds <= 0 or seconds != int(seconds) or 86400 % int(seconds):
            raise ValueError(f"bucket must divide a day into whole seconds, not {size}")
        self.size = size
        self.seconds = int(seconds)
        self.per_day = 86400 // self.seconds

    def of(self, t: datetime) -> int:
        return int((naive_utc(t) - EPOCH).total_seconds() // self.seconds)

    def start(self, b: int) -> datetime:
        return EPOCH + b * self.size

    def covered(self, b: int, until: datetime) -> float:
        """The share of bucket ``b`` up to ``until`` (0..1)."""
        done = (naive_utc(until) - self.start(b)).total_seconds() / self.seconds
        return min(1.0, max(0.0, done))


def count_buckets(points: Iterable[VerdictPoint],
                  grid: Grid) -> dict[tuple[str, int], NetworkBuckets]:
    """The points counted per (country, AS) and bucket, in one pass (any order)."""
    out: dict[tuple[str, int], NetworkBuckets] = {}
    for p in points:
        net = out.get((p.probe_cc, p.probe_asn))
        if net is None:
            net = out[(p.probe_cc, p.probe_asn)] = {}
        b = grid.of(p.measurement_start_time)
        counts = net.get(b)
        if counts is None:
            counts = net[b] = BucketCounts()
        counts.add(p)
    return out
