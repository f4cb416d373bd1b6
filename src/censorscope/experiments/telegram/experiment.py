"""Telegram as the registry knows it: OONI's name and version, no input, the options that
move its endpoints (the lab hosts the data centres on its own addresses)."""

from __future__ import annotations

from censorscope.experiments.apps_common import options as opt
from censorscope.experiments.apps_common.measurer import AppMeasurer, AppSpec
from censorscope.experiments.apps_common.summary import summary_for
from censorscope.experiments.interface import Experiment, ExperimentSettings, InputKind

from .testkeys import DATA_CENTRES, DC_PORTS, TEST_NAME, TEST_VERSION, WEB_URL, summarise, targets

__all__ = ["EXPERIMENT", "make_measurer"]


def make_measurer(settings: ExperimentSettings) -> AppMeasurer:
    """The run's measurer; ``ValueError`` naming the option for a bad one."""

    o = settings.options
    spec = AppSpec(
        TEST_NAME, TEST_VERSION,
        targets(opt.listed(o, "data_centres", opt.ip, DATA_CENTRES),
                opt.listed(o, "ports", opt.port, DC_PORTS),
                opt.listed(o, "web_url", opt.url, (WEB_URL,))[0]),
        summarise, parallelism=opt.parallelism(o))
    return AppMeasurer(spec, settings)


EXPERIMENT = Experiment(
    name="telegram",
    test_name=TEST_NAME,
    test_version=TEST_VERSION,
    inputs=InputKind.NONE,
    factory=make_measurer,
    description="Telegram: HTTP POSTs to its data centres, and web.telegram.org (OONI's test).",
    summary=summary_for((("telegram_tcp_blocking", "tcp"), ("telegram_http_blocking", "http"),
                         ("telegram_web_status", "web"))),
    options={
        "data_centres": "comma list of data-centre IPs (default: OONI's six)",
        "ports": "comma list of ports the POSTs go to, plain HTTP (default 80,443)",
        "web_url": f"URL of the web client, an HTTP status from 400 on fails (default {WEB_URL})",
        "parallelism": opt.PARALLELISM_HELP,
    },
)
