"""Fetch one archived measurement body by its measurement_uid (sealed can or live spool)."""

from __future__ import annotations

from pathlib import Path

from censorscope.archive.cans import read_member, with_uid
from censorscope.archive.index import ArchiveIndex
from censorscope.archive.spool import SpoolDir

__all__ = ["fetch_measurement"]


def fetch_measurement(archive: Path, uid: str, index: ArchiveIndex | None = None) -> bytes | None:
    """The measurement stored as ``uid`` (its body with ``measurement_uid`` added as the first
    key, as in a can line), or None if the archive does not hold it.

    Sealed measurements are read from their can at the indexed offset (one gzip member); ones
    still in the spool are found by scanning the (at most an hour's worth of) segments.
    """

    own = index is None
    idx = index or ArchiveIndex(archive)
    try:
        location = idx.locate(uid)
        if location is not None:
            return read_member(archive, location.can, location.offset, location.length)
    finally:
        if own:
            idx.close()
    spool = SpoolDir(archive)
    for segment in spool.segments():
        for _off, _end, record in spool.read(segment):
            if record.uid == uid:
                return with_uid(record.body, uid)
    return None
