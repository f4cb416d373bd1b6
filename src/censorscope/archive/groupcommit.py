"""Group commit for the spool: many concurrent appends, one write + one fsync per batch.

Callers ``await append(frame)``; a single flusher task takes everything pending, writes it in a
worker thread with :meth:`SpoolWriter.append` (one fsync), then resolves every caller with its
position. While one batch is being fsync'd the next one accumulates, which is how a 2-core
machine acknowledges thousands of measurements per second with each one durable before its ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import time

from censorscope.archive.spool import Position, SpoolWriter
from censorscope.archive.threads import finish_in_thread

__all__ = ["GroupCommitSpool", "SpoolWriteError"]

MAX_BATCH_BYTES = 32 << 20
MAX_BATCH_RECORDS = 8192


class SpoolWriteError(OSError):
    """The batch could not be made durable; none of its records were acknowledged."""


class GroupCommitSpool:
    """An asyncio front to a :class:`SpoolWriter` that batches fsyncs."""

    def __init__(self, writer: SpoolWriter) -> None:
        self.writer = writer
        self._pending: list[tuple[bytes, asyncio.Future[Position]]] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self.committed = asyncio.Event()  # set after each durable batch (for the feeder)
        self.batches = 0
        self._task: asyncio.Task[None] | None = None
        # the last write's outcome (for /health): None after a durable batch, else the error
        self.last_error: str | None = None
        self.last_write_at: float | None = None  # wall-clock time of the last attempt
        self.failures = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._flusher())

    async def append(self, frame: bytes) -> Position:
        """Durably append ``frame``; its position once fsync'd."""

        if self._task is None or self._task.done():
            raise SpoolWriteError("the spool is closed")
        fut: asyncio.Future[Position] = asyncio.get_running_loop().create_future()
        self._pending.append((frame, fut))
        self._wake.set()
        return await fut

    def _take_batch(self) -> list[tuple[bytes, asyncio.Future[Position]]]:
        size = 0
        count = 0
        for frame, _fut in self._pending:
            if count and (size + len(frame) > MAX_BATCH_BYTES or count >= MAX_BATCH_RECORDS):
                break
            size += len(frame)
            count += 1
        batch, self._pending = self._pending[:count], self._pending[count:]
        return batch

    async def _flusher(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._take_batch()
                async with self._lock:
                    try:
                        positions = await finish_in_thread(
                            self.writer.append, [frame for frame, _ in batch]
                        )
                    except OSError as exc:
                        self.failures += 1
                        self.last_write_at = time.time()
                        name = errno.errorcode.get(exc.errno or 0, "EIO")
                        self.last_error = f"{name}: {exc.strerror or exc}"
                        for _frame, fut in batch:
                            if not fut.done():
                                fut.set_exception(SpoolWriteError(exc.errno, str(exc)))
                        continue
                self.batches += 1
                self.last_write_at = time.time()
                self.last_error = None
                for (_frame, fut), pos in zip(batch, positions, strict=True):
                    if not fut.done():
                        fut.set_result(pos)
                self.committed.set()

    async def rotate(self) -> int:
        """Start a new segment between two batches; the number of the closed one."""

        async with self._lock:
            return await finish_in_thread(self.writer.rotate)

    @property
    def position(self) -> Position:
        return self.writer.position

    async def close(self) -> None:
        """Flush what is pending, stop the flusher, close the file."""

        while self._pending:
            self._wake.set()
            await asyncio.sleep(0.001)
        async with self._lock:
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self.writer.close()
