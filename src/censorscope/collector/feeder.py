"""The feeder: replays the spool into the store, from a durable high-water mark.

The mark (``<archive>/feeder.json``: spool segment and offset) is saved atomically after each
batch the sink has accepted. The sink must be idempotent by measurement_uid (the store's
``write_batch`` is), so a crash between a batch and its mark replays that batch harmlessly,
and a crash between the spool fsync and the store write is caught up at the next start.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Protocol

import orjson

from censorscope.archive.records import SpoolRecord
from censorscope.archive.spool import Position, SpoolDir
from censorscope.durable import fsync_dir

__all__ = ["Feeder", "Sink"]

LOG = logging.getLogger("censorscope.collector.feeder")


class Sink(Protocol):
    """Where spooled measurements go (the store); idempotent by uid."""

    def write(self, records: list[SpoolRecord]) -> None: ...

    def close(self) -> None: ...


class Feeder:
    """Moves records from ``mark`` up to a committed spool position into a sink."""

    def __init__(self, archive: Path, sink: Sink, batch: int = 2000) -> None:
        self.archive = Path(archive)
        self.spool = SpoolDir(self.archive)
        self.sink = sink
        self.batch = batch
        self.mark_path = self.archive / "feeder.json"
        self.mark = self._load()
        self.fed = 0
        self._lock = threading.Lock()  # the feed loop and a seal may both call catch_up

    def _load(self) -> Position:
        try:
            data = orjson.loads(self.mark_path.read_bytes())
            return Position(int(data["segment"]), int(data["offset"]))
        except FileNotFoundError:
            segments = self.spool.segments()
            return Position(segments[0] if segments else 1, 0)

    def _save(self, mark: Position) -> None:
        tmp = self.mark_path.with_suffix(".tmp")
        with tmp.open("wb") as handle:
            handle.write(orjson.dumps({"segment": mark.segment, "offset": mark.offset}))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.mark_path)
        fsync_dir(self.archive)
        self.mark = mark

    def safe_below(self) -> int:
        """Segments below this number have been fed completely (they may be sealed)."""

        return self.mark.segment

    def catch_up(self, upto: Position) -> int:
        """Feed every record between the mark and ``upto`` (a durable spool end)."""

        with self._lock:
            return self._catch_up(upto)

    def _catch_up(self, upto: Position) -> int:
        total = 0
        segment, offset = self.mark
        while (segment, offset) < tuple(upto):
            end = upto.offset if segment == upto.segment else None
            pending: list[SpoolRecord] = []
            last = offset
            for _off, rec_end, record in self.spool.read(segment, offset, end):
                pending.append(record)
                last = rec_end
                if len(pending) >= self.batch:
                    self.sink.write(pending)
                    total += len(pending)
                    pending = []
                    self._save(Position(segment, last))
            if pending:
                self.sink.write(pending)
                total += len(pending)
                self._save(Position(segment, last))
            if segment >= upto.segment:
                break
            later = [s for s in self.spool.segments() if s > segment]
            segment, offset = (later[0] if later else upto.segment), 0
            if segment > upto.segment:
                break
            self._save(Position(segment, 0))
        self.fed += total
        return total
