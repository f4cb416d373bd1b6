"""How many measurements a network is expected to send per time bucket: a robust baseline.

The outage detector (:mod:`censorscope.pipeline.detect.outages`) compares the measurement
volume of a bucket with what this history predicts, IODA-style (``observatories.md`` §2.3,
§7): the **median of the same hour-of-week** over the past weeks (``weeks``, at least
``min_weeks`` of them seen); with less history, the median of the same hour-of-day over the
past days (at least ``min_days``), else the median of the ``recent`` previous buckets (at
least ``min_recent``, and only after ``recent_warmup_days`` of history: before a day has been
seen a night is indistinguishable from an outage) — each fallback weaker
(:data:`TIER_WEIGHT`, which the detector folds into its confidence). A bucket's stored value
is what it counted, or, once it turned out to be part of an outage, the prediction
(*inpainting*, so an outage does not drag the median down); while that is undecided it is
left out (``None``). :meth:`VolumeHistory.reset` forgets the
past after a level shift ("the new normal", IODA's 7-day cap). A network measured only now
and then (fewer than ``min_active_share`` of the buckets of the last ``activity_days`` had
measurements: manual runs, a lab replaying a case's dates) has no expected volume at all.

Counts are small and bursty (a probe run sends tens of measurements in a minute), so the
detector tests a drop with a quasi-Poisson tail (:func:`poisson_cdf` on counts divided by the
dispersion :attr:`VolumeHistory.dispersion`, Pearson's statistic over the normal buckets),
widened for a median of few past buckets (:func:`estimate_noise`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median
from typing import Final

__all__ = ["TIER_WEIGHT", "BaselineParams", "VolumeHistory", "estimate_noise", "poisson_cdf"]

TIER_WEIGHT: Final = {"hour_of_week": 1.0, "hour_of_day": 0.75, "recent": 0.5}


@dataclass(frozen=True)
class BaselineParams:
    """How much history each baseline tier looks at and needs."""

    weeks: int = 8
    min_weeks: int = 3
    days: int = 7
    min_days: int = 1
    recent: int = 24
    min_recent: int = 6
    recent_warmup_days: float = 1.0
    activity_days: float = 7.0
    min_active_share: float = 0.5
    min_dispersion_samples: int = 12


class VolumeHistory:
    """The stored volumes of one network's buckets from bucket ``first`` on."""

    def __init__(self, first: int, per_day: int, params: BaselineParams) -> None:
        self._first = first
        self._floor = first
        self._per_day = per_day
        self._per_week = 7 * per_day
        self._p = params
        self._stored: list[float | None] = []
        self._active = [0]  # prefix sums of the buckets that were active, from ``first``
        self._window = max(1, round(params.activity_days * per_day))
        self._pearson = 0.0
        self._expected_sum = 0.0
        self._samples = 0

    def set(self, b: int, value: float | None) -> None:
        """Store bucket ``b``'s value (None: undecided or excluded)."""
        i = b - self._first
        while len(self._stored) <= i:
            self._stored.append(None)
        self._stored[i] = value

    def arrived(self, b: int, active: bool) -> None:
        """Record whether bucket ``b`` (the next one, in order) was active: measurements
        arrived, or it is being judged as part of an outage."""
        i = b - self._first
        while len(self._active) <= i:
            self._active.append(self._active[-1])
        self._active.append(self._active[-1] + active)

    def active_share(self, b: int) -> float:
        """The share of active buckets among the ``activity_days`` before bucket ``b``."""
        i = min(b - self._first, len(self._active) - 1)
        window = min(self._window, b - self._floor, i)
        if window <= 0:
            return 0.0
        return (self._active[i] - self._active[i - window]) / window

    def _get(self, b: int) -> float | None:
        i = b - self._first
        if b < self._floor or i < 0 or i >= len(self._stored):
            return None
        return self._stored[i]

    def _lookback(self, b: int, step: int, count: int) -> list[float]:
        values = (self._get(b - k * step) for k in range(1, count + 1))
        return [v for v in values if v is not None]

    def expected(self, b: int) -> tuple[float, str, int] | None:
        """The predicted count of bucket ``b``, the tier that predicted it and the number of
        past buckets the median is of, or None."""
        p = self._p
        if self.active_share(b) < p.min_active_share:
            return None  # measured now and then, not regularly: no volume to expect
        for tier, step, count, least in (("hour_of_week", self._per_week, p.weeks, p.min_weeks),
                                         ("hour_of_day", self._per_day, p.days, p.min_days),
                                         ("recent", 1, p.recent, p.min_recent)):
            if step == 1 and b - self._floor < p.recent_warmup_days * self._per_day:
                return None  # without a day of history a night looks like an outage
            values = self._lookback(b, step, count)
            if len(values) >= least:
                return float(median(values)), tier, len(values)
        return None

    def observe(self, count: int, expected: float, samples: int) -> None:
        """Record a normal bucket's count against its prediction, a median of ``samples``
        past buckets (for the dispersion)."""
        if expected > 0:
            self._pearson += (count - expected) ** 2
            self._expected_sum += expected * estimate_noise(samples)
            self._samples += 1

    @property
    def dispersion(self) -> float:
        """Variance over mean of the counts around their predictions (at least 1)."""
        if self._samples < self._p.min_dispersion_samples or self._expected_sum <= 0:
            return 1.0
        return max(1.0, self._pearson / self._expected_sum)

    def reset(self, b: int) -> None:
        """Forget everything before bucket ``b`` (a level shift: the new normal)."""
        self._floor = b
        self._pearson = self._expected_sum = 0.0
        self._samples = 0


def poisson_cdf(k: float, lam: float) -> float:
    """P(X <= k) for X ~ Poisson(lam) (``k`` rounded down; 1.0 when lam <= 0)."""
    if lam <= 0:
        return 1.0
    top = math.floor(k)
    if top < 0:
        return 0.0
    log_lam = math.log(lam)
    total = 0.0
    for i in range(top + 1):
        total += math.exp(-lam + i * log_lam - math.lgamma(i + 1))
    return min(1.0, total)


def estimate_noise(samples: int) -> float:
    """How much a median of ``samples`` past Poisson counts widens the spread of a new count
    around it: Var(n - median) = lam * (1 + (pi/2) / samples)."""
    return 1.0 + (math.pi / 2) / max(1, samples)
