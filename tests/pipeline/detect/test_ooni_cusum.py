"""OONI's CUSUM as published: hourly medians, h = 3.5, silent first state, gap decay."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from censorscope.pipeline.detect.ooni_cusum import OONI_PARAMS, ooni_changes, ooni_cusum
from tests.pipeline.detect.synth import KEY, _point

T0 = datetime(2026, 1, 10)


def hourly(text: str, *, start: datetime = T0) -> tuple[list[datetime], list[int]]:
    return [start + timedelta(hours=i) for i in range(len(text))], [int(c) for c in text]


def test_parameters_are_ooni_s() -> None:
    assert (OONI_PARAMS.mu0, OONI_PARAMS.mu1, OONI_PARAMS.edd) == (0.0, 0.7, 10.0)
    assert OONI_PARAMS.h == 3.5


def test_first_state_is_set_silently_then_changes_are_reported_at_the_crossing_hour() -> None:
    # 10 clean hours set the ok state (s_neg 0.35/h crosses 3.5 at the 11th), no event
    times, bits = hourly("0" * 11 + "1" * 8 + "0" * 12)
    changes = ooni_changes(times, bits)
    # s_pos grows 0.65 per blocked hour: crosses 3.5 at the 6th
    assert [(c.kind, c.index) for c in changes] == [("onset", 16), ("offset", 19 + 10)]


def test_a_short_block_is_missed_and_so_is_one_at_the_series_start() -> None:
    assert ooni_changes(*hourly("0" * 20 + "11111" + "0" * 20)) == []
    assert ooni_changes(*hourly("1" * 30 + "0" * 3)) == []  # silently blocked


def test_hourly_median_hides_partial_blocking() -> None:
    # four measurements an hour, one blocked in each: the median is 0, never a change
    times = [T0 + timedelta(minutes=15 * i) for i in range(4 * 48)]
    bits = [1 if i % 4 == 0 else 0 for i in range(len(times))]
    assert ooni_changes(times, bits) == []


def test_gaps_decay_the_sums() -> None:
    text = "0" * 11 + "11111"  # s_pos = 3.25 after five blocked hours
    times, bits = hourly(text)
    times += [times[-1] + timedelta(hours=1)]
    bits += [1]
    assert [c.kind for c in ooni_changes(times, bits)] == ["onset"]
    times[-1] = times[-2] + timedelta(hours=96)  # 0.25 x 3.25 + 0.65 < 3.5
    assert ooni_changes(times, bits) == []


def test_change_points_from_points_in_any_order() -> None:
    pts = [_point(KEY, f"u{i:03d}", T0 + timedelta(hours=i), "blocked" if 15 <= i < 30 else "ok")
           for i in range(50)]
    expect = ooni_cusum(KEY, pts)
    assert [(c.kind, c.first_uid, c.last_before_uid) for c in expect] == [
        ("onset", "u020", "u019"), ("offset", "u040", "u039")]
    random.Random(3).shuffle(pts)
    assert ooni_cusum(KEY, pts) == expect
