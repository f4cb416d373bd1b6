"""``tls_sni`` as the registry knows it: name, test name and version, target inputs, its
options and the factory building the run's measurer from the probe's settings."""

from __future__ import annotations

from censorscope.experiments.interface import Experiment, ExperimentSettings, InputKind

from .measurer import TEST_NAME, TEST_VERSION, TLSSNIMeasurer
from .options import OPTIONS, TLSSNIOptions, parse_target
from .summary import summary_row

__all__ = ["EXPERIMENT", "make_measurer"]


def make_measurer(settings: ExperimentSettings) -> TLSSNIMeasurer:
    """One measurer for a whole run (ValueError naming a bad option)."""

    return TLSSNIMeasurer(TLSSNIOptions.from_settings(settings))


EXPERIMENT = Experiment(
    name="tls_sni",
    test_name=TEST_NAME,
    test_version=TEST_VERSION,
    inputs=InputKind.TARGETS,
    factory=make_measurer,
    description="Per IP of a target: TLS handshakes with its server name, a control name "
                "and no SNI (is the name or the IP blocked?).",
    parse_input=parse_target,
    options=OPTIONS,
    summary=summary_row,
)
