"""What detection reads from the store: one row per scored measurement of a time window.

``Store.iter_point_rows`` streams :class:`PointRow`: the ``measurements`` row's identity,
time, network and input, joined with the measurement's *latest* verdict (the highest
``rules_version``: a re-analysis supersedes the old one), and ``control_ok`` from the control
observation rows (True when one of them succeeded — a TCP connect, TLS handshake, HTTP
request, or a DNS answer —, False when none did, None when there is no control row). Rows come
ordered by (measurement_start_time, measurement_uid), so the same store gives the same stream
whatever order the measurements arrived in.

The detection layer (``censorscope.pipeline.detect.points``) turns a row and, for the
measurements that need them, its probe observation rows (``Store.get_observations_of``) into a
``VerdictPoint``.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

__all__ = ["POINT_COLUMNS", "PointRow"]


class PointRow(NamedTuple):
    measurement_uid: str
    measurement_start_time: datetime
    probe_cc: str
    probe_asn: int
    probe_network_name: str | None
    test_name: str
    input: str | None
    domain: str | None
    outcome: str
    layer: str | None
    mechanism: str | None
    rules_version: str
    control_ok: bool | None


POINT_COLUMNS = PointRow._fields
# the measurements columns of a PointRow (the rest come from the verdict and the control rows)
MEASUREMENT_COLUMNS = POINT_COLUMNS[:8]
VERDICT_COLUMNS = ("outcome", "layer", "mechanism", "rules_version")
