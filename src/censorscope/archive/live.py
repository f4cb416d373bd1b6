"""The live archive a running collector writes to: durable, duplicate-free, sealed hourly.

:meth:`LiveArchive.put` returns a measurement_uid only after the body is fsync'd in the spool
(group commit). A body already archived (same SHA-512, in the spool or in a sealed can) gets
the uid it was first given and is not written again; concurrent identical submissions share
one write. On open, interrupted seals are finished and the spool is scanned to rebuild the
duplicate map, so a restart after a crash knows everything acknowledged before it.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from censorscope.archive.groupcommit import GroupCommitSpool, SpoolWriteError
from censorscope.archive.index import ArchiveIndex
from censorscope.archive.records import SpoolRecord, encode_record
from censorscope.archive.seal import recover, seal_segments
from censorscope.archive.spool import Position, SpoolDir, SpoolWriter
from censorscope.archive.threads import finish_in_thread

__all__ = ["ArchiveBusyError", "LiveArchive", "SpoolWriteError"]


class ArchiveBusyError(RuntimeError):
    """Another process has this archive open for writing."""


class LiveArchive:
    """Spool + index + duplicate detection for one archive directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.path / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise ArchiveBusyError(
                f"{self.path} is in use by another process (a running collector?)"
            ) from None
        self.spool = SpoolDir(self.path)
        self.index = ArchiveIndex(self.path)
        recover(self.path, self.index)
        self._writer = SpoolWriter(self.spool, min_segment=self.index.max_sealed() + 1)
        self._by_digest: dict[str, str | asyncio.Future[str | None]] = {}
        self._segment_digests: dict[int, list[str]] = {}
        for segment in self.spool.segments():
            digests = self._segment_digests.setdefault(segment, [])
            for _off, _end, record in self.spool.read(segment):
                self._by_digest[record.digest] = record.uid
                digests.append(record.digest)
        self.group = GroupCommitSpool(self._writer)
        self._seal_lock = asyncio.Lock()
        self.accepted = 0
        self.duplicates = 0

    def start(self) -> None:
        self.group.start()

    @property
    def committed(self) -> asyncio.Event:
        return self.group.committed

    @property
    def position(self) -> Position:
        """The end of the durable spool."""

        return self.group.position

    def spooled_count(self) -> int:
        return sum(len(d) for d in self._segment_digests.values())

    async def put(
        self, body: bytes, digest: str, uid: str, *, cc: str, asn: int, test_name: str,
        report_id: str, received: datetime,
    ) -> tuple[str, bool]:
        """Archive ``body`` durably; ``(uid, True)`` if new, ``(first uid, False)`` if a
        duplicate. Raises :class:`SpoolWriteError` if it could not be made durable."""

        known = self._by_digest.get(digest)
        if known is None:
            known = self.index.uid_for_digest(digest)  # indexed lookup, microseconds
        if isinstance(known, str):
            self.duplicates += 1
            return known, False
        if known is not None:
            first = await asyncio.shield(known)
            if first is None:
                raise SpoolWriteError("the first copy of this measurement could not be stored")
            self.duplicates += 1
            return first, False
        fut: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._by_digest[digest] = fut
        record = SpoolRecord(
            uid=uid, digest=digest, cc=cc, asn=asn, test_name=test_name, report_id=report_id,
            received=received.astimezone(UTC).isoformat(timespec="microseconds"), body=body,
        )
        try:
            position = await asyncio.shield(self.group.append(encode_record(record)))
        except BaseException:
            del self._by_digest[digest]
            fut.set_result(None)
            raise
        self._by_digest[digest] = uid
        self._segment_digests.setdefault(position.segment, []).append(digest)
        fut.set_result(uid)
        self.accepted += 1
        return uid, True

    async def seal(self, safe_below: Callable[[], Awaitable[int]] | None = None) -> int:
        """Close the current segment and seal every closed one (below ``await safe_below()``,
        the first segment the store feeder has not finished, when there is a feeder)."""

        async with self._seal_lock:
            if self.spooled_count() or self._writer.end:
                await self.group.rotate()
            limit = await safe_below() if safe_below is not None else None
            current = self._writer.segment
            segments = [
                s for s in self.spool.segments()
                if s < current and (limit is None or s < limit)
            ]
            if not segments:
                return 0
            sealed = await finish_in_thread(seal_segments, self.path, segments)
            for segment in segments:
                for digest in self._segment_digests.pop(segment, []):
                    if isinstance(self._by_digest.get(digest), str):
                        del self._by_digest[digest]
            return sealed

    async def close(self) -> None:
        try:
            await self.group.close()
            self.index.close()
        finally:
            os.close(self._lock_fd)
