"""Throttling as the registry knows it: name, test name and version, URL inputs, options."""

from __future__ import annotations

from censorscope.experiments.interface import Experiment, ExperimentSettings, InputKind

from .measurer import TEST_NAME, TEST_VERSION, ThrottlingMeasurer
from .options import OPTIONS, ThrottlingOptions

__all__ = ["EXPERIMENT", "make_measurer"]


def make_measurer(settings: ExperimentSettings) -> ThrottlingMeasurer:
    """One measurer for a whole run (``ValueError`` naming the key of a bad option)."""

    return ThrottlingMeasurer(ThrottlingOptions.from_settings(settings))


def _warnings(settings: ExperimentSettings) -> list[str]:
    if not (settings.options.get("control_url") or "").strip():
        return ["no throttling.control_url: the verdict rests on the target's own plateau "
                "(throttled only for a flat policer rate, ok from 10 Mbit/s)"]
    return []


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
)
