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
from dataclasses import dataclass, field
from pathlib import Path

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
            seal=self.seal,
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
                await finish_in_thread(self.feeder.catch_up, self.archive.position)
                delay = 0.5
            except Exception:  # the store is down or broken: keep the spool, retry later
                LOG.exception("feeding the store failed; retrying in %.1f s", delay)
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

    async def stop(self) -> None:
        """Stop accepting, finish requests in flight, feed the store, seal, close."""

        if self._server is not None:
            await self._server.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.archive is not None:
            try:
                if self.config.seal_at_stop:
                    await self.seal()
                elif self.feeder is not None:
                    await asyncio.to_thread(self.feeder.catch_up, self.archive.position)
            finally:
                await self.archive.close()
                if self.sink is not None:
                    self.sink.close()
