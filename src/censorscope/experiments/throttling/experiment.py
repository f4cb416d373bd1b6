"""Throttling as the registry knows it: name, test name and version, URL inputs, options."""

from __future__ import annotations

from typing import Any

from censorscope.experiments.interface import Experiment, ExperimentSettings, InputKind

from .measurer import TEST_NAME, TEST_VERSION, ThrottlingMeasurer
from .options import OPTIONS, ThrottlingOptions

__all__ = ["EXPERIMENT", "make_measurer", "summary_row"]


def make_measurer(settings: ExperimentSettings) -> ThrottlingMeasurer:
    """One measurer for a whole run (``ValueError`` naming the key of a bad option)."""

    return ThrottlingMeasurer(ThrottlingOptions.from_settings(settings))


def _warnings(settings: ExperimentSettings) -> list[str]:
    if not (settings.options.get("control_url") or "").strip():
        return ["no throttling.control_url: the verdict rests on the target's own plateau "
                "(throttled only for a flat policer rate, ok from 10 Mbit/s)"]
    return []


def summary_row(measurement: dict[str, Any]) -> tuple[str, str]:
    """The probe summary table's columns: ``throttled 146.0/950107.4 kbit/s`` (the verdict with
    the plateaus) and the target's failure (``-`` without one)."""

    tk = measurement.get("test_keys") or {}
    target, control = tk.get("target") or {}, tk.get("control") or {}
    rates = "/".join(str(d.get("plateau_kbps")) for d in (target, control) if d)
    verdict = f"{tk.get('verdict') or 'unknown'} {rates} kbit/s" if rates else "unknown"
    failure = target.get("failure")
    step = f"{target.get('failed_operation')}: {failure}" if failure else "-"
    return verdict, step


EXPERIMENT = Experiment(
    name="throttling",
    test_name=TEST_NAME,
    test_version=TEST_VERSION,
    inputs=InputKind.URLS,
    factory=make_measurer,
    description="A fixed-size download from the target and from a control: handshake time, "
                "time to first byte, throughput over time, plateau rate and their ratio.",
    warnings=_warnings,
    options=OPTIONS,
    summary=summary_row,
)
