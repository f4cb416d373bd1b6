"""Measurement dict → rows for the store: metadata (``measurement_row``) and observations
(``observe``: one row per DNS answer / endpoint, for the probe and for the control).

Pure functions of the measurement; imports only ``censorscope.model``. The analysis
(``pipeline.analyze``) decides from the observation rows, and ``reprocess`` re-decides from them
without the raw file.
"""

from __future__ import annotations

from typing import Any

from censorscope.model.rows import ROW_COLUMNS, MeasurementRow, ObservationRow, VerdictRow

from .control_observations import control_observations
from .meta import (
    input_and_domain,
    is_measurement,
    measurement_row,
    parse_asn,
    parse_time,
    with_verdict,
)
from .probe_observations import probe_observations

__all__ = [
    "ROW_COLUMNS",
    "MeasurementRow",
    "ObservationRow",
    "VerdictRow",
    "input_and_domain",
    "is_measurement",
    "measurement_row",
    "observe",
    "parse_asn",
    "parse_time",
    "with_verdict",
]


def observe(msm: dict[str, Any], measurement_uid: str, *, body_sha1: bool = True
            ) -> list[ObservationRow]:
    """All observation rows of ``msm``: the probe's, then the control's (web_connectivity).
    ``body_sha1`` False: rows only to be scored, without the response bodies' SHA-1 (which
    no analysis reads; stored rows keep it)."""
    test_keys = msm.get("test_keys")
    rows = probe_observations(measurement_uid, test_keys, body_sha1=body_sha1)
    domain = input_and_domain(msm.get("input"))[1]
    rows.extend(control_observations(measurement_uid, test_keys, domain, start_idx=len(rows)))
    return rows

