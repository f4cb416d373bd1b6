"""OONI's df-000 envelope around any experiment's test keys, timed: what every measurer returns.

``envelope`` wraps test keys with the probe's facts (``ProbeMetadata``), the report, the times
and OONI-style annotations (``probe_annotations``); ``measured`` runs a measurer's coroutine of
test keys and wraps what it returns, with its start time and runtime; :class:`TargetMeasurer`
is the ``run`` of every measurer of one target per measurement (its subclass writes
``measure``). Web Connectivity's ``envelope.build_measurement`` and every other experiment
build their measurements here.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, ClassVar

from censorscope import __version__
from censorscope.experiments.interface import ProbeMetadata
from censorscope.model.measurement import make_measurement

__all__ = ["TargetMeasurer", "envelope", "measured", "probe_annotations"]

_GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "i686": "386", "armv7l": "arm"}


def probe_annotations() -> dict[str, str]:
    """OONI-style annotations (engine, platform, architecture)."""

    machine = platform.machine().lower()
    return {
        "architecture": _GO_ARCH.get(machine, machine),
        "engine_name": "censorscope",
        "engine_version": __version__,
        "platform": "linux" if platform.system() == "Linux" else platform.system().lower(),
        "python_version": platform.python_version(),
    }


def envelope(
    *,
    test_name: str,
    test_version: str,
    input: str | None,
    test_keys: dict[str, Any],
    probe: ProbeMetadata,
    report_id: str,
    measurement_start_time: datetime,
    test_start_time: datetime,
    test_runtime: float,
    control_url: str | None = None,
) -> dict[str, Any]:
    """A complete measurement: ``test_keys`` in the envelope (``control_url``: the test
    helper it used, as OONI's ``test_helpers.backend``)."""

    helpers = {"backend": {"address": control_url, "type": "https"}} if control_url else None
    return make_measurement(
        test_name=test_name,
        test_version=test_version,
        input=input,
        test_keys=test_keys,
        probe_asn=f"AS{probe.probe_asn}",
        probe_cc=probe.probe_cc,
        probe_network_name=probe.probe_network_name,
        resolver_asn=f"AS{probe.resolver_asn}",
        resolver_ip=probe.resolver_ip,
        resolver_network_name=probe.resolver_network_name,
        report_id=report_id,
        software_name=probe.software_name,
        software_version=probe.software_version,
        measurement_start_time=measurement_start_time,
        test_start_time=test_start_time,
        test_runtime=round(test_runtime, 9),
        test_helpers=helpers,
        annotations=probe_annotations(),
    )


async def measured(
    test_keys: Awaitable[dict[str, Any]],
    *,
    test_name: str,
    test_version: str,
    input: str | None,
    probe: ProbeMetadata,
    report_id: str,
    test_start_time: datetime,
    control_url: str | None = None,
) -> dict[str, Any]:
    """Await ``test_keys`` (the measurer's work) and wrap them, timed from now."""

    start = datetime.now(UTC)
    t0 = time.monotonic()
    keys = await test_keys
    return envelope(test_name=test_name, test_version=test_version, input=input,
                    test_keys=keys, probe=probe, report_id=report_id,
                    measurement_start_time=start, test_start_time=test_start_time,
                    test_runtime=time.monotonic() - t0, control_url=control_url)


class TargetMeasurer:
    """The ``Measurer`` of an experiment with one target per measurement: a subclass sets
    ``test_name``/``test_version`` and writes ``measure(target)`` (the test keys of the
    normalised target); ``control_url`` names the test helper it used, if any."""

    test_name: ClassVar[str]
    test_version: ClassVar[str]

    async def measure(self, target: str) -> dict[str, Any]:
        raise NotImplementedError

    def control_url(self) -> str | None:
        return None

    async def run(
        self,
        input: str | None,
        url: str | None,
        *,
        probe: ProbeMetadata,
        report_id: str,
        test_start_time: datetime,
    ) -> dict[str, Any]:
        """A complete measurement of the target ``url`` (the normalised ``input``)."""
        if input is None or url is None:
            raise ValueError(f"{self.test_name} measures a target: input and url are required")
        return await measured(self.measure(url), test_name=self.test_name,
                              test_version=self.test_version, input=input, probe=probe,
                              report_id=report_id, test_start_time=test_start_time,
                              control_url=self.control_url())
