"""The raw measurement behind a stored row (:func:`read_raw`, the one reader of raw bodies in
:mod:`censorscope.archive.raw`: a file ``ingest`` read, or the collector's archive), and the lab
clock it carries. Not at hand (a moved or changed file, …): None, and the report falls back to
the stored rows.
"""

from __future__ import annotations

from typing import Any

from censorscope.archive.raw import MAX_RAW_BYTES, read_raw

__all__ = ["MAX_RAW_BYTES", "lab_clock_of", "read_raw"]


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
