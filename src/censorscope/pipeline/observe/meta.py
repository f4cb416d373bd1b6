"""A measurement dict's metadata as a :class:`MeasurementRow` (the ``fastpath``-like columns).

Pure: the caller passes the measurement_uid and the archive pointer. The MAT flags start
False; the analysis sets them (``with_verdict``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final
from urllib.parse import urlsplit

from censorscope.model.rows import MeasurementRow, VerdictRow

__all__ = [
    "input_and_domain",
    "is_measurement", "measurement_row", "parse_asn", "parse_time", "with_verdict"]


def is_measurement(obj: object) -> bool:
    """True for a dict that looks like an OONI measurement (df-000): a test_name and a
    test_keys key (the value may be null)."""
    return isinstance(obj, dict) and isinstance(obj.get("test_name"), str) and "test_keys" in obj


def parse_asn(value: Any) -> int | None:
    """``"AS30722"`` / ``"30722"`` / ``30722`` → 30722; missing or malformed → None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().upper().removeprefix("AS")
        if text.isdigit():
            return int(text)
    return None


def parse_time(value: Any) -> datetime | None:
    """OONI's ``"YYYY-MM-DD hh:mm:ss"`` (also ISO 8601 with ``T``/``Z``/offset) → naive UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.replace(microsecond=0)


def _str(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def input_and_domain(value: Any) -> tuple[str | None, str | None]:
    """(``input`` column, domain) of a measurement's input (memoised for text inputs: the same
    URLs recur, and both ``measurement_row`` and ``observe`` ask)."""
    if type(value) is str:
        return _text_input_and_domain(value)
    return _input_and_domain(value)


@lru_cache(maxsize=65536)
def _text_input_and_domain(text: str) -> tuple[str | None, str | None]:
    return _input_and_domain(text)


def _input_and_domain(value: Any) -> tuple[str | None, str | None]:
    if isinstance(value, list):
        items = [str(v) for v in value]
        return "{" + ",".join(items) + "}", (items[0] if items else None)
    if value is None:
        return None, None
    text = value if isinstance(value, str) else str(value)
    if "://" in text:
        try:
            host = urlsplit(text).hostname
        except ValueError:
            host = None
        return text, host or None
    return text, (text or None)


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def measurement_row(
    msm: dict[str, Any],
    measurement_uid: str,
    *,
    archive_file: str | None = None,
    archive_offset: int | None = None,
    archive_length: int | None = None,
) -> MeasurementRow:
    """The measurements-table row of ``msm`` (a df-000 dict)."""
    annotations = msm.get("annotations")
    ann: dict[str, Any] = annotations if isinstance(annotations, dict) else {}
    input_, domain = input_and_domain(msm.get("input"))
    return MeasurementRow(
        measurement_uid=measurement_uid,
        report_id=_str(msm.get("report_id")) or "",
        input=input_,
        domain=domain,
        probe_cc=_str(msm.get("probe_cc")) or "ZZ",
        probe_asn=parse_asn(msm.get("probe_asn")) or 0,
        probe_network_name=_str(msm.get("probe_network_name")),
        test_name=str(msm.get("test_name")),
        test_version=_str(msm.get("test_version")),
        software_name=_str(msm.get("software_name")),
        software_version=_str(msm.get("software_version")),
        measurement_start_time=parse_time(msm.get("measurement_start_time")),
        test_start_time=parse_time(msm.get("test_start_time")),
        test_runtime=_float(msm.get("test_runtime")),
        platform=_str(ann.get("platform")),
        engine_name=_str(ann.get("engine_name")),
        engine_version=_str(ann.get("engine_version")),
        architecture=_str(ann.get("architecture")),
        network_type=_str(ann.get("network_type")),
        resolver_ip=_str(msm.get("resolver_ip")),
        resolver_asn=parse_asn(msm.get("resolver_asn")),
        resolver_network_name=_str(msm.get("resolver_network_name")),
        archive_file=archive_file,
        archive_offset=archive_offset,
        archive_length=archive_length,
    )


def with_verdict(row: MeasurementRow, verdict: VerdictRow) -> MeasurementRow:
    """``row`` with the MAT flags and ``blocking_type`` taken from ``verdict``."""
    blocking = verdict.blocking if verdict.blocking not in (None, "false") else None
    # ``row._replace(anomaly=…, …)`` without its keyword parsing (once per measurement)
    return tuple.__new__(MeasurementRow, (
        *row[:_ANOMALY], verdict.anomaly, verdict.confirmed, verdict.failure, blocking,
        *row[_ANOMALY + 4:]))


_ANOMALY: Final = MeasurementRow._fields.index("anomaly")
assert MeasurementRow._fields[_ANOMALY:_ANOMALY + 4] == (
    "anomaly", "confirmed", "failure", "blocking_type")
