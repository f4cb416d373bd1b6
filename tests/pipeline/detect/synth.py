"""Synthetic verdict series with known change points, and how to score a detector on them.

:func:`generate` draws one series of a :class:`Regime`: alternating clean and blocked phases
(the first clean unless ``start_blocked``), each of a random number of measurements, taken at
random intervals (exponential, mean ``gap_hours``) with, now and then, a silence of days
(``silence_prob``, ``silence_days``); a clean phase's measurements are blocked with
probability ``false_positive`` (a scorer's false positives, a flaky network), a blocked phase's
with probability ``block_rate`` (below 1: partial blocking, e.g. a service half of whose
domains are blocked); a share ``down_rate`` of the measurements are ``down``/``insufficient``
(the detectors skip them). The truth is the index (among the ok/blocked measurements) of the
first measurement of each phase after the first.

:func:`evaluate` scores a detector's changes against the truth: a detected change of the
right kind matches a true one when it lies from ``early`` measurements before it up to the
next true change (the earliest such detection, once); precision, recall, the location error
(measurements between the reported change and the true one) and the detection delay (from
the true change to the measurement whose evidence decided it, in measurements and in hours).
The scenarios of :data:`REGIMES` are what docs/detection.md reports (bench/detect_quality.py).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

from censorscope.model.detection import SeriesKey, VerdictPoint, domain_target
from censorscope.pipeline.detect.changepoints import Change, find_changes
from censorscope.pipeline.detect.ooni_cusum import ooni_changes

START = datetime(2022, 9, 1)
KEY = SeriesKey("AZ", 29049, domain_target("www.tiktok.com"))


@dataclass(frozen=True)
class Regime:
    """How a family of synthetic series is drawn (see the module docstring)."""

    name: str
    phases: int
    phase_len: tuple[int, int]
    false_positive: float = 0.0
    block_rate: float = 1.0
    gap_hours: float = 1.0
    silence_prob: float = 0.0
    silence_days: tuple[float, float] = (2.0, 7.0)
    down_rate: float = 0.0
    start_blocked: bool = False
    first_len: tuple[int, int] | None = None
    note: str = ""


REGIMES: tuple[Regime, ...] = (
    Regime("lab", 5, (3, 6), gap_hours=0.1,
           note="3-6 measurements per phase, every ~6 min, no noise"),
    Regime("dense", 6, (20, 60), false_positive=0.05, block_rate=0.95, gap_hours=1.0,
           down_rate=0.05, note="hourly, 5% false positives, 95% blocked"),
    Regime("sparse", 5, (8, 30), false_positive=0.03, block_rate=0.9, gap_hours=12.0,
           silence_prob=0.08, note="every ~12 h with silences of 2-7 days"),
    Regime("partial", 4, (30, 60), false_positive=0.03, block_rate=0.5, gap_hours=2.0,
           note="half the measurements blocked while blocked (a service, some domains)"),
    Regime("noisy", 4, (40, 80), false_positive=0.15, block_rate=0.95, gap_hours=1.0,
           note="a flaky network: 15% false positives"),
    Regime("isolated", 1, (300, 300), false_positive=0.02, gap_hours=1.0,
           note="no change: 300 measurements, 2% isolated failures"),
)


@dataclass
class Series:
    """One synthetic series: its points (all outcomes), and the truth over the ok/blocked ones."""

    points: list[VerdictPoint]
    truth: list[tuple[str, int]]
    times: list[datetime] = field(default_factory=list)  # of the ok/blocked points
    bits: list[int] = field(default_factory=list)


def generate(regime: Regime, seed: int, key: SeriesKey = KEY) -> Series:
    """One series of ``regime`` (the same seed, the same series)."""
    rng = random.Random(f"{regime.name}:{seed}")
    t = START + timedelta(minutes=rng.randrange(60))
    points: list[VerdictPoint] = []
    truth: list[tuple[str, int]] = []
    times: list[datetime] = []
    bits: list[int] = []
    blocked = regime.start_blocked
    for phase in range(regime.phases):
        lo, hi = regime.first_len if phase == 0 and regime.first_len else regime.phase_len
        if phase:
            truth.append(("onset" if blocked else "offset", len(bits)))
        want = rng.randint(lo, hi)
        got = 0
        while got < want:
            t += timedelta(hours=rng.expovariate(1.0 / regime.gap_hours))
            if rng.random() < regime.silence_prob:
                t += timedelta(days=rng.uniform(*regime.silence_days))
            uid = f"{regime.name}-{seed}-{len(points):05d}"
            if rng.random() < regime.down_rate:
                outcome = rng.choice(("down", "insufficient"))
            else:
                rate = regime.block_rate if blocked else regime.false_positive
                outcome = "blocked" if rng.random() < rate else "ok"
                times.append(t)
                bits.append(1 if outcome == "blocked" else 0)
                got += 1
            points.append(_point(key, uid, t, outcome))
        blocked = not blocked
    return Series(points, truth, times, bits)


def _point(key: SeriesKey, uid: str, t: datetime, outcome: str) -> VerdictPoint:
    blocked = outcome == "blocked"
    return VerdictPoint(
        measurement_uid=uid, measurement_start_time=t, probe_cc=key.probe_cc,
        probe_asn=key.probe_asn, probe_network_name=f"AS{key.probe_asn}",
        test_name="web_connectivity", input="https://www.tiktok.com/", domain="www.tiktok.com",
        outcome=outcome, layer="tls" if blocked else None,
        mechanism="tls.timeout.sni" if blocked else None, rules_version="synthetic",
        endpoints=("www.tiktok.com",) if blocked else (), control_ok=True)


Detector = Callable[[Sequence[datetime], Sequence[int]], list[Change]]


def ours(times: Sequence[datetime], bits: Sequence[int]) -> list[Change]:
    return find_changes(bits)


def ooni(times: Sequence[datetime], bits: Sequence[int]) -> list[Change]:
    return ooni_changes(times, bits)


DETECTORS: dict[str, Detector] = {"censorscope": ours, "ooni-cusum": ooni}


@dataclass
class Score:
    """What a detector achieved over a set of series."""

    true: int = 0
    detected: int = 0
    matched: int = 0
    measurements: int = 0
    location: list[int] = field(default_factory=list)
    delay: list[int] = field(default_factory=list)
    delay_hours: list[float] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.matched / self.detected if self.detected else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.true if self.true else 1.0

    @property
    def false_per_1000(self) -> float:
        return 1000.0 * (self.detected - self.matched) / max(self.measurements, 1)

    def row(self) -> dict[str, float | int | None]:
        def med(xs: Sequence[float]) -> float | None:
            return round(float(median(xs)), 2) if xs else None

        def p90(xs: Sequence[float]) -> float | None:
            return round(float(sorted(xs)[int(0.9 * (len(xs) - 1))]), 2) if xs else None

        return {"true": self.true, "detected": self.detected, "matched": self.matched,
                "precision": round(self.precision, 3), "recall": round(self.recall, 3),
                "false_per_1000": round(self.false_per_1000, 2),
                "location_median": med(self.location), "location_p90": p90(self.location),
                "delay_median": med(self.delay), "delay_p90": p90(self.delay),
                "delay_hours_median": med(self.delay_hours)}


def evaluate(detector: Detector, series: Sequence[Series], *, early: int = 2) -> Score:
    """Score ``detector`` on ``series`` (see the module docstring)."""
    score = Score()
    for s in series:
        found = detector(s.times, s.bits)
        score.true += len(s.truth)
        score.detected += len(found)
        score.measurements += len(s.bits)
        used: set[int] = set()
        for n, (kind, at) in enumerate(s.truth):
            end = s.truth[n + 1][1] if n + 1 < len(s.truth) else len(s.bits)
            hits = [i for i, c in enumerate(found)
                    if i not in used and c.kind == kind and at - early <= c.index < end]
            if not hits:
                continue
            c = found[hits[0]]
            used.add(hits[0])
            score.matched += 1
            score.location.append(abs(c.index - at))
            score.delay.append(c.alarm - at)
            score.delay_hours.append((s.times[c.alarm] - s.times[at]).total_seconds() / 3600)
    return score


def run_all(seeds: int = 200, regimes: Sequence[Regime] = REGIMES
            ) -> dict[str, dict[str, Score]]:
    """Every detector on ``seeds`` series of every regime: regime -> detector -> score."""
    out: dict[str, dict[str, Score]] = {}
    for regime in regimes:
        series = [generate(regime, seed) for seed in range(seeds)]
        out[regime.name] = {name: evaluate(det, series) for name, det in DETECTORS.items()}
    return out
