"""The lab clock's arithmetic: anchors, rate, the hold below the next phase, round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from censorscope.model.labclock import LabClock

T0 = 1_800_000_000.0  # a real time (epoch seconds)
DELTA = datetime(2022, 9, 14, 12, 11, tzinfo=UTC)
CONNECT = datetime(2022, 9, 14, 17, 55, tzinfo=UTC)


def _clock() -> LabClock:
    c = LabClock("az-2022-tiktok", rate=600)
    c = c.switched("before", T0, datetime(2022, 9, 14, 6, 0, tzinfo=UTC), DELTA)
    return c.switched("blocked-delta", T0 + 30, DELTA, CONNECT)


def test_scenario_time_runs_at_the_rate_from_the_phase_start() -> None:
    c = _clock()
    assert c.at(T0 + 30) == DELTA
    assert c.at(T0 + 31) == DELTA + timedelta(minutes=10)
    assert c.at(datetime.fromtimestamp(T0 + 36, UTC)) == DELTA + timedelta(hours=1)
    assert c.phase == "blocked-delta"


def test_held_below_the_next_phase_and_never_before_its_own() -> None:
    c = _clock()
    assert c.at(T0 + 29) < DELTA, "before the switch: the previous phase's time"
    assert c.at(T0 + 10_000) == CONNECT - timedelta(seconds=1)
    # a measurement started in the second of the switch (whole seconds) is in the new phase
    c2 = LabClock("x", rate=600).switched("a", T0, DELTA, None).switched(
        "b", T0 + 5.7, CONNECT, None)
    assert c2.at(T0 + 5) == CONNECT
    assert c2.anchor_for(T0 + 5) is not None and c2.anchor_for(T0 + 5).phase == "b"  # type: ignore[union-attr]


def test_undated_phase_continues_the_clock_and_json_round_trips() -> None:
    c = _clock().switched("restored", T0 + 33, None, None)
    assert c.at(T0 + 33) == DELTA + timedelta(minutes=30)
    assert c.at(T0 + 34) == DELTA + timedelta(minutes=40)
    again = LabClock.from_json(c.to_json())
    assert again == c
    assert again.to_json()["anchors"][1]["scenario"] == "2022-09-14T12:11:00Z"
