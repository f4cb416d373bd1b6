"""Probes in a lab stamp measurements with the lab clock; nowhere else.

A small registered experiment is run through the real runner with a ``probe-<isp>.json``-style
config naming a ``clock.json`` as the lab writes it: every measurement's start times (and the
report id's time) are the scenario's, the real ones are kept in ``annotations``, and a phase
switched during the run is seen by the measurements after it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from censorscope.experiments import registry
from censorscope.experiments.interface import (
    Experiment,
    ExperimentSettings,
    InputKind,
    ProbeMetadata,
)
from censorscope.model.ids import parse_report_id
from censorscope.model.labclock import LabClock
from censorscope.model.measurement import make_measurement
from censorscope.probe.config import ConfigError, ProbeConfig
from censorscope.probe.runner import run_probe

NAME = "cs_selftest_clock"
DELTA = datetime(2022, 9, 14, 12, 11, tzinfo=UTC)
CONNECT = datetime(2022, 9, 14, 17, 55, tzinfo=UTC)


class SwitchingMeasurer:
    """Measures nothing; before its second input the "lab" switches phase (rewrites the clock)."""

    def __init__(self, clock_path: Path) -> None:
        self.clock_path = clock_path
        self.calls = 0

    async def run(self, input: str | None, url: str | None, *, probe: ProbeMetadata,
                  report_id: str, test_start_time: datetime) -> dict[str, Any]:
        self.calls += 1
        if self.calls == 2:
            clock = LabClock.from_json(json.loads(self.clock_path.read_text()))
            switched = clock.switched("blocked-delta-kinetic", time.time() - 1, CONNECT, None)
            self.clock_path.write_text(json.dumps(switched.to_json()))
        await asyncio.sleep(0)
        return make_measurement(
            test_name=NAME, test_version="0.0.1", input=input, test_keys={},
            probe_asn=f"AS{probe.probe_asn}", probe_cc=probe.probe_cc,
            probe_network_name="", resolver_asn="AS0", resolver_ip="",
            resolver_network_name="", report_id=report_id, software_name="t",
            software_version="0", measurement_start_time=datetime.now(UTC),
            test_start_time=test_start_time, test_runtime=0.0, test_helpers=None,
            annotations={"platform": "linux"},
        )


@pytest.fixture
def clock_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "clock.json"
    clock = LabClock("az-2022-tiktok", rate=600).switched(
        "blocked-delta", time.time(), DELTA, CONNECT)
    path.write_text(json.dumps(clock.to_json()))
    made: list[SwitchingMeasurer] = []

    def make(settings: ExperimentSettings) -> SwitchingMeasurer:
        made.append(SwitchingMeasurer(path))
        return made[-1]

    registry.register(Experiment(name=NAME, test_name=NAME, test_version="0.0.1",
                                 inputs=InputKind.URLS, factory=make, description="test"))
    try:
        yield path
    finally:
        registry.unregister(NAME)


def _lab_config(clock: Path) -> dict[str, Any]:
    return {"isp": "delta", "probe_cc": "AZ", "probe_asn": "AS29049", "lab_clock": str(clock)}


def test_measurements_carry_scenario_time_and_the_real_time_in_annotations(
    clock_path: Path, tmp_path: Path,
) -> None:
    cfg = ProbeConfig.from_mapping(_lab_config(clock_path))
    before = datetime.now(UTC).replace(microsecond=0)
    out = tmp_path / "m.jsonl"
    result = asyncio.run(run_probe(["https://a.example/", "https://b.example/"], cfg,
                                   experiment=NAME, output=out, parallel=1))
    assert result.ok
    first, second = (json.loads(line) for line in out.read_text().splitlines())
    t1 = datetime.strptime(first["measurement_start_time"], "%Y-%m-%d %H:%M:%S")
    assert DELTA.replace(tzinfo=None) <= t1 < CONNECT.replace(tzinfo=None)
    assert first["test_start_time"].startswith("2022-09-14 12:")
    t2 = datetime.strptime(second["measurement_start_time"], "%Y-%m-%d %H:%M:%S")
    # switched a second before it started: at most a couple of real seconds (x 600) later
    assert CONNECT.replace(tzinfo=None) <= t2 <= CONNECT.replace(tzinfo=None) + timedelta(
        minutes=30), second["measurement_start_time"]
    rid = parse_report_id(first["report_id"])
    assert rid.timestamp.startswith("20220914T12"), first["report_id"]
    ann = first["annotations"]
    assert ann["platform"] == "linux"
    assert ann["lab_clock"] == "az-2022-tiktok"
    assert ann["lab_clock_phase"] == "blocked-delta"
    assert second["annotations"]["lab_clock_phase"] == "blocked-delta-kinetic"
    real = datetime.strptime(ann["lab_real_measurement_start_time"], "%Y-%m-%d %H:%M:%S")
    assert real.replace(tzinfo=UTC) >= before


def test_only_a_lab_config_gets_a_clock(clock_path: Path) -> None:
    plain = {k: v for k, v in _lab_config(clock_path).items() if k != "isp"}
    assert ProbeConfig.from_mapping(plain).lab_clock is None
    assert ProbeConfig.from_mapping(_lab_config(clock_path)).lab_clock == str(clock_path)


def test_unreadable_clock_is_a_config_error(tmp_path: Path, clock_path: Path) -> None:
    cfg = ProbeConfig.from_mapping(_lab_config(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match=r"lab_clock: cannot read .*missing\.json"):
        asyncio.run(run_probe(["https://a.example/"], cfg, experiment=NAME))
    clock_path.write_text('{"rate": 1}')
    cfg = ProbeConfig.from_mapping(_lab_config(clock_path))
    with pytest.raises(ConfigError, match=r"lab_clock: .* is not a lab clock"):
        asyncio.run(run_probe(["https://a.example/"], cfg, experiment=NAME))
