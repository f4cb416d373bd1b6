"""Stamping measurements with the lab clock (probes running inside a lab only).

The lab keeps its scenario clock in ``clock.json`` (:class:`censorscope.model.labclock.LabClock`)
and names that file as ``lab_clock`` in the ``probe-<isp>.json`` it writes; a plain probe config
never has one (``ProbeConfig.from_mapping`` honours the key only in lab configs). With it, the
runner (``probe/runner.py``, where every measurement is written) rewrites each measurement's
``measurement_start_time`` and ``test_start_time`` into scenario time, derives the report id
from the scenario time of the run's start, and marks the measurement in ``annotations``::

    "lab_clock": "az-2022-tiktok", "lab_clock_phase": "blocked-delta",
    "lab_real_measurement_start_time": "2026-12-04 18:40:12",
    "lab_real_test_start_time": "2026-12-04 18:40:10"

The file is read again for every measurement, so a phase switched during a run is seen.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from censorscope.model.labclock import LabClock
from censorscope.model.measurement import format_time

from .config import ConfigError

__all__ = ["LabClockFile", "stamp"]

_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class LabClockFile:
    """The lab's ``clock.json``, read whenever a time is asked for."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> LabClock:
        """The clock as the lab last wrote it; :class:`ConfigError` naming the file if it cannot
        be read or is not a clock."""

        try:
            return LabClock.from_json(json.loads(self.path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise ConfigError(f"lab_clock: cannot read {self.path}: {exc.strerror}") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"lab_clock: {self.path} is not a lab clock: {exc}") from exc


def _real(text: object, fallback: datetime) -> datetime:
    if isinstance(text, str):
        try:
            return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            pass
    return fallback


def stamp(measurement: dict[str, Any], clock: LabClock, test_start: datetime) -> dict[str, Any]:
    """``measurement`` with its start times in scenario time and the real ones in
    ``annotations`` (a new dict; ``test_start`` is the run's real start)."""

    real_start = _real(measurement.get("measurement_start_time"), datetime.now(UTC))
    anchor = clock.anchor_for(real_start.timestamp())
    annotations = dict(measurement.get("annotations") or {})
    annotations.update({
        "lab_clock": clock.scenario,
        "lab_clock_phase": anchor.phase if anchor is not None else "",
        "lab_real_measurement_start_time": format_time(real_start),
        "lab_real_test_start_time": format_time(test_start),
    })
    return {**measurement,
            "measurement_start_time": format_time(clock.at(real_start)),
            "test_start_time": format_time(clock.at(test_start)),
            "annotations": annotations}
