"""The plateau estimator and the throttling verdict (censorscope.model.throughput) on synthetic
sample series: paced packets, a policer's burst, stalls, quantisation, short downloads."""

from __future__ import annotations

import itertools
import random

import pytest

from censorscope.model.throughput import (
    FLAT_CV,
    BodyRate,
    Plateau,
    body_rate,
    first_byte_time,
    judge,
    kbps,
    plateau,
    rate_from_events,
    samples_of,
    window_for,
)

MSS = 1448


def paced(rate_bps: float, seconds: float, *, every: float = 0.1, start: float = 1.0,
          offset: int = 4000, burst: int = 0, jitter: float = 0.0, seed: int = 1
          ) -> list[tuple[float, int]]:
    """Cumulative byte samples of a flow whose MSS-sized packets arrive at ``rate_bps``
    (bytes/s) from ``start`` on (``burst`` bytes at once first), sampled every ``every``
    seconds (± ``jitter``), counting ``offset`` handshake bytes before the body."""
    rng = random.Random(seed)
    gap = MSS / rate_bps
    out, t = [], start
    while t <= start + seconds:
        n = int((t - start) / gap) + 1  # packets arrived by t
        out.append((round(t, 6), offset + min(burst + n * MSS, 10**12)))
        t += every + rng.uniform(-jitter, jitter)
    return out


