"""WhatsApp as the registry knows it: OONI's name and version, no input, the options that
move its endpoints."""

from __future__ import annotations

from functools import partial

from censorscope.experiments.apps_common import options as opt
from censorscope.experiments.apps_common.measurer import AppMeasurer, AppSpec
from censorscope.experiments.apps_common.summary import summary_for
from censorscope.experiments.interface import Experiment, ExperimentSettings, InputKind

from .testkeys import (
    ENDPOINT_PORTS,
    ENDPOINTS,
    REGISTRATION_URL,
    TEST_NAME,
    TEST_VERSION,
    WEB_URL,
    summarise,
    targets,
)

__all__ = ["EXPERIMENT", "make_measurer"]


def make_measurer(settings: ExperimentSettings) -> AppMeasurer:
    """The run's measurer; ``ValueError`` naming the option for a bad one."""

    o = settings.options
    registration = opt.listed(o, "registration_url", opt.url, (REGISTRATION_URL,))[0]
    web = opt.listed(o, "web_url", opt.url, (WEB_URL,))[0]
    spec = AppSpec(
        TEST_NAME, TEST_VERSION,
        targets(opt.listed(o, "endpoints", opt.host, ENDPOINTS),
                opt.listed(o, "endpoint_ports", opt.port, ENDPOINT_PORTS), registration, web),
        partial(summarise, registration_url=registration, web_url=web),
        parallelism=opt.parallelism(o))
    return AppMeasurer(spec, settings)


EXPERIMENT = Experiment(
    name="whatsapp",
    test_name=TEST_NAME,
    test_version=TEST_VERSION,
    inputs=InputKind.NONE,
    factory=make_measurer,
    description="WhatsApp: TCP to its endpoints, its registration service and WhatsApp Web "
                "(OONI's test).",
    summary=summary_for((("whatsapp_endpoints_status", "endpoints"),
                         ("registration_server_status", "registration"),
                         ("whatsapp_web_status", "web"))),
    options={
        "endpoints": "comma list of endpoint host names (default e1…e16.whatsapp.net)",
        "endpoint_ports": "comma list of the endpoints' ports (default 443,5222)",
        "registration_url": f"registration service URL (default {REGISTRATION_URL})",
        "web_url": f"WhatsApp Web URL (default {WEB_URL})",
        "parallelism": opt.PARALLELISM_HELP,
    },
)
