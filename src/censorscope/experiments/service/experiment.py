"""``service`` as the registry knows it: a named service (one of the bundled sets) per
measurement, the options, and the factory that loads a user's endpoint file before anything is
measured (a bad file is a usage error naming file and line)."""

from __future__ import annotations

from censorscope.experiments.interface import Experiment, ExperimentSettings, InputKind

from .endpoints import normalise_service
from .measurer import TEST_NAME, TEST_VERSION, ServiceMeasurer
from .options import OPTIONS, ServiceOptions
from .summary import summary_row

__all__ = ["EXPERIMENT", "make_measurer"]


def make_measurer(settings: ExperimentSettings) -> ServiceMeasurer:
    """One measurer for the run (ValueError for a bad option or endpoint file)."""
    return ServiceMeasurer(ServiceOptions.from_settings(settings))


def _warnings(settings: ExperimentSettings) -> list[str]:
    if not settings.ca_file:
        return ["no CA file configured: certificates are checked against the system's roots"]
    return []


EXPERIMENT = Experiment(
    name="service",
    test_name=TEST_NAME,
    test_version=TEST_VERSION,
    inputs=InputKind.TARGETS,
    factory=make_measurer,
    description="Reachability of a named service (tiktok, whatsapp, youtube …) from its "
                "endpoint set: DNS, TCP, TLS and HTTP per endpoint; available / restricted / "
                "unavailable.",
    warnings=_warnings,
    parse_input=normalise_service,
    options=OPTIONS,
    summary=summary_row,
)
