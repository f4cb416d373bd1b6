"""A running lab keeps its clock: each phase switch is recorded as (real time, scenario time)
in ``clock.json``, which the lab's probe configs name; a probe in the lab stamps measurements
with it (the whole flow from a real probe: ``tests/e2e/test_detection_lab.py``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from censorscope.lab import scenarios
from censorscope.lab.schema import Scenario
from censorscope.model.labclock import LabClock
from censorscope.probe.config import load_config_file

pytestmark = pytest.mark.lab


def _dated_smoke() -> Scenario:
    data = scenarios.load("smoke").model_dump(mode="json")
    data["clock_rate"] = 600
    data["phases"]["open"]["starts_at"] = "2022-09-14T06:00:00Z"
    data["phases"]["blocked"]["starts_at"] = "2022-09-14T12:11:00Z"
    return Scenario.model_validate(data)


def test_phase_switches_are_recorded_and_probes_are_pointed_at_the_clock(
    make_lab: Callable[..., Any],
) -> None:
    lab = make_lab()
    t0 = time.time()
    st = lab.up(_dated_smoke())
    cfg = load_config_file(st.state_dir / "probe-acme.json")
    assert cfg.lab_clock == str(st.clock_file)
    clock = LabClock.from_json(json.loads(st.clock_file.read_text()))
    assert clock.scenario == "smoke" and clock.rate == 600 and clock.phase == "open"
    assert clock.anchors[0].real >= t0
    assert clock.anchors[0].until == datetime(2022, 9, 14, 12, 11, tzinfo=UTC)
    lab.phase("blocked")
    clock = LabClock.from_json(json.loads(st.clock_file.read_text()))
    assert [a.phase for a in clock.anchors] == ["open", "blocked"]
    switched = clock.anchors[1]
    assert clock.at(switched.real) == datetime(2022, 9, 14, 12, 11, tzinfo=UTC)
    assert clock.at(switched.real + 6) == datetime(2022, 9, 14, 13, 11, tzinfo=UTC)
    assert lab.status().clock == clock.to_json()


def test_a_lab_without_dates_has_no_clock(make_lab: Callable[..., Any]) -> None:
    st = make_lab().up("smoke")
    assert not st.clock_file.exists()
    assert load_config_file(st.state_dir / "probe-acme.json").lab_clock is None
