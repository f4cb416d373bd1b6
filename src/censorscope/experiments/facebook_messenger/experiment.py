"""Facebook Messenger as the registry knows it: OONI's name and version, no input, the
options that move its services, and the warning a run without an ASN table deserves."""

from __future__ import annotations

from censorscope.experiments.apps_common import options as opt
from censorscope.experiments.apps_common.measurer import AppMeasurer, AppSpec
from censorscope.experiments.apps_common.summary import summary_for
from censorscope.experiments.interface import Experiment, ExperimentSettings, InputKind

from .testkeys import FACEBOOK_ASN, SERVICES, TEST_NAME, TEST_VERSION, summarise, targets

__all__ = ["EXPERIMENT", "make_measurer"]


def make_measurer(settings: ExperimentSettings) -> AppMeasurer:
    """The run's measurer; ``ValueError`` naming the option for a bad one."""

    o = settings.options
    hosts = {svc: opt.listed(o, svc, opt.host, (name,))[0] for svc, name in SERVICES.items()}
    spec = AppSpec(TEST_NAME, TEST_VERSION,
                   targets(hosts, opt.listed(o, "port", opt.port, (443,))[0]),
                   summarise, parallelism=opt.parallelism(o))
    return AppMeasurer(spec, settings)


def _warnings(settings: ExperimentSettings) -> list[str]:
    if settings.asn_table is None:
        return [f"no ASN table configured: every DNS answer's AS is unknown (0), so every "
                f"service counts as outside Facebook's AS{FACEBOOK_ASN} (DNS inconsistent)"]
    return []


EXPERIMENT = Experiment(
    name="facebook_messenger",
    test_name=TEST_NAME,
    test_version=TEST_VERSION,
    inputs=InputKind.NONE,
    factory=make_measurer,
    description="Facebook Messenger: its services' DNS answers in AS32934 and TCP to them "
                "(OONI's test).",
    warnings=_warnings,
    summary=summary_for((("facebook_dns_blocking", "dns"), ("facebook_tcp_blocking", "tcp"))),
    options={
        **{svc: f"host name of the {svc} service (default {name})"
           for svc, name in SERVICES.items()},
        "port": "TCP port of the connects (default 443)",
        "parallelism": opt.PARALLELISM_HELP,
    },
)
