"""Precision, recall and delay on synthetic series with known change points, against OONI's
CUSUM on the same series (docs/detection.md's figures come from bench/detect_quality.py)."""

from __future__ import annotations

import pytest

from tests.pipeline.detect.synth import REGIMES, Score, generate, run_all


@pytest.fixture(scope="module")
def scores() -> dict[str, dict[str, Score]]:
    return run_all(seeds=60)


def test_generator_is_deterministic_and_knows_its_change_points() -> None:
    regime = next(r for r in REGIMES if r.name == "sparse")
    a, b = generate(regime, 5), generate(regime, 5)
    assert a.points == b.points and a.truth == b.truth
    assert [k for k, _ in a.truth] == ["onset", "offset", "onset", "offset"]
    gaps = [(y - x).total_seconds() / 86400 for x, y in zip(a.times, a.times[1:], strict=False)]
    assert max(gaps) > 2  # a silence of days
    for kind, at in a.truth:  # each true change flips the phase at that measurement
        assert kind in ("onset", "offset") and 0 < at < len(a.bits)


def test_lab_series_every_switch_at_its_first_measurement(scores: dict) -> None:
    ours, ooni = scores["lab"]["censorscope"], scores["lab"]["ooni-cusum"]
    assert ours.precision == 1.0 and ours.recall == 1.0
    assert max(ours.location) == 0 and max(ours.delay) <= 2
    assert ooni.recall < 0.5  # a few measurements per phase are too few for hourly CUSUM


def test_dense_and_sparse_series(scores: dict) -> None:
    for name in ("dense", "sparse"):
        ours, ooni = scores[name]["censorscope"], scores[name]["ooni-cusum"]
        assert ours.precision >= 0.9 and ours.recall >= 0.9, name
        assert ours.row()["location_p90"] <= 1, name
        assert ours.row()["delay_median"] <= 3, name
        assert ours.row()["delay_median"] < ooni.row()["delay_median"], name
    assert scores["sparse"]["censorscope"].recall > scores["sparse"]["ooni-cusum"].recall


def test_partial_and_noisy_series_are_found(scores: dict) -> None:
    for name in ("partial", "noisy"):
        ours, ooni = scores[name]["censorscope"], scores[name]["ooni-cusum"]
        assert ours.recall >= 0.8, name
        assert ours.row()["location_median"] <= 1, name
        assert ours.row()["delay_median"] < ooni.row()["delay_median"], name


def test_isolated_failures_rarely_fire(scores: dict) -> None:
    ours = scores["isolated"]["censorscope"]
    assert ours.true == 0 and ours.false_per_1000 < 1.0
