"""Signal as the registry knows it: OONI's name and version, no input, the options that move
its endpoints and its CA (the lab's CA plays Signal's)."""

from __future__ import annotations

from censorscope.experiments.apps_common import options as opt
from censorscope.experiments.apps_common.measurer import AppMeasurer, AppSpec
from censorscope.experiments.apps_common.summary import summary_for
from censorscope.experiments.interface import Experiment, ExperimentSettings, InputKind

from .testkeys import (
    SIGNAL_CA_FILE,
    TEST_NAME,
    TEST_VERSION,
    UPTIME_HOST,
    URLS,
    summarise,
    targets,
)

__all__ = ["EXPERIMENT", "make_measurer"]


def make_measurer(settings: ExperimentSettings) -> AppMeasurer:
    """The run's measurer; ``ValueError`` naming the option for a bad one."""

    o = settings.options
    spec = AppSpec(
        TEST_NAME, TEST_VERSION,
        targets(opt.listed(o, "urls", opt.url, URLS),
                opt.listed(o, "uptime_host", opt.host, (UPTIME_HOST,))[0]),
        summarise, parallelism=opt.parallelism(o),
        extra_ca_files=opt.listed(o, "ca_file", opt.ca_file, (SIGNAL_CA_FILE,)))
    return AppMeasurer(spec, settings)


EXPERIMENT = Experiment(
    name="signal",
    test_name=TEST_NAME,
    test_version=TEST_VERSION,
    inputs=InputKind.NONE,
    factory=make_measurer,
    description="Signal: HTTPS to its backend, trusting Signal's own CA (OONI's test).",
    summary=summary_for((("signal_backend_status", "backend"),)),
    options={
        "urls": "comma list of backend HTTPS URLs (default: OONI's four *.signal.org)",
        "uptime_host": f"host looked up and ignored, as OONI does (default {UPTIME_HOST})",
        "ca_file": "PEM file of Signal's CA, trusted on top of the usual roots "
                   "(default: the bundled Signal Messenger root)",
        "parallelism": opt.PARALLELISM_HELP,
    },
)
