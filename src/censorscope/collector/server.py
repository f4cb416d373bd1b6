"""The collector process: its HTTP server (:mod:`censorscope.serve`), spool feeder and sealing.

:class:`Collector` opens the live archive (finishing interrupted seals, rebuilding the duplicate
map), catches the store up from the feeder's mark (replay after a crash), then serves. A
background task feeds the store after each durable batch; another seals the spool every
``seal_interval`` seconds; :meth:`Collector.stop` drains, feeds and seals once more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from censorscope import __version__
from censorscope.archive.live import LiveArchive
from censorscope.archive.threads import finish_in_thread
from censorscope.collector.feeder import Feeder, Sink
from censorscope.collector.service import CollectorService, ServiceConfig
from censorscope.serve import HTTPServer, Limits

__all__ = ["Collector", "CollectorConfig"]

LOG = logging.getLogger("censorscope.collector")
ACCESS_LOG = logging.getLogger("censorscope.collector.access")
SERVER = f"censorscope-collector/{__version__}"


@dataclass
class CollectorConfig:
    """Where to listen, where to archive, and the limits (``limits.max_connections``: 503
    beyond)."""

    archive: Path
    host: str = "127.0.0.1"
    port: int = 8480
    admin_token: str | None = None
    collector_id: int = 1
    seal_interval: float = 3600.0
    seal_at_stop: bool = True
    limits: Limits = field(default_factory=Limits)
    min_free: int = 1024 * 1024  # /health fails below this many free bytes on the spool's disk


class Collector:
    """One running collector."""

    def __init__(self, config: CollectorConfig, sink: Sink | None = None) -> None:
        self.config = config
        self.sink = sink
        self.archive: LiveArchive | None = None
        self.feeder: Feeder | None = None
        self.service: CollectorService | None = None
        self._server: HTTPServer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.port = config.port
        self.feed_error: str | None = None
        self._caught_up_at = time.monotonic()
        self.stop_errors: list[str] = []  # I/O errors met while stopping (exit status 74)

    async def start(self) -> None:
        self.archive = LiveArchive(self.config.archive)
        self.archive.start()
        if self.sink is not None:
            self.feeder = Feeder(self.config.archive, self.sink)
            replayed = await asyncio.to_thread(self.feeder.catch_up, self.archive.position)
            if replayed:
                LOG.info("replayed %d spooled measurement(s) into the store", replayed)
        self.service = CollectorService(
            self.archive,
            ServiceConfig(self.config.collector_id, self.config.admin_token, self.config.limits),
            seal=self.seal, health=self.health,
        )
        self._server = HTTPServer(self.service.handle, server_name=SERVER,
                                  limits=self.config.limits, access_log=ACCESS_LOG)
        _host, self.port = await self._server.start(self.config.host, self.config.port)
        loop = asyncio.get_running_loop()
        if self.feeder is not None:
            self._tasks.append(loop.create_task(self._feed_loop()))
        if self.config.seal_interval > 0:
            self._tasks.append(loop.create_task(self._seal_loop()))

    async def seal(self) -> int:
        """Seal the spool into cans now (what the feeder has already passed)."""

        assert self.archive is not None
        if self.feeder is None:
            return await self.archive.seal()
        archive, feeder = self.archive, self.feeder

        async def fed_below() -> int:  # after the rotation: feed everything, then ask
            await finish_in_thread(feeder.catch_up, archive.position)
            return feeder.safe_below()

        return await archive.seal(fed_below)

    async def _feed_loop(self) -> None:
        assert self.archive is not None and self.feeder is not None
        delay = 0.5
        while True:
            await self.archive.committed.wait()
            self.archive.committed.clear()
            try:
                upto = self.archive.position
                await finish_in_thread(self.feeder.catch_up, upto)
                if self.archive.position == upto:
                    self._caught_up_at = time.monotonic()
                delay = 0.5
                self.feed_error = None
            except Exception as exc:  # the store is down or broken: keep the spool, retry later
                self.feed_error = f"{type(exc).__name__}: {exc}"[:300]
                LOG.error("feeding the store failed (%s); retrying in %.1f s",
                          self.feed_error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                self.archive.committed.set()

    async def _seal_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.seal_interval)
            try:
                sealed = await self.seal()
                LOG.info("sealed %d measurement(s) into cans", sealed)
            except Exception:
                LOG.exception("sealing failed; the spool is kept and sealing retried later")

    def health(self) -> tuple[bool, dict[str, Any]]:
        """``(healthy, report)`` for ``GET /health``: the spool's last write and its disk, the
        feeder's lag. Unhealthy when the last spool write failed, the disk is read-only or has
        less than ``min_free`` bytes free; a lagging or failing feeder is reported (the
        measurements are safe in the spool) but does not make the collector unhealthy."""

        assert self.archive is not None
        group = self.archive.group
        spool: dict[str, Any] = {"last_write": "failed" if group.last_error else "ok",
                                 "error": group.last_error, "failures": group.failures,
                                 "last_write_at": group.last_write_at}
        problems = []
        if group.last_error:
            problems.append(f"spool write failed: {group.last_error}")
        try:
            st = os.statvfs(self.archive.spool.path)
            free = st.f_bavail * st.f_frsize
            read_only = bool(st.f_flag & os.ST_RDONLY)
            spool.update(free_bytes=free, read_only=read_only)
            if read_only:
                problems.append("the spool's file system is read-only")
            elif free < self.config.min_free:
                problems.append(f"the spool's disk is full ({free} bytes free)")
        except OSError as exc:
            problems.append(f"the spool's disk cannot be examined: {exc.strerror}")
        report: dict[str, Any] = {"spool": spool}
        if self.feeder is not None:
            mark, end = self.feeder.mark, self.archive.position
            lag = 0 if tuple(mark) >= tuple(end) else (
                end.offset - mark.offset if mark.segment == end.segment else
                self._spooled_bytes(mark, end))
            report["feeder"] = {
                "lag_bytes": lag,
                "lag_seconds": round(time.monotonic() - self._caught_up_at, 1) if lag else 0.0,
                "error": self.feed_error, "fed": self.feeder.fed,
            }
        if self._server is not None:
            report["connections"] = self._server.active
            report["buffered_bytes"] = self._server.budget.held
        report["problems"] = problems
        return not problems, report

    def _spooled_bytes(self, mark: Any, end: Any) -> int:
        assert self.archive is not None
        total = 0
        for segment in self.archive.spool.segments():
            if mark.segment <= segment <= end.segment:
                size = end.offset if segment == end.segment else 0
                if segment != end.segment:
                    with contextlib.suppress(OSError):
                        size = self.archive.spool.segment_path(segment).stat().st_size
                total += size - (mark.offset if segment == mark.segment else 0)
        return max(total, 0)

    async def stop(self) -> None:
        """Stop accepting, finish requests in flight, feed the store, seal, close.

        An I/O error on the way (disk full, read-only file system, the store gone) is logged
        in one line and kept in :attr:`stop_errors`; the rest of the stop still runs, so the
        archive lock is released and the spool (where every acknowledged measurement is) stays
        for the next start to feed and seal."""

        if self._server is not None:
            await self._server.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.archive is None:
            return
        try:
            if self.config.seal_at_stop:
                await self.seal()
            elif self.feeder is not None:
                await asyncio.to_thread(self.feeder.catch_up, self.archive.position)
        except Exception as exc:
            self._stop_error("sealing at stop", exc)
        try:
            await self.archive.close()
        except Exception as exc:
            self._stop_error("closing the archive", exc)
        if self.sink is not None:
            try:
                self.sink.close()
            except Exception as exc:
                self._stop_error("closing the store", exc)

    def _stop_error(self, what: str, exc: BaseException) -> None:
        text = f"{what} failed: {type(exc).__name__}: {exc}"[:400]
        self.stop_errors.append(text)
        LOG.error("%s; the spool keeps every acknowledged measurement for the next start", text)
