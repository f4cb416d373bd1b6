"""Sealing: turn closed spool segments into cans plus index rows, crash-safely.

For a closed segment: write each can as ``*.tmp`` and fsync it; commit the index rows and the
"segment sealed" mark in one SQLite transaction; rename the temporaries into place; delete the
segment. After a crash, :func:`recover` finishes the renames of committed seals and removes the
temporaries of uncommitted ones (their segment is still in the spool and is sealed again), so
every measurement ends up in exactly one indexed can.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from censorscope.archive.cans import can_name, compress_member, with_uid
from censorscope.archive.index import ArchiveIndex
from censorscope.archive.spool import SpoolDir
from censorscope.durable import fsync_dir

__all__ = ["recover", "seal_segment", "seal_segments"]

_TMP = ".tmp"


def _segment_of(tmp: Path) -> int | None:
    # NAME.sNNNNNNNNNN.jsonl.gz.tmp
    parts = tmp.name.split(".")
    for part in parts:
        if len(part) == 11 and part.startswith("s") and part[1:].isdigit():
            return int(part[1:])
    return None


def recover(archive: Path, index: ArchiveIndex) -> None:
    """Finish or undo seals interrupted by a crash."""

    cans = Path(archive) / "cans"
    if not cans.exists():
        return
    spool = SpoolDir(archive)
    touched: set[Path] = set()
    for tmp in cans.rglob(f"*{_TMP}"):
        segment = _segment_of(tmp)
        if segment is not None and index.is_sealed(segment):
            os.replace(tmp, tmp.with_name(tmp.name[: -len(_TMP)]))
        else:
            tmp.unlink()
        touched.add(tmp.parent)
    for directory in touched:
        fsync_dir(directory)
    for segment in spool.segments():
        if index.is_sealed(segment):
            spool.segment_path(segment).unlink(missing_ok=True)
            touched.add(spool.path)
    if touched:
        fsync_dir(spool.path)


def seal_segment(archive: Path, index: ArchiveIndex, segment: int) -> int:
    """Seal one closed spool segment; the number of measurements it held."""

    archive = Path(archive)
    spool = SpoolDir(archive)
    if index.is_sealed(segment):
        spool.segment_path(segment).unlink(missing_ok=True)
        return 0
    groups: dict[str, list[tuple[bytes, tuple[object, ...]]]] = defaultdict(list)
    count = 0
    for _off, _end, record in spool.read(segment):
        can = can_name(record, segment)
        member = compress_member(with_uid(record.body, record.uid))
        groups[can].append(
            (member, (record.uid, record.digest, can, record.cc, record.test_name,
                      record.report_id, record.received))
        )
        count += 1
    rows: list[tuple[object, ...]] = []
    tmps: list[Path] = []
    for can, members in groups.items():
        final = archive / can
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(final.name + _TMP)
        offset = 0
        with tmp.open("wb") as handle:
            for member, (uid, digest, can_rel, cc, test, report_id, received) in members:
                handle.write(member)
                rows.append((uid, digest, can_rel, offset, len(member), cc, test, report_id,
                             received))
                offset += len(member)
            handle.flush()
            os.fsync(handle.fileno())
        tmps.append(tmp)
    for directory in {tmp.parent for tmp in tmps}:
        fsync_dir(directory)
    index.commit_seal(segment, rows, datetime.now(UTC).isoformat())
    for tmp in tmps:
        os.replace(tmp, tmp.with_name(tmp.name[: -len(_TMP)]))
    for directory in {tmp.parent for tmp in tmps}:
        fsync_dir(directory)
    spool.segment_path(segment).unlink(missing_ok=True)
    fsync_dir(spool.path)
    return count


def seal_segments(archive: Path, segments: list[int]) -> int:
    """Seal ``segments`` (closed ones) with a fresh index connection; measurements sealed."""

    index = ArchiveIndex(archive)
    try:
        recover(archive, index)
        return sum(seal_segment(archive, index, segment) for segment in segments)
    finally:
        index.close()
