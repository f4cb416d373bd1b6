"""The raw measurement of a stored row, read back from the file ``ingest`` read it from.

The measurements row keeps where the body was: ``archive_file`` (a path, or ``path!member``
inside a tar post-can), and ``archive_length`` bytes at ``archive_offset`` of the
(decompressed) file or member. This reads exactly those bytes again — a plain file by seeking,
a gzip file or a member by reading up to the offset — and returns them only if they are still
that measurement (their uid, the measurement's own or derived from its bytes, is the row's).
A ``.post`` record gives the measurement inside it. Anything else — the file moved, changed,
unreadable, or a measurement received by the collector (its body is in the collector's archive,
not in a file the row names) — is None, and the API answers 404.
"""

from __future__ import annotations

import gzip
import tarfile
from pathlib import Path
from typing import IO, Any, Final

import orjson

from censorscope.model.ids import record_uid
from censorscope.model.rows import MeasurementRow

__all__ = ["MAX_RAW_BYTES", "read_raw"]

MAX_RAW_BYTES: Final = 64 << 20  # a body bigger than this is not served


def _read_at(stream: IO[bytes] | gzip.GzipFile, offset: int, length: int) -> bytes:
    stream.seek(offset)
    return stream.read(length)


def _read_bytes(path: str, member: str | None, offset: int, length: int) -> bytes | None:
    file = Path(path)
    if not file.is_file():
        return None
    if member is None:
        with file.open("rb") as fh:
            gzipped = fh.read(2) == b"\x1f\x8b"
        if gzipped:
            with gzip.open(file, "rb") as gz:
                return _read_at(gz, offset, length)
        with file.open("rb") as fh:
            return _read_at(fh, offset, length)
    with tarfile.open(file, mode="r:*") as tar:
        try:
            info = tar.getmember(member)
        except KeyError:
            return None
        fobj = tar.extractfile(info)
        if fobj is None:
            return None
        with fobj:
            if member.endswith(".gz"):
                with gzip.GzipFile(fileobj=fobj) as gz:
                    return _read_at(gz, offset, length)
            return _read_at(fobj, offset, length)


def read_raw(row: MeasurementRow) -> dict[str, Any] | None:
    """The raw measurement of ``row`` as a JSON object, or None when it is not at hand."""
    where, offset, length = row.archive_file, row.archive_offset, row.archive_length
    if not where or offset is None or not length or length > MAX_RAW_BYTES:
        return None
    path, _, member = where.partition("!")
    try:
        data = _read_bytes(path, member or None, offset, length)
        if data is None or len(data) != length:
            return None
        obj = orjson.loads(data)
    except (OSError, EOFError, tarfile.TarError, orjson.JSONDecodeError):
        return None
    if not isinstance(obj, dict):
        return None
    msm = obj.get("content") if "content" in obj and "format" in obj else obj
    if not isinstance(msm, dict) or record_uid(msm, data) != row.measurement_uid:
        return None
    return msm
