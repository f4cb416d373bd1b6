"""Cans: compressed JSONL files of sealed measurements, one gzip member per measurement.

A can holds the measurements of one hour, country and test:
``<archive>/cans/YYYYMMDD/YYYYMMDDHH_CC_testname.sNNNNNNNNNN.jsonl.gz`` (``sN…`` is the spool
segment it was sealed from, so every seal writes new files and never rewrites old ones).
Each measurement is its own gzip member holding one line, the body with its
``measurement_uid`` added as the first key (:func:`with_uid`): the file as a whole is a
normal ``.jsonl.gz`` (``zcat`` and the OONI JSONL reader work on it), and one measurement is
read back from its (offset, length) without touching the rest.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from censorscope.archive.records import SpoolRecord

__all__ = ["can_name", "compress_member", "read_member", "with_uid"]


def with_uid(body: bytes, uid: str) -> bytes:
    """``body`` (a JSON object) with ``"measurement_uid"`` as its first key, as in OONI's JSONL
    files, so a can re-ingested later keeps the collector's uids (no duplicates)."""

    rest = body[1:].lstrip()
    sep = b"" if rest.startswith(b"}") else b","
    return b'{"measurement_uid":"' + uid.encode("ascii") + b'"' + sep + rest


def can_name(record: SpoolRecord, segment: int) -> str:
    """The can's path (relative to the archive) for ``record`` sealed from ``segment``."""

    day = record.received[0:4] + record.received[5:7] + record.received[8:10]
    hour = day + record.received[11:13]
    return f"cans/{day}/{hour}_{record.cc}_{record.test_name}.s{segment:010d}.jsonl.gz"


def compress_member(line: bytes) -> bytes:
    """One gzip member holding one JSONL line."""

    return gzip.compress(line + b"\n", compresslevel=6, mtime=0)


def read_member(archive: Path, can: str, offset: int, length: int) -> bytes:
    """The line stored at ``offset``/``length`` in ``can`` (without its newline)."""

    with (Path(archive) / can).open("rb") as handle:
        handle.seek(offset)
        data = handle.read(length)
    if len(data) != length:
        raise ValueError(f"{can}: member at {offset} is truncated")
    line = zlib.decompress(data, wbits=31)
    return line[:-1] if line.endswith(b"\n") else line
