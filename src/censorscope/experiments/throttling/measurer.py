"""The throttling measurer: the target download, then the control download, then the verdict.

The two downloads run one after the other (never at once: they would share the link), each
recorded by its own trace (``download``). The verdict and the ratio come from
``censorscope.model.throughput.judge`` over the figures of both (``testkeys.rate_of``), which
the scorer recomputes from the same recorded events. The envelope is Web Connectivity's
(``envelope.build_measurement``: the same probe facts and annotations), under this test's
name and version.
"""

from __future__ import annotations

import time
from typing import Any

from censorscope.experiments.envelope import TargetMeasurer
from censorscope.model.throughput import judge

from .download import download
from .options import ThrottlingOptions, control_for
from .testkeys import build_test_keys, rate_of

__all__ = ["TEST_NAME", "TEST_VERSION", "ThrottlingMeasurer"]

TEST_NAME = "throttling"
TEST_VERSION = "0.1.0"


class ThrottlingMeasurer(TargetMeasurer):
    """Measures one URL per call (the ``Measurer`` protocol)."""

    test_name = TEST_NAME
    test_version = TEST_VERSION

    def __init__(self, options: ThrottlingOptions) -> None:
        self.options = options

    async def measure(self, url: str) -> dict[str, Any]:
        """The test keys of one measurement of ``url``."""

        opts = self.options
        zero = time.monotonic()
        target = await download(url, 1, zero, opts)
        control = None
        if opts.control_url is not None:
            control = await download(control_for(opts.control_url, url), 2, zero, opts)
        judgement = judge(rate_of(target, opts),
                          rate_of(control, opts) if control is not None else None)
        return build_test_keys(target, control, judgement, opts)

