"""The change-point detector: small series, order independence, window recomputation."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from censorscope.pipeline.detect.changepoints import (
    DETECTOR,
    PARAMS,
    detect_changes,
    find_changes,
)
from censorscope.pipeline.detect.series import ordered_points
from tests.pipeline.detect.synth import KEY, REGIMES, START, _point, generate


def bits(text: str) -> list[int]:
    return [int(c) for c in text]


def kinds(text: str) -> list[tuple[str, int]]:
    return [(c.kind, c.index) for c in find_changes(bits(text))]


def points_of(text: str, *, gap: timedelta = timedelta(minutes=6)) -> list:
    return [_point(KEY, f"u{i:04d}", START + i * gap, "blocked" if c == "1" else "ok")
            for i, c in enumerate(text)]


def test_lab_switches_are_found_at_the_first_measurement_of_each_phase() -> None:
    assert kinds("000111000111") == [("onset", 3), ("offset", 6), ("onset", 9)]
    assert kinds("0000011111000000") == [("onset", 5), ("offset", 10)]


def test_decided_at_the_second_or_third_measurement_of_a_switch() -> None:
    for clean in (38, 50, 200):  # a long clean history: the second
        (onset,) = find_changes(bits("0" * clean + "11"))
        assert (onset.index, onset.alarm) == (clean, clean + 1)
    for clean in range(3, 38):  # a short one: the third
        (onset,) = find_changes(bits("0" * clean + "111"))
        assert (onset.index, onset.alarm) == (clean, clean + 2)
    onset, offset = find_changes(bits("0" * 30 + "1" * 30 + "000"))
    assert offset.index == 60 and offset.alarm - offset.index <= 2


def test_isolated_failures_never_fire() -> None:
    assert kinds("0" * 30 + "1" + "0" * 30 + "1" + "0" * 30) == []
    assert kinds("0001000000100000001000000010000") == []


def test_a_block_lifted_for_one_measurement_is_not_an_offset() -> None:
    assert kinds("0" * 20 + "1" * 20 + "0" + "1" * 20) == [("onset", 20)]


def test_series_starting_blocked_has_an_onset_without_last_clean() -> None:
    (onset, offset) = detect_changes(KEY, points_of("1111100000"))
    assert onset.kind == "onset" and onset.first_uid == "u0000"
    assert onset.last_before_uid is None and onset.last_before_at is None
    assert onset.confidence == 0.5  # nothing before: as likely a change as not
    assert offset.first_uid == "u0005" and offset.last_before_uid == "u0004"


def test_change_points_carry_uids_times_mechanisms_and_confidence() -> None:
    pts = points_of("0" * 10 + "1" * 10 + "0" * 10)
    onset, offset = detect_changes(KEY, pts)
    assert onset.kind == "onset" and onset.first_uid == "u0010"
    assert onset.last_before_uid == "u0009" and onset.at == pts[10].measurement_start_time
    assert onset.last_before_at == pts[9].measurement_start_time
    assert onset.mechanisms == ("tls.timeout.sni",) and onset.endpoints == ("www.tiktok.com",)
    assert offset.kind == "offset" and offset.first_uid == "u0020" and offset.mechanisms == ()
    assert onset.confidence > 0.99 and offset.confidence > 0.99
    assert onset.detector == DETECTOR and onset.key == KEY


def test_down_and_insufficient_points_are_skipped() -> None:
    pts = points_of("0" * 10 + "1" * 10)
    gaps = [replace(p, measurement_uid=f"d{i}", outcome="down" if i % 2 else "insufficient")
            for i, p in enumerate(pts)]
    assert detect_changes(KEY, pts + gaps) == detect_changes(KEY, pts)


def test_duplicate_measurements_count_once() -> None:
    pts = points_of("0" * 10 + "11" + "0" * 10)
    assert detect_changes(KEY, pts) == []
    doubled = pts + [replace(p, rules_version="synthetic") for p in pts]
    assert detect_changes(KEY, doubled) == []


def test_confidence_grows_with_evidence() -> None:
    short = find_changes(bits("000111"))[0].confidence
    long = find_changes(bits("0" * 30 + "1" * 30))[0].confidence
    assert 0.5 < short < long <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([r.name for r in REGIMES]), st.randoms())
def test_same_points_in_any_order_give_the_same_change_points(seed: int, regime: str,
                                                               rnd: random.Random) -> None:
    series = generate(next(r for r in REGIMES if r.name == regime), seed)
    pts = list(series.points)
    # equal times too: ties are broken by uid
    pts += [replace(p, measurement_uid=p.measurement_uid + "-twin") for p in pts[::7]]
    expect = detect_changes(KEY, pts)
    shuffled = pts[:]
    rnd.shuffle(shuffled)
    assert detect_changes(KEY, shuffled) == expect
    assert detect_changes(KEY, reversed(pts)) == expect
    assert detect_changes(KEY, ordered_points(shuffled), ordered=True) == expect


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from("0001111"), min_size=0, max_size=400).map("".join),
       st.integers(0, 400))
def test_recomputed_from_a_warm_window_equals_the_whole_series(text: str, cut: int) -> None:
    """From any point preceded by ``memory`` clean measurements on, the detector over a
    window starting at those measurements finds what it finds over the whole series."""
    m = PARAMS.memory
    seq = "0" * m + text[:cut] + "0" * m + text[cut:]
    since = m + cut + m
    whole = [(c.kind, c.index, c.alarm) for c in find_changes(bits(seq)) if c.index >= since]
    window = [(c.kind, c.index + since - m, c.alarm + since - m)
              for c in find_changes(bits(seq[since - m:])) if c.index >= m]
    assert window == whole


def test_trailing_window_with_since_matches_live_on_synthetic_series() -> None:
    checked = 0
    for seed in range(40):
        series = generate(REGIMES[1], seed)  # dense: hourly, noisy
        pts = sorted(series.points, key=lambda p: (p.measurement_start_time, p.measurement_uid))
        live = detect_changes(KEY, pts)
        # a window starting in the first clean phase, with a week of warm-up
        since = pts[len(pts) // 3].measurement_start_time
        warm = [p for p in pts if p.measurement_start_time >= since - timedelta(days=7)]
        window = detect_changes(KEY, warm, since=since)
        assert window == [c for c in live if c.at >= since]
        checked += len(window)
    assert checked > 40
