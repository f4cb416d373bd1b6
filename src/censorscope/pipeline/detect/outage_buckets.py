"""Verdict points counted per network and time bucket: what the outage detector reads.

One pass over the points groups them per (country, AS, bucket); a :class:`BucketCounts`
holds a bucket's measurements (kept, for evidence and refining start/end), how many worked
(``ok``, or ``impaired``: it got through, slowly), failed (``blocked``, ``down``,
``insufficient``), were blocked, were throttled (``impaired`` at the ``throttling`` layer),
and how many said whether the control was reachable and how many reached it, and how many
failed in a way that proves the path works (``answered``: a censor acted on the name or the
content — :func:`proves_path`), which a shutdown cannot explain; per target (a
service, else a domain, else the test) the same counts, computed when asked. Buckets are
numbered from Monday 1970-01-05 00:00 UTC, so bucket ``b`` of a size that divides a day sits
at hour-of-week ``b % buckets_per_week``. Naive times are UTC.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import attrgetter
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
    "proves_path",
    "target_of",
]

EPOCH: Final = datetime(1970, 1, 5)  # a Monday: bucket numbers align with hour-of-week
_WORKING: Final = frozenset({"ok", "impaired"})
_FAILED: Final = frozenset({"blocked", "down", "insufficient"})
_OUTCOME: Final = attrgetter("outcome")
_CONTROL: Final = attrgetter("control_ok")
_WEIGHT: Final = attrgetter("weight")


def _weighted(points: list[VerdictPoint]
              ) -> tuple[int, Counter[str], Counter[bool | None]]:
    """(measurements, per outcome, per control_ok) counting each point ``weight`` times (a
    store read folds clean measurements: ``VerdictPoint.weight``)."""
    outcomes: Counter[str] = Counter()
    control: Counter[bool | None] = Counter()
    for p in points:
        outcomes[p.outcome] += p.weight
        control[p.control_ok] += p.weight
    return sum(outcomes.values()), outcomes, control


def naive_utc(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo is not None else t


def order(p: VerdictPoint) -> tuple[datetime, str]:
    """The total order of points: time (UTC), then uid."""
    return naive_utc(p.measurement_start_time), p.measurement_uid


def target_of(p: VerdictPoint) -> str:
    """What a point measured: its service, else its domain, else its test."""
    return _target(p.service, p.domain, p.test_name)


@lru_cache(maxsize=65536)
def _target(service: str | None, domain: str | None, test_name: str) -> str:
    if service:
        return service_target(service)
    if domain:
        return domain_target(domain)
    return f"test:{test_name}"


def is_throttled(p: VerdictPoint) -> bool:
    return p.outcome == "impaired" and p.layer == "throttling"


# blocking whose mechanism needs a working path: something answered for the name or the
# content, or a peer (or a middlebox posing as one) refused, reset or closed the connection; a
# network that is cut off answers nothing (timeouts, unreachable)
_ANSWERED: Final = frozenset({"dns.nxdomain", "dns.refused", "http.blockpage", "http.diff",
                              "tls.mitm", "tls.cert", "tcp.refused", "tcp.reset", "tls.reset",
                              "tls.eof", "http.reset", "http.eof"})


def proves_path(p: VerdictPoint) -> bool:
    """Did ``p`` fail in a way only a working network produces (a name-triggered TLS failure,
    an injected or refused DNS answer, a blockpage, a refused or reset connection)? Such
    failures are blocking, never a shutdown."""
    m = p.mechanism
    return m is not None and (m.endswith(".sni") or m.startswith("dns.injection")
                              or m in _ANSWERED)


class BucketCounts:
    """The measurements of one bucket of one network and their counts (per target on
    demand: :attr:`targets`)."""

    __slots__ = ("_targets", "answered", "blocked", "ctrl_known", "ctrl_ok", "failed", "n",
                 "points", "throttled", "work")

    def __init__(self, points: list[VerdictPoint]) -> None:
        self.points = points
        self.n = len(points)
        outcomes = Counter(map(_OUTCOME, points))
        control = Counter(map(_CONTROL, points))
        if self.n != sum(map(_WEIGHT, points)):  # folded points stand for weight measurements
            self.n, outcomes, control = _weighted(points)
        self.work = outcomes["ok"] + outcomes["impaired"]
        self.blocked = outcomes["blocked"]
        self.failed = sum(outcomes[o] for o in _FAILED)
        self.answered = sum(p.weight for p in points if proves_path(p)) if self.blocked else 0
        self.throttled = sum(map(is_throttled, points)) if outcomes["impaired"] else 0
        self.ctrl_known = control[True] + control[False]
        self.ctrl_ok = control[True]
        self._targets: dict[str, list[int]] | None = None

    @property
    def targets(self) -> dict[str, list[int]]:
        """target -> [measurements, working, throttled, blocked]."""
        if self._targets is None:
            rows: dict[str, list[int]] = {}
            for p in self.points:
                key = _target(p.service, p.domain, p.test_name)
                row = rows.get(key)
                if row is None:
                    row = rows[key] = [0, 0, 0, 0]
                row[0] += p.weight
                if p.outcome in _WORKING:
                    row[1] += p.weight
                    row[2] += is_throttled(p)
                row[3] += p.outcome == "blocked"
            self._targets = rows
        return self._targets

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
    grouped: dict[tuple[str, int], dict[int, list[VerdictPoint]]] = {}
    size = grid.size
    for p in points:
        net = grouped.get((p.probe_cc, p.probe_asn))
        if net is None:
            net = grouped[(p.probe_cc, p.probe_asn)] = {}
        t = p.measurement_start_time
        b = ((naive_utc(t) if t.tzinfo is not None else t) - EPOCH) // size
        bucket = net.get(b)
        if bucket is None:
            net[b] = [p]
        else:
            bucket.append(p)
    return {key: {b: BucketCounts(pts) for b, pts in net.items()}
            for key, net in grouped.items()}
