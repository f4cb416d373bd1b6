"""``dns_consistency`` as the registry knows it: a domain (or URL) per measurement, its own
options, and the warnings a run without a control or DoH deserves."""

from __future__ import annotations

from censorscope.experiments.interface import Experiment, ExperimentSettings, InputKind

from .measurer import TEST_NAME, TEST_VERSION, DNSConsistencyMeasurer
from .options import OPTION_HELP, DNSConsistencyOptions, parse_target
from .summary import summary_row

__all__ = ["EXPERIMENT", "make_measurer"]


def make_measurer(settings: ExperimentSettings) -> DNSConsistencyMeasurer:
    """The run's measurer (``ValueError`` naming the option for a bad option value)."""
    return DNSConsistencyMeasurer(DNSConsistencyOptions.from_settings(settings))


def _warnings(settings: ExperimentSettings) -> list[str]:
    out = []
    if not settings.control_url:
        out.append("no control URL configured: DoH answers are the reference, if any")
    if not settings.doh_url and "doh" not in settings.options:
        out.append("no DoH URL configured: no encrypted lookup to compare with")
    return out


EXPERIMENT = Experiment(
    name="dns_consistency",
    test_name=TEST_NAME,
    test_version=TEST_VERSION,
    inputs=InputKind.TARGETS,
    factory=make_measurer,
    description="The system, UDP, DoH resolvers and the control resolve a domain; answers "
                "checked by TLS: consistent, CDN, lie, NXDOMAIN, bogon or injection.",
    warnings=_warnings,
    parse_input=parse_target,
    options=OPTION_HELP,
    summary=summary_row,
)
