"""The raw measurement behind a stored row: the one reader the API, the report and ``verify``
share.

A measurements row says where its body is (``archive_file``):

- a file ``ingest`` read (``/path/file.jsonl[.gz]``, or ``/path/can.tar.gz!member`` inside a
  tar post-can), with the body's ``archive_length`` bytes at ``archive_offset`` of the
  (decompressed) file or member: those bytes are read again (a plain file by seeking, a gzip
  file or member by reading up to the offset);
- the collector's archive (``archive:/path/to/archive``, written by the collector's store
  sink; no offset): the body is fetched by its uid from the sealed can the archive index names,
  or from the spool while it is not sealed yet.

The body is returned only if it is still that measurement: its uid (carried, or derived from
its bytes as ingest derives it) is the row's. A ``.post`` record (``{"format", "content"}``)
gives the measurement inside it. Anything else — the file moved, changed, unreadable, bigger
than :data:`MAX_RAW_BYTES`, a row without a location — is None.
"""

from __future__ import annotations

import gzip
import tarfile
import threading
from pathlib import Path
from typing import Any, Final

import orjson

from censorscope.model.ids import record_uid
from censorscope.model.rows import MeasurementRow

__all__ = ["ARCHIVE_PREFIX", "MAX_RAW_BYTES", "archive_location", "read_raw"]

MAX_RAW_BYTES: Final = 64 << 20  # a body bigger than this is not read back
MAX_CACHED_BYTES: Final = 256 << 20  # the largest decompressed file kept for the next read
ARCHIVE_PREFIX: Final = "archive:"


def archive_location(archive: Path) -> str:
    """The ``archive_file`` of a row whose body is in the collector's archive at ``archive``."""
    return ARCHIVE_PREFIX + str(archive.resolve())


def _decompressed(file: Path, member: str | None) -> bytes | None:
    """The whole decompressed content of a gzip file, or of a tar member (gunzipped when it
    ends in ``.gz``); None when the member is not there."""
    if member is None:
        with gzip.open(file, "rb") as gz:
            return gz.read()
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
                    return gz.read()
            return fobj.read()


class _LastDecompressed:
    """The last compressed file (or tar member) read, decompressed, while it is unchanged:
    the bodies of one file are read one after the other (``reprocess`` walks the store in
    the order it was ingested), and each would otherwise decompress the file from its start.
    Holds one file of at most :data:`MAX_CACHED_BYTES`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.key: tuple[str, str | None, int, int] | None = None
        self.data = b""

    def read(self, file: Path, member: str | None, offset: int, length: int) -> bytes | None:
        stat = file.stat()
        key = (str(file), member, stat.st_mtime_ns, stat.st_size)
        with self.lock:
            if key == self.key:
                return self.data[offset:offset + length]
        data = _decompressed(file, member)
        if data is None:
            return None
        if len(data) <= MAX_CACHED_BYTES:
            with self.lock:
                self.key, self.data = key, data
        return data[offset:offset + length]


_LAST = _LastDecompressed()


def _read_file(path: str, member: str | None, offset: int, length: int) -> bytes | None:
    file = Path(path)
    if not file.is_file():
        return None
    if member is None:
        with file.open("rb") as fh:
            if fh.read(2) != b"\x1f\x8b":  # plain: seek to the body
                fh.seek(offset)
                return fh.read(length)
    return _LAST.read(file, member, offset, length)


def _read_archive(archive: str, uid: str) -> bytes | None:
    from censorscope.archive.fetch import fetch_measurement

    directory = Path(archive)
    if not (directory / "index.sqlite").is_file():
        return None
    body = fetch_measurement(directory, uid)
    return body if body is not None and len(body) <= MAX_RAW_BYTES else None


def _body(row: MeasurementRow) -> bytes | None:
    where, offset, length = row.archive_file, row.archive_offset, row.archive_length
    if not where:
        return None
    if where.startswith(ARCHIVE_PREFIX):
        return _read_archive(where[len(ARCHIVE_PREFIX):], row.measurement_uid)
    if offset is None or not length or length > MAX_RAW_BYTES:
        return None
    path, _, member = where.partition("!")
    data = _read_file(path, member or None, offset, length)
    return data if data is not None and len(data) == length else None


def read_raw(row: MeasurementRow) -> dict[str, Any] | None:
    """The raw measurement of ``row`` as a JSON object, or None when it is not at hand."""
    try:
        data = _body(row)
        if data is None:
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
