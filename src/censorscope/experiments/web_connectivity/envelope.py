"""The df-000 envelope of a Web Connectivity measurement (test name, version, probe facts).

Probe metadata (``ProbeMetadata``, shared by every experiment: ``experiments.interface``) comes
from configuration (the lab writes it per ISP); the envelope is built with
``censorscope.model.measurement.make_measurement``. ``TEST_NAME``/``TEST_VERSION`` are what
``web_connectivity.experiment`` registers.
"""

from __future__ import annotations

import platform
from datetime import datetime
from typing import Any

from censorscope import __version__
from censorscope.experiments.interface import ProbeMetadata
from censorscope.model.measurement import make_measurement

__all__ = ["TEST_NAME", "TEST_VERSION", "ProbeMetadata", "build_measurement", "probe_annotations"]

TEST_NAME = "web_connectivity"
TEST_VERSION = "0.5.28"

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


def build_measurement(
    *,
    input: str,
    test_keys: dict[str, Any],
    probe: ProbeMetadata,
    report_id: str,
    measurement_start_time: datetime,
    test_start_time: datetime,
    test_runtime: float,
    control_url: str | None,
) -> dict[str, Any]:
    """A complete Web Connectivity measurement."""

    helpers = {"backend": {"address": control_url, "type": "https"}} if control_url else None
    return make_measurement(
        test_name=TEST_NAME,
        test_version=TEST_VERSION,
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
