"""Onset and offset of blocking in one series: a two-state Beta-Binomial CUSUM.

A series (:mod:`.series`) is read as a binary sequence in ``(time, uid)`` order: 1 when the
verdict is ``blocked`` or ``impaired``, 0 when ``ok``; ``down`` and ``insufficient`` points are
skipped (they say nothing about blocking), and so are clean points that do not speak for the
series (:func:`~.series.readings`: a DNS-only test's clean verdict in a TLS series, a
never-blocked CDN name's in its service's series). The detector is in one of two states, *clean* or
*blocked*, and watches for the outcome of the other state (blocked measurements while clean,
clean ones while blocked):

- **Baseline.** The rate ``p`` of that outcome in the current state is the posterior mean over
  the state's last ``memory`` points before the current excursion, with a
  Beta(``base_a``, ``base_b``) prior (mean 0.05): a long clean history makes a blocked
  measurement strong evidence, a noisy one (flaky network, a scorer's false positives) weak.
  The clean baseline is kept across blocks (a network's noise outlives them); a block's rate
  is learnt afresh from its first measurements.
- **Statistic.** From the first such outcome on, the detector accumulates the excursion's
  ``k`` other-state outcomes in ``n`` points and scores it with the log Bayes factor of
  "the rate changed to an unknown ``q``", ``q ~ Beta(a, b)``, against "the rate is still
  ``p``" (Beta-Binomial marginal likelihood against Binomial):
  ``S = ln B(a+k, b+n-k) - ln B(a, b) - k ln p - (n-k) ln(1-p)``. For an onset ``q`` (the
  blocked rate) is uniform, Beta(``onset_a``, ``onset_b``) = Beta(1, 1): a block may be
  partial; for an offset ``q`` (the clean rate) is Beta(``offset_a``, ``offset_b``) =
  Beta(4, 1), mostly high: blocking ended means most measurements are clean again.
  ``S <= 0``: the excursion was noise; its points join the baseline and the next one starts
  afresh (as a CUSUM resets at 0); so do they when the excursion outgrows ``memory`` without
  making the case (the state's rate is higher than its baseline said, not changed).
  ``S >= threshold``: a change.
- **Location.** The change is placed at the start of a run of other-state outcomes within the
  excursion: the one that best splits the stretch since the last change (at most ``memory``
  points before the excursion) into two rates — the largest Bayes factor of "two rates, each
  Beta(1, 1), split here" against "one rate" (earliest on ties). That is the first blocked
  measurement of an onset, the first clean one of an offset; ``last_before`` is the
  measurement before it (the last clean one of an onset).
- **Confirmation.** The change is taken only when that split's posterior probability (even
  prior odds) is at least ``confirm``; else the excursion goes on gathering evidence. This is
  the hysteresis that keeps a partial block (half the measurements failing) from flapping
  and a short noisy stretch from reading as a block. A series that starts blocked has nothing
  to compare with: its onset is its first point, on the statistic alone. Taken, the
  excursion's points from the change on become the new state's baseline.
- **Confidence.** Once the whole series is read, each change's posterior probability of the
  same split over up to ``memory`` points on each side (not past the neighbouring changes).

With the defaults (``threshold = 8``, a Bayes factor of ~3000; ``confirm = 0.85``;
``memory = 50``) a switch between full blocking and none is decided at its second
measurement after a clean history of a few measurements, or its third; one blocked
measurement among clean ones never fires; a partial block takes about six to ten
(docs/detection.md has the figures on synthetic series).

The result depends only on the points, never on their input order. The state at a point
depends on the points before it; recomputed from a trailing window (``since``) with at least
``memory`` points of warm-up in a clean stretch before it, the changes from ``since`` on are the
same as those of the whole series (tests/pipeline/detect: window recomputation). Timing plays no
part, so sparse and irregular sampling only changes how much time the evidence takes.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from math import exp, lgamma, log
from typing import Final

from censorscope.model.detection import ChangeKind, ChangePoint, SeriesKey, VerdictPoint

from .series import BLOCKED, ordered_points, readings

__all__ = ["DETECTOR", "PARAMS", "Change", "Params", "detect_changes", "find_changes"]

DETECTOR: Final = "cs-bbcusum-1"


@dataclass(frozen=True)
class Params:
    """The detector's parameters (docs/detection.md)."""

    threshold: float = 8.0
    confirm: float = 0.85
    memory: int = 50
    base_a: float = 0.5
    base_b: float = 9.5
    onset_a: float = 1.0
    onset_b: float = 1.0
    offset_a: float = 4.0
    offset_b: float = 1.0


