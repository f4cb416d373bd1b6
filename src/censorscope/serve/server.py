"""The connection loop shared by every internet-facing server.

:class:`HTTPServer` accepts connections, reads requests with :func:`read_request`, hands each
to the service's handler and writes the :class:`Response`. An :class:`HTTPError` from the
handler becomes the error envelope on a connection that stays usable; one from the framing
(:func:`read_request`) is answered and the connection closed with a lingering close; anything
else is logged and answered 500. Above ``max_connections`` a connection gets 503 at once,
above ``max_connections_per_source`` from one address 429 (both with ``Retry-After``). Request
bodies are charged to a :class:`BodyBudget` (per source and in total) while they are held;
head and idle timeouts shrink as the server nears its connection cap (:meth:`Limits.shrink`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from censorscope.serve.budget import BodyBudget
from censorscope.serve.errors import HTTPError, error_body
from censorscope.serve.limits import Limits
from censorscope.serve.request import Request, read_request
from censorscope.serve.response import Response, render_response

__all__ = ["AccessRecord", "HTTPServer", "Handler"]

LOG = logging.getLogger("censorscope.serve")

Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class AccessRecord:
    """One line of the access log (``error`` is the envelope's message, if any)."""

    remote: str
    method: str | None
    path: str | None
    status: int
    bytes_in: int
    bytes_out: int
    duration_ms: float
    ua: str | None
    error: str | None

    def to_json(self, extra: dict[str, Any] | None = None) -> str:
        fields = {
            "remote": self.remote, "method": self.method, "path": self.path,
            "status": self.status, "bytes_in": self.bytes_in, "bytes_out": self.bytes_out,
            "duration_ms": self.duration_ms, "ua": self.ua, **(extra or {}),
            "error": self.error,
        }
        return orjson.dumps(fields).decode()


class HTTPServer:
    """One listening socket and its connections.

    ``keep_alive=False`` answers every request with ``Connection: close`` (one request per
    connection). ``headers`` are added to every answer. ``access_log`` gets one JSON line per
    request at ``access_level``; ``access_extra`` adds fields to it.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        server_name: str,
        limits: Limits,
        keep_alive: bool = True,
        headers: tuple[tuple[str, str], ...] = (),
        access_log: logging.Logger | None = None,
        access_level: int = logging.DEBUG,
        access_extra: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.handler = handler
        self.server_name = server_name
        self.limits = limits
        self.keep_alive = keep_alive
        self.headers = headers
        self.access_log = access_log
        self.access_level = access_level
        self.access_extra = access_extra
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._active = 0
        self._by_source: dict[str, int] = {}
        self.budget = BodyBudget(limits.max_buffered, limits.max_buffered_per_source,
                                 limits.retry_after)
        self.refused_connections = 0

    @property
    def active(self) -> int:
        """Connections open right now (refused ones included while they are answered)."""

        return self._active

    async def start(self, host: str, port: int, *, ssl_context: ssl.SSLContext | None = None,
                    backlog: int = 1024) -> tuple[str, int]:
        """Bind and start accepting; the bound ``(host, port)``."""

        self._server = await asyncio.start_server(
            self._on_connection, host, port, limit=self.limits.stream_limit, backlog=backlog,
            ssl=ssl_context,
            ssl_handshake_timeout=self.limits.head_timeout if ssl_context else None,
        )
        sockname = self._server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    async def serve_forever(self) -> None:
        assert self._server is not None, "call start() first"
        await self._server.serve_forever()

    async def close(self) -> None:
        """Stop accepting, cancel the connections, wait for them."""

        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._active += 1
        peer = writer.get_extra_info("peername")
        source = str(peer[0]) if isinstance(peer, tuple) else ""
        from_source = self._by_source.get(source, 0) + 1
        self._by_source[source] = from_source
        try:
            if self._active > self.limits.max_connections:
                await self._refuse(writer, 503, "too many connections; retry later")
                return
            if from_source > self.limits.max_connections_per_source:
                await self._refuse(writer, 429, "too many connections from your address; "
                                   "retry later")
                return
            await self._serve(reader, writer, source)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # close() cancels the connections; end quietly (asyncio 3.11 would otherwise log
            # the cancelled client_connected_cb task as an unhandled exception)
            pass
        finally:
            self._active -= 1
            left = self._by_source[source] - 1
            if left:
                self._by_source[source] = left
            else:
                del self._by_source[source]
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _refuse(self, writer: asyncio.StreamWriter, status: int, message: str) -> None:
        """Answer a connection over a cap and close it, without reading anything."""

        self.refused_connections += 1
        writer.write(self._render(status, error_body(status, message), keep_alive=False,
                                  headers=(("Retry-After", str(self.limits.retry_after)),)))
        with contextlib.suppress(OSError):
            await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()

    def connections_from(self, source: str) -> int:
        """Connections open right now from ``source`` (a client address)."""

        return self._by_source.get(source, 0)

    def _render(self, status: int, body: bytes, *, keep_alive: bool,
                headers: tuple[tuple[str, str], ...] = (),
                content_type: str = "application/json") -> bytes:
        return render_response(status, body, keep_alive=keep_alive, server=self.server_name,
                               headers=self.headers + headers, content_type=content_type)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     remote: str) -> None:
        first = True
        limits = self.limits
        while True:
            started = time.monotonic()
            request: Request | None = None
            timeout = limits.shrink(limits.head_timeout if first else limits.idle_timeout,
                                    self._active)
            try:
                request = await read_request(reader, writer, limits, first=first,
                                             budget=self.budget, source=remote,
                                             head_timeout=timeout)
            except HTTPError as exc:  # framing error: answer, then close
                response = Response(exc.status, exc.body(), exc.headers)
                await self._answer(writer, response, keep_alive=False)
                self._log(remote, None, response, started, exc.message)
                await self._linger(reader, writer)
                return
            if request is None:
                return
            keep_alive = self.keep_alive and request.keep_alive
            error: str | None = None
            try:
                try:
                    response = await self.handler(request)
                except HTTPError as exc:
                    response = Response(exc.status, exc.body(), exc.headers)
                    error = exc.message
                except Exception:
                    LOG.exception("unexpected error serving %s %s from %s", request.method,
                                  request.path[:100], remote)
                    response = Response(500, error_body(500, "internal error"))
                    error = "internal error"
                await self._answer(writer, response, keep_alive=keep_alive)
            finally:
                self.budget.release(remote, len(request.body))
            self._log(remote, request, response, started, error)
            if not keep_alive:
                return
            first = False

    async def _answer(self, writer: asyncio.StreamWriter, response: Response, *,
                      keep_alive: bool) -> None:
        writer.write(self._render(response.status, response.body, keep_alive=keep_alive,
                                  headers=response.headers, content_type=response.content_type))
        await writer.drain()

    async def _linger(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Shut the write side (the answer is complete), then read and discard what the client
        is still sending, until it closes or the linger budget is spent: closing a socket with
        unread input resets the connection, and the client could lose the answer."""

        if writer.can_write_eof():
            with contextlib.suppress(OSError):
                writer.write_eof()
        left = self.limits.linger_bytes
        with contextlib.suppress(TimeoutError, OSError, ssl.SSLError):
            async with asyncio.timeout(self.limits.linger_timeout):
                while left > 0:
                    chunk = await reader.read(min(left, 256 * 1024))
                    if not chunk:
                        return
                    left -= len(chunk)

    def _log(self, remote: str, request: Request | None, response: Response, started: float,
             error: str | None) -> None:
        log = self.access_log
        if log is None or not log.isEnabledFor(self.access_level):
            return
        record = AccessRecord(
            remote=remote,
            method=request.method if request else None,
            path=request.path[:200] if request else None,
            status=response.status,
            bytes_in=len(request.body) if request else 0,
            bytes_out=len(response.body),
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            ua=request.headers.get("user-agent", "")[:200] if request else None,
            error=error,
        )
        extra = self.access_extra() if self.access_extra is not None else None
        log.log(self.access_level, "%s", record.to_json(extra))
