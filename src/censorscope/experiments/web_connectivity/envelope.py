"""The df-000 envelope of a Web Connectivity measurement (test name, version, probe facts).

Probe metadata (``ProbeMetadata``, shared by every experiment: ``experiments.interface``) comes
from configuration (the lab writes it per ISP); the envelope is built by
``censorscope.experiments.envelope`` (shared by every experiment). ``TEST_NAME`` and
``TEST_VERSION`` are what ``web_connectivity.experiment`` registers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from censorscope.experiments.envelope import envelope, probe_annotations
from censorscope.experiments.interface import ProbeMetadata

__all__ = ["TEST_NAME", "TEST_VERSION", "ProbeMetadata", "build_measurement", "probe_annotations"]

TEST_NAME = "web_connectivity"
TEST_VERSION = "0.5.28"


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

    return envelope(test_name=TEST_NAME, test_version=TEST_VERSION, input=input,
                    test_keys=test_keys, probe=probe, report_id=report_id,
                    measurement_start_time=measurement_start_time,
                    test_start_time=test_start_time, test_runtime=test_runtime,
                    control_url=control_url)