PARAMS: Final = Params()


@dataclass(frozen=True)
class Change:
    """A change found in a bit sequence: at ``index`` (the first point of the new state),
    decided at ``alarm`` (the point whose evidence crossed the threshold), with ``evidence``
    (the statistic then) and ``confidence``."""

    kind: ChangeKind
    index: int
    alarm: int
    evidence: float
    confidence: float = 0.0


def _lbeta(a: float, b: float) -> float:
    return lgamma(a) + lgamma(b) - lgamma(a + b)


class _Baseline:
    """A state's last ``memory`` points, as "other-state outcome" bits, and their sum."""

    __slots__ = ("k", "memory", "ys")

    def __init__(self, memory: int) -> None:
        self.memory = memory
        self.ys: deque[int] = deque()
        self.k = 0

    def push(self, ys: Iterable[int]) -> None:
        for y in ys:
            self.ys.append(y)
            self.k += y
            if len(self.ys) > self.memory:
                self.k -= self.ys.popleft()


class _Scan:
    """The sequential pass over the bits (one object per series)."""

    def __init__(self, params: Params) -> None:
        self.p = params
        self.alt = (params.onset_a, params.onset_b)
        self.alt0 = _lbeta(*self.alt)
        self.clean = _Baseline(params.memory)
        self.base = self.clean

    def _push_base(self, ys: Iterable[int]) -> None:
        self.base.push(ys)

    def _null(self) -> tuple[float, float]:
        pr = self.p
        rate = (self.base.k + pr.base_a) / (len(self.base.ys) + pr.base_a + pr.base_b)
        return log(rate), log1m(rate)

    def _flip(self, blocked: bool) -> None:
        pr = self.p
        self.alt = (pr.offset_a, pr.offset_b) if blocked else (pr.onset_a, pr.onset_b)
        self.alt0 = _lbeta(*self.alt)

    def score(self, k: int, n: int, lp: float, lq: float) -> float:
        a, b = self.alt
        return lgamma(a + k) + lgamma(b + n - k) - lgamma(a + b + n) - self.alt0 - k * lp - (
            n - k) * lq

    def run(self, bits: Sequence[int]) -> list[Change]:
        out: list[Change] = []
        pre = _prefix(bits)
        blocked = False
        last = 0  # index of the last change (0: the series start)
        start = -1  # first index of the excursion (-1: none)
        k = n = 0
        lp = lq = 0.0
        for i, x in enumerate(bits):
            y = 1 - x if blocked else x
            if start < 0:
                if not y:
                    self._push_base((0,))
                    continue
                start, k, n = i, 0, 0
                lp, lq = self._null()
            k += y
            n += 1
            s = self.score(k, n, lp, lq)
            if s <= 0.0 or (n > self.p.memory and s < self.p.threshold):
                # noise, or the state's new normal (an excursion longer than the memory that
                # never made the case): into the baseline
                self._push_base(1 - b if blocked else b for b in bits[start:i + 1])
                start = -1
            elif s >= self.p.threshold:
                lo = max(last, start - self.p.memory)
                at, split = self._locate(pre, bits, lo, start, i, blocked)
                if at > lo and _posterior(split) < self.p.confirm:
                    continue  # (a series that starts changed has nothing to compare with)
                last = at
                out.append(Change("offset" if blocked else "onset", at, i, s))
                blocked = not blocked
                self._flip(blocked)
                # a network's noise outlives a block: the clean baseline is kept across
                # blocks; each block's own rate is learnt afresh
                self.base = _Baseline(self.p.memory) if blocked else self.clean
                self._push_base(1 - b if blocked else b for b in bits[at:i + 1])
                start = -1
        return out

    def _locate(self, pre: Sequence[int], bits: Sequence[int], lo: int, start: int, end: int,
                blocked: bool) -> tuple[int, float]:
        """The run start in ``[start, end]`` that best splits ``[lo, end]`` in two rates (the
        largest split Bayes factor, earliest on ties), and that split's log Bayes factor."""
        want = 0 if blocked else 1
        best_at, best = start, -math.inf
        for j in range(start, end + 1):
            if bits[j] == want and (j == start or bits[j - 1] != want):
                s = _split_lbf(pre, lo, j, end + 1)
                if s > best:
                    best_at, best = j, s
        return best_at, best