@pytest.mark.parametrize("kbit", [64, 128, 150, 256, 1000])
def test_plateau_of_paced_packets_despite_quantisation(kbit: int) -> None:
    rate = kbit * 1000 / 8
    samples = paced(rate, 6.0)
    p = plateau(samples, 1.0, window=window_for(0.1))
    assert p.method == "windows" and p.windows > 100
    assert p.rate == pytest.approx(rate, rel=0.05)
    # per-interval medians are quantised: at 150 kbit/s one or two packets per 100 ms
    per_interval = sorted((b2 - b1) / (t2 - t1) for (t1, b1), (t2, b2)
                          in itertools.pairwise(samples))
    if kbit == 150:
        assert per_interval[len(per_interval) // 2] < 0.8 * rate  # why pairs are long


def test_policer_burst_is_left_out() -> None:
    rate = 150_000 / 8
    # a bucket's worth arrives at once after the first byte at 1.0 s
    samples = [(0.9, 4000), *paced(rate, 8.0, burst=60_000)]
    mean = (samples[-1][1] - samples[0][1]) / (samples[-1][0] - 1.0)
    assert mean > 1.3 * rate
    assert plateau(samples, 1.0, window=0.5).rate == pytest.approx(rate, rel=0.05)


def test_lumpy_shaper_averages_out() -> None:
    # a shaper releasing 16 KiB GSO segments at 150 kbit/s: one lump every 0.87 s, sampled
    # every 0.1 s (most intervals see nothing, a few a whole lump)
    rate, lump = 150_000 / 8, 16_384
    samples = [(round(1.0 + 0.1 * i, 3), 4000 + lump * int(0.1 * i * rate / lump + 1))
               for i in range(60)]
    per_interval = [b2 - b1 for (_, b1), (_, b2) in itertools.pairwise(samples)]
    assert per_interval.count(0) > len(per_interval) // 2
    p = plateau(samples, 1.0, window=0.5)
    assert p.rate == pytest.approx(rate, rel=0.12) and p.cv is not None and p.cv > 0.3


def test_window_spans_two_round_trips() -> None:
    assert window_for(0.1) == 0.5 and window_for(0.25) == 1.25
    assert window_for(0.1, round_trip=0.6) == 1.2


def test_jittered_sampling_times() -> None:
    rate = 18_750.0
    samples = paced(rate, 6.0, jitter=0.04, seed=7)
    assert plateau(samples, 1.0, window=0.5).rate == pytest.approx(rate, rel=0.05)


def test_flat_and_bursty_cv() -> None:
    flat = plateau(paced(18_750.0, 6.0), 1.0, window=0.5)
    assert flat.cv is not None and flat.cv <= FLAT_CV
    # on-off: 0.5 s at 100 kB/s, 0.5 s of nothing
    bursty, total, t = [], 0, 1.0
    while t <= 7.0:
        bursty.append((round(t, 3), total))
        if int((t - 1.0) / 0.5) % 2 == 0:
            total += 10_000
        t += 0.1
    p = plateau(bursty, 1.0, window=0.5)
    assert p.cv is not None and p.cv > 0.5


def test_short_download_falls_back_to_the_mean() -> None:
    # a 512 KiB body within one interval: the sample before the first byte and the last one
    samples = [(0.1, 3000), (0.13, 3000 + 524288)]
    p = plateau(samples, 0.11, window=0.5)
    assert p.method == "mean" and p.windows == 0
    assert p.rate == pytest.approx(524288 / 0.02)
    # no sample before the first byte: counted from 0 bytes
    assert plateau([(0.13, 524288)], 0.11, window=0.5).rate == pytest.approx(524288 / 0.02)


def test_no_body_no_plateau() -> None:
    assert plateau([(0.1, 4000), (0.2, 4000)], None, window=0.5) == Plateau(None, "none", 0, None)
    assert plateau([], 0.5, window=0.5).method == "none"


def test_kbps() -> None:
    assert kbps(18_750.0) == 150.0 and kbps(None) is None


def rate(started: bool = True, seconds: float = 5.0, complete: bool = False,
         r: float | None = 18_000.0, cv: float | None = 0.05) -> BodyRate:
    return BodyRate(started, seconds, complete, Plateau(r, "windows", 100, cv))


@pytest.mark.parametrize("target_rate, verdict", [
    (18_000.0, "throttled"),    # ratio 0.018
    (250_000.0, "throttled"),   # 0.25: the threshold itself
    (300_000.0, "inconclusive"),
    (500_000.0, "ok"),          # 0.5
    (2_000_000.0, "ok"),
])
def test_judge_by_ratio(target_rate: float, verdict: str) -> None:
    control = rate(seconds=0.01, complete=True, r=1_000_000.0, cv=None)
    j = judge(rate(r=target_rate), control)
    assert j.verdict == verdict and j.ratio == pytest.approx(target_rate / 1_000_000.0)


def test_judge_fast_target_is_ok_whatever_the_ratio() -> None:
    # scheduling noise on a loaded machine: a 512 KiB body in 0.3 s against one in 3 ms
    j = judge(rate(seconds=0.3, complete=True, r=1.7e6), rate(seconds=0.003, complete=True,
                                                                 r=1.7e8))
    assert j.verdict == "ok" and j.ratio == pytest.approx(0.01)


def test_judge_inconclusive_cases() -> None:
    fast = rate(seconds=0.01, complete=True, r=1e8)
    assert judge(rate(started=False, r=None), fast).verdict == "inconclusive"
    assert judge(rate(), rate(started=False, r=None)).reason.startswith("the control")
    assert judge(rate(seconds=0.5, complete=False), fast).verdict == "inconclusive"


def test_judge_without_control() -> None:
    assert judge(rate(r=18_750.0, cv=0.05), None).verdict == "throttled"   # flat 150 kbit/s
    assert judge(rate(r=18_750.0, cv=0.5), None).verdict == "inconclusive"  # not flat
    assert judge(rate(r=200_000.0, cv=0.01), None).verdict == "inconclusive"  # 1.6 Mbit/s
    assert judge(rate(r=2_000_000.0, cv=None), None).verdict == "ok"  # 16 Mbit/s
    assert judge(rate(r=None, cv=None), None).verdict == "inconclusive"


def _events(tid: int) -> list[dict[str, object]]:
    return [
        {"operation": "read", "num_bytes": 3000, "t": 0.05, "transaction_id": tid},
        {"operation": "bytes_received_cumulative", "num_bytes": 3000, "t": 0.1,
         "transaction_id": tid},
        {"operation": "http_transaction_start", "t": 0.12, "transaction_id": tid},
        {"operation": "write", "num_bytes": 200, "t": 0.121, "transaction_id": tid},
        {"operation": "read", "num_bytes": 0, "t": 0.13, "transaction_id": tid},
        {"operation": "read", "num_bytes": 1448, "t": 0.2, "transaction_id": tid},
        {"operation": "bytes_received_cumulative", "num_bytes": 4448, "t": 0.3,
         "transaction_id": tid},
        {"operation": "read", "num_bytes": 9, "t": 0.01, "transaction_id": tid + 1},
    ]


def test_samples_and_first_byte_from_events() -> None:
    ev = _events(1)
    assert samples_of(ev, 1) == [(0.1, 3000), (0.3, 4448)]
    assert first_byte_time(ev, 1) == 0.2  # the first non-empty read after the request
    assert first_byte_time(ev, 2) is None and samples_of(ev, 3) == []
    r = rate_from_events(ev, 1, complete=True, sample_interval=0.1)
    assert r == body_rate([(0.1, 3000), (0.3, 4448)], 0.2, complete=True, window=0.5)
    assert r.started and r.body_seconds == pytest.approx(0.1)
    assert r.plateau.rate == pytest.approx(1448 / 0.1)
