"""Web Connectivity as the registry knows it: name, OONI test name and version, URL inputs,
the factory that builds the run's measurer from the probe's settings, and the warning a run
without a control deserves.
"""

from __future__ import annotations

from censorscope.experiments.interface import Experiment, ExperimentSettings, InputKind

from .envelope import TEST_NAME, TEST_VERSION
from .measurer import WebConnectivityMeasurer
from .options import WebConnectivityOptions

__all__ = ["EXPERIMENT", "make_measurer"]


def make_measurer(settings: ExperimentSettings) -> WebConnectivityMeasurer:
    """One measurer for a whole run (it keeps OONI's DoH schedule across URLs)."""

    return WebConnectivityMeasurer(WebConnectivityOptions.from_settings(settings))


def _warnings(settings: ExperimentSettings) -> list[str]:
    if not settings.control_url:
        return ["no control URL configured: blocking/accessible will be null"]
    return []


EXPERIMENT = Experiment(
    name="web_connectivity",
    test_name=TEST_NAME,
    test_version=TEST_VERSION,
    inputs=InputKind.URLS,
    factory=make_measurer,
    description="DNS, TCP, TLS and HTTP(S) from the probe compared with the control.",
    warnings=_warnings,
)