def log1m(rate: float) -> float:
    """ln(1 - rate)."""
    return log(1.0 - rate)


def _segment_lml(k: int, n: int) -> float:
    """ln of the Beta(1, 1)-Binomial marginal likelihood of one ordered sequence."""
    return _lbeta(1.0 + k, 1.0 + n - k)


def _prefix(bits: Sequence[int]) -> list[int]:
    out = [0]
    for b in bits:
        out.append(out[-1] + b)
    return out


def _split_lbf(pre: Sequence[int], lo: int, at: int, hi: int) -> float:
    """ln Bayes factor of two rates split at ``at`` against one rate over ``[lo, hi)``
    (``pre``: the prefix sums of the bits)."""
    k1, n1 = pre[at] - pre[lo], at - lo
    k2, n2 = pre[hi] - pre[at], hi - at
    return _segment_lml(k1, n1) + _segment_lml(k2, n2) - _segment_lml(k1 + k2, n1 + n2)


def _posterior(log_bf: float) -> float:
    """The posterior probability of a Bayes factor at even prior odds."""
    if log_bf > 50:
        return 1.0
    bf = exp(log_bf)
    return bf / (1.0 + bf)


def _confidence(pre: Sequence[int], lo: int, at: int, hi: int) -> float:
    """Posterior probability of a split at ``at`` against one rate over ``[lo, hi)``."""
    return _posterior(_split_lbf(pre, lo, at, hi))


def find_changes(bits: Sequence[int], params: Params = PARAMS) -> list[Change]:
    """The changes of a 0/1 sequence (1: blocked), each with its confidence."""
    found = _Scan(params).run(bits)
    m = params.memory
    pre = _prefix(bits)
    out: list[Change] = []
    for n, c in enumerate(found):
        prev = found[n - 1].index if n else 0
        nxt = found[n + 1].index if n + 1 < len(found) else len(bits)
        conf = _confidence(pre, max(prev, c.index - m), c.index, min(nxt, c.index + m))
        out.append(Change(c.kind, c.index, c.alarm, c.evidence, conf))
    return out


def _after(points: Sequence[VerdictPoint], lo: int, hi: int) -> tuple[tuple[str, ...],
                                                                        tuple[str, ...]]:
    mechanisms: set[str] = set()
    endpoints: set[str] = set()
    for p in points[lo:hi]:
        if p.outcome in BLOCKED:
            if p.mechanism:
                mechanisms.add(p.mechanism)
            endpoints.update(p.endpoints)
    return tuple(sorted(mechanisms)), tuple(sorted(endpoints))


def detect_changes(key: SeriesKey, points: Iterable[VerdictPoint], *,
                   params: Params = PARAMS, since: datetime | None = None,
                   ordered: bool = False) -> list[ChangePoint]:
    """The onsets and offsets of blocking in the series ``key`` made of ``points``.

    Points are de-duplicated by uid and sorted by ``(time, uid)`` first (``ordered``: they
    already are, as :func:`~.series.build_series` gives them); the blocked/impaired points and
    the clean points that speak for the series count (:func:`~.series.readings`). ``since``:
    the points before it are warm-up (the baseline) and only changes at or after it are
    returned. An onset's ``mechanisms``/``endpoints`` are those of the blocked measurements
    from it to the next change.
    """
    series = points if ordered and isinstance(points, list) else ordered_points(points)
    if not any(p.outcome in BLOCKED for p in series):
        return []  # never blocked: nothing began or ended
    read, bits = readings(key, series)
    changes = find_changes(bits, params)
    out: list[ChangePoint] = []
    for n, c in enumerate(changes):
        first = read[c.index]
        if since is not None and first.measurement_start_time < since:
            continue
        before = read[c.index - 1] if c.index else None
        nxt = changes[n + 1].index if n + 1 < len(changes) else len(read)
        mechanisms, endpoints = _after(read, c.index, nxt) if c.kind == "onset" else ((), ())
        out.append(ChangePoint(
            key=key, kind=c.kind, at=first.measurement_start_time, first_uid=first.measurement_uid,
            last_before_uid=None if before is None else before.measurement_uid,
            last_before_at=None if before is None else before.measurement_start_time,
            confidence=c.confidence, mechanisms=mechanisms, endpoints=endpoints,
            detector=DETECTOR))
    return out
