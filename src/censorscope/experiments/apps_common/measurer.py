"""One run of a messaging experiment: its targets, OONI's folding of their outcomes, the
df-000 envelope.

An :class:`AppSpec` is what differs between the four tests (OONI's test name and version, the
targets, and ``summarise``, the test's ``Update`` logic turning the outputs into its own
keys); :class:`AppMeasurer` does the rest and is the ``Measurer`` of
``experiments.interface`` (inputs are ``None``: these tests run once, without input).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from censorscope.experiments.envelope import measured
from censorscope.experiments.interface import ExperimentSettings, ProbeMetadata

from .collect import collect, shared_keys
from .getter import Getter, Output, Target, Trust

__all__ = ["AppMeasurer", "AppSpec"]


@dataclass(frozen=True)
class AppSpec:
    """A messaging test as OONI defines it, with its endpoints already chosen."""

    test_name: str
    test_version: str
    targets: tuple[Target, ...]
    summarise: Callable[[Sequence[Output]], dict[str, Any]]
    parallelism: int = 3
    extra_ca_files: tuple[str, ...] = ()


class AppMeasurer:
    """Measures the network once per ``run`` with ``spec``'s targets."""

    def __init__(self, spec: AppSpec, settings: ExperimentSettings) -> None:
        self.spec = spec
        self.settings = settings

    async def measure(self) -> dict[str, Any]:
        """The test keys of one run."""

        trust = Trust(self.settings.ca_file, self.spec.extra_ca_files)
        getter = Getter(time.monotonic(), self.settings.timeouts, trust)
        outputs = await collect(getter, self.spec.targets, self.spec.parallelism)
        keys = shared_keys(outputs, self.settings.asn_table)
        keys.update(self.spec.summarise(outputs))
        return keys

    async def run(
        self,
        input: str | None,
        url: str | None,
        *,
        probe: ProbeMetadata,
        report_id: str,
        test_start_time: datetime,
    ) -> dict[str, Any]:
        """A complete measurement (``input`` null, as OONI writes for these tests)."""

        return await measured(self.measure(), test_name=self.spec.test_name,
                              test_version=self.spec.test_version, input=None, probe=probe,
                              report_id=report_id, test_start_time=test_start_time)
