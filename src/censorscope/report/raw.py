"""The raw measurement behind a stored row, when its file is still readable.

``ingest`` records where each measurement's JSON came from (``archive_file``, and the byte
``archive_offset``/``archive_length`` of the body in it). For a plain file (not compressed,
not inside a tar) the body is read back; anything else — a moved file, a compressed one, bytes
that are not a JSON object — gives None, and the report falls back to the stored rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import orjson

from censorscope.model.ids import record_uid
from censorscope.model.rows import MeasurementRow

__all__ = ["MAX_RAW_BYTES", "lab_clock_of", "read_raw"]

# a measurement body larger than this is not read back (the report needs only its events)
MAX_RAW_BYTES: Final = 64 * 1024 * 1024


def read_raw(meta: MeasurementRow) -> dict[str, Any] | None:
    """The raw measurement of ``meta`` read from its source file, or None."""
    path, offset, length = meta.archive_file, meta.archive_offset, meta.archive_length
    if not path or "!" in path or offset is None or not length or length > MAX_RAW_BYTES:
        return None
    file = Path(path)
    if file.suffix in (".gz", ".zst", ".tar", ".bz2", ".xz"):
        return None
    try:
        if not file.is_file():
            return None
        with file.open("rb") as fh:
            fh.seek(offset)
            body = fh.read(length)
        obj = orjson.loads(body)
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(obj, dict) or not _same(meta, obj, body):
        return None  # not this measurement: the file changed since it was ingested
    return obj


def _same(meta: MeasurementRow, obj: dict[str, Any], body: bytes) -> bool:
    """Whether ``obj`` is the measurement ``meta`` was made from: its uid (carried, or
    derived from the bytes as ingest derives it), else the same start time and network."""
    if record_uid(obj, body) == meta.measurement_uid:
        return True
    start = meta.measurement_start_time
    stamp = start.strftime("%Y-%m-%d %H:%M:%S") if start is not None else None
    return (obj.get("measurement_start_time") == stamp
            and obj.get("probe_asn") == f"AS{meta.probe_asn}")


def lab_clock_of(raw: dict[str, Any] | None) -> str | None:
    """The lab scenario whose clock dated the measurement (``annotations.lab_clock``), or
    None for a measurement dated by a real clock (or unknown)."""
    if raw is None:
        return None
    annotations = raw.get("annotations")
    if not isinstance(annotations, dict):
        return None
    value = annotations.get("lab_clock")
    return value if isinstance(value, str) and value else None
