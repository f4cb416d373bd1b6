"""The df-000 measurement envelope: times, the envelope itself, IP scrubbing.

Pure functions: the caller passes the clock (``*_time``); randomness is limited to the
client-side measurement ``id`` (uuid4). Report ids and measurement uids: ``model.ids``.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, Final

__all__ = [
    "DATA_FORMAT_VERSION",
    "PROBE_IP",
    "SCRUBBED",
    "as_utc",
    "format_time",
    "make_measurement",
    "scrub_ip",
]

DATA_FORMAT_VERSION: Final = "0.2.0"
PROBE_IP: Final = "127.0.0.1"
SCRUBBED: Final = "[scrubbed]"
EXTENSIONS: Final = ("dnst", "httpt", "netevents", "tcpconnect", "tlshandshake")


def as_utc(ts: datetime) -> datetime:
    """``ts`` in UTC; a naive datetime is taken to be UTC already."""

    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def format_time(ts: datetime) -> str:
    """``"YYYY-MM-DD hh:mm:ss"`` in UTC, the layout of every envelope time."""

    return as_utc(ts).strftime("%Y-%m-%d %H:%M:%S")


def make_measurement(
    *,
    test_name: str,
    test_version: str,
    input: str | None,
    test_keys: dict[str, Any],
    probe_asn: str,
    probe_cc: str,
    probe_network_name: str,
    resolver_asn: str,
    resolver_ip: str,
    resolver_network_name: str,
    report_id: str,
    software_name: str,
    software_version: str,
    measurement_start_time: datetime,
    test_start_time: datetime,
    test_runtime: float,
    test_helpers: dict[str, Any] | None,
    annotations: dict[str, str],
) -> dict[str, Any]:
    """A df-000 measurement (``probe_ip`` is always ``127.0.0.1``; see ``scrub_ip``)."""

    return {
        "annotations": dict(annotations),
        "data_format_version": DATA_FORMAT_VERSION,
        "extensions": {name: 0 for name in EXTENSIONS},
        "id": str(uuid.uuid4()),
        "input": input,
        "input_hashes": [],
        "measurement_start_time": format_time(measurement_start_time),
        "options": [],
        "probe_asn": probe_asn,
        "probe_cc": probe_cc,
        "probe_ip": PROBE_IP,
        "probe_network_name": probe_network_name,
        "report_id": report_id,
        "resolver_asn": resolver_asn,
        "resolver_ip": resolver_ip,
        "resolver_network_name": resolver_network_name,
        "software_name": software_name,
        "software_version": software_version,
        "test_helpers": test_helpers,
        "test_keys": test_keys,
        "test_name": test_name,
        "test_runtime": test_runtime,
        "test_start_time": format_time(test_start_time),
        "test_version": test_version,
    }


def _ip_pattern(ip: str) -> re.Pattern[str]:
    escaped = re.escape(ip)
    if ":" in ip:
        return re.compile(rf"(?<![0-9A-Fa-f:]){escaped}(?![0-9A-Fa-f:])", re.IGNORECASE)
    return re.compile(rf"(?<![0-9.]){escaped}(?![0-9]|\.[0-9])")


def _scrub(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(SCRUBBED, value)
    if isinstance(value, dict):
        return {_scrub(k, pattern): _scrub(v, pattern) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, pattern) for v in value]
    return value


def scrub_ip(measurement: dict[str, Any], ip: str) -> dict[str, Any]:
    """A copy of ``measurement`` with every occurrence of ``ip`` (in any string, keys included)
    replaced by ``[scrubbed]``. Occurrences inside longer addresses are left alone."""

    pattern = _ip_pattern(ip) if ip else re.compile(r"(?!x)x")  # no ip: a plain deep copy
    result: dict[str, Any] = _scrub(measurement, pattern)
    return result
