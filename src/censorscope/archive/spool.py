"""The append-only spool: numbered segment files of framed records, fsync'd before any ack.

``<archive>/spool/0000000001.spool``, ``…2.spool`` … The writer appends to the highest
segment; on open it cuts a torn tail (a crash in the middle of a write) back to the last
valid record. :meth:`SpoolWriter.append` writes a whole batch with one ``write`` and one
``fsync`` (group commit) and returns each record's position; on failure it truncates the
segment back to where it was, so nothing half-written survives to be read later.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from censorscope.archive.records import SpoolRecord, decode_records
from censorscope.durable import fsync_dir

__all__ = ["Position", "SpoolDir", "SpoolWriter"]

READ_CHUNK = 8 << 20


class Position(NamedTuple):
    """A place in the spool: segment number and byte offset."""

    segment: int
    offset: int


class SpoolDir:
    """The segment files under ``<archive>/spool``."""

    def __init__(self, archive: Path) -> None:
        self.path = Path(archive) / "spool"
        self.path.mkdir(parents=True, exist_ok=True)

    def segment_path(self, segment: int) -> Path:
        return self.path / f"{segment:010d}.spool"

    def segments(self) -> list[int]:
        out = []
        for entry in self.path.glob("*.spool"):
            if entry.stem.isdigit():
                out.append(int(entry.stem))
        return sorted(out)

    def read(
        self, segment: int, start: int = 0, end: int | None = None
    ) -> Iterator[tuple[int, int, SpoolRecord]]:
        """``(offset, end, record)`` of the valid records of ``segment`` in ``[start, end)``."""

        try:
            handle = self.segment_path(segment).open("rb")
        except FileNotFoundError:
            return
        with handle:
            handle.seek(start)
            buf = b""
            base = start
            while True:
                want = READ_CHUNK if end is None else min(READ_CHUNK, end - (base + len(buf)))
                chunk = handle.read(want) if want > 0 else b""
                buf += chunk
                last = 0
                for off, rec_end, record in decode_records(buf):
                    yield base + off, base + rec_end, record
                    last = rec_end
                buf = buf[last:]
                base += last
                if not chunk:
                    return  # anything left in buf is a torn tail

    def valid_end(self, segment: int) -> int:
        """Where the valid records of ``segment`` end."""

        end = 0
        for _off, rec_end, _rec in self.read(segment):
            end = rec_end
        return end


class SpoolWriter:
    """Appends framed records to the current segment, durably."""

    def __init__(self, spool: SpoolDir, min_segment: int = 1) -> None:
        self.spool = spool
        segments = spool.segments()
        if segments and segments[-1] >= min_segment:
            self.segment = segments[-1]
            recover = True
        else:
            self.segment = min_segment
            recover = self.spool.segment_path(min_segment).exists()
        self._fd = -1
        self._open(recover=recover)

    def _open(self, recover: bool) -> None:
        path = self.spool.segment_path(self.segment)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            if recover:
                end = self.spool.valid_end(self.segment)
                if os.fstat(fd).st_size != end:
                    os.ftruncate(fd, end)
                    os.fsync(fd)
            else:
                end = 0
                fsync_dir(self.spool.path)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self.end = fd, end

    @property
    def position(self) -> Position:
        return Position(self.segment, self.end)

    def append(self, frames: list[bytes]) -> list[Position]:
        """Write ``frames`` at the end of the segment with one fsync; their positions."""

        data = b"".join(frames)
        start = self.end
        try:
            view = memoryview(data)
            written = 0
            while written < len(data):
                written += os.pwrite(self._fd, view[written:], start + written)
            os.fsync(self._fd)
        except OSError:
            try:
                os.ftruncate(self._fd, start)
                os.fsync(self._fd)
            except OSError:
                pass
            raise
        positions = []
        pos = start
        for frame in frames:
            positions.append(Position(self.segment, pos))
            pos += len(frame)
        self.end = pos
        return positions

    def rotate(self) -> int:
        """Close the current segment and start the next one; the closed segment's number."""

        closed, old_fd, old_end = self.segment, self._fd, self.end
        self.segment += 1
        try:
            self._open(recover=False)
        except BaseException:  # (disk full, read-only): keep appending to the current one
            self.segment, self._fd, self.end = closed, old_fd, old_end
            raise
        os.close(old_fd)
        return closed

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
