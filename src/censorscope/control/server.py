"""A small, strict asyncio HTTP/1.1 server for the control (one request per connection).

Routes: ``POST /`` and ``POST /api/v1/control`` take a THRequest and answer a THResponse;
``GET /`` answers ``{"message":"Hello OONItarian!"}`` (OONI's health check); other methods
get 405, other paths 404. Every error is JSON ``{"error": "…"}``.

Limits, because it faces the internet: request line and headers (count, bytes, time to
arrive), ``Content-Length`` bodies only (no chunked) up to ``max_body`` (413 above),
concurrent connections, measurements in flight (503 when ``≥ max_inflight``, or
``max_inflight_ooniprobe`` for User-Agents starting ``ooniprobe-``, as OONI does), and the
total time of one measurement (504). One structured access-log line per request goes to
the ``censorscope.control.access`` logger.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import orjson

from censorscope import __version__
from censorscope.control.measure import MeasureConfig, measure, request_refusal
from censorscope.control.protocol import RequestError, parse_request

ACCESS_LOG = logging.getLogger("censorscope.control.access")
LOG = logging.getLogger("censorscope.control")
SERVER_HEADER = f"censorscope-control/{__version__}"
HELLO = {"message": "Hello OONItarian!"}
CONTROL_PATHS = ("/", "/api/v1/control")
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_REASONS = {
    200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
    408: "Request Timeout", 411: "Length Required", 413: "Content Too Large",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    503: "Service Unavailable", 504: "Gateway Timeout",
}


@dataclass
class ServerConfig:
    """Where to listen and the limits. ``request_timeout`` ``None`` = derived from the
    measurement timeouts (DNS + 2 × step timeout + slack)."""

    host: str = "127.0.0.1"
    port: int = 8080
    tls_cert: str | None = None
    tls_key: str | None = None
    max_inflight: int = 25
    max_inflight_ooniprobe: int = 50
    max_body: int = 64 * 1024
    max_headers: int = 64
    max_header_bytes: int = 16 * 1024
    header_timeout: float = 10.0
    request_timeout: float | None = None
    max_connections: int = 512


class HTTPError(Exception):
    """Answer with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


class ControlServer:
    """The control's HTTP server. ``await start()`` → bound (host, port); ``await close()``."""

    def __init__(self, config: ServerConfig, measure_config: MeasureConfig) -> None:
        self.config = config
        self.measure_config = measure_config
        self.inflight = 0
        self._connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def request_timeout(self) -> float:
        if self.config.request_timeout is not None:
            return self.config.request_timeout
        cfg = self.measure_config
        return 2 * cfg.dns_timeout + 3 * cfg.timeout + 5.0

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.config.tls_cert:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.config.tls_cert, self.config.tls_key)
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx

    async def start(self) -> tuple[str, int]:
        ctx = self._ssl_context()
        self._server = await asyncio.start_server(
            self._on_connection,
            self.config.host,
            self.config.port,
            ssl=ctx,
            ssl_handshake_timeout=self.config.header_timeout if ctx else None,
            limit=self.config.max_header_bytes,
        )
        sockname = self._server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    @property
    def scheme(self) -> str:
        return "https" if self.config.tls_cert else "http"

    async def serve_forever(self) -> None:
        assert self._server is not None, "call start() first"
        await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._connections += 1
        try:
            if self._connections > self.config.max_connections:
                return
            await self._handle(reader, writer)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        started = time.monotonic()
        peer = writer.get_extra_info("peername")
        remote = str(peer[0]) if isinstance(peer, tuple) else ""
        request: _Request | None = None
        status = 500
        payload: Any = {"error": "internal error"}
        try:
            try:
                async with asyncio.timeout(self.config.header_timeout):
                    request = await self._read_head(reader)
            except TimeoutError:
                raise HTTPError(408, "request head not received in time") from None
            status, payload = await self._route(request, reader, writer)
        except HTTPError as exc:
            status, payload = exc.status, {"error": exc.message}
        except Exception:
            LOG.exception("control: unexpected error")
            status, payload = 500, {"error": "internal error"}
        body = orjson.dumps(payload)
        await self._respond(writer, status, body, allow=status == 405)
        ACCESS_LOG.info(
            "%s",
            orjson.dumps(
                {
                    "remote": remote,
                    "method": request.method if request else None,
                    "path": request.path if request else None,
                    "status": status,
                    "bytes_in": len(request.body) if request else 0,
                    "bytes_out": len(body),
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                    "ua": request.headers.get("user-agent", "")[:200] if request else None,
                    "inflight": self.inflight,
                    "error": payload.get("error") if isinstance(payload, dict) else None,
                }
            ).decode(),
        )

    async def _read_head(self, reader: asyncio.StreamReader) -> _Request:
        try:
            line = await reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError:
            raise HTTPError(431, "request line too long") from None
        parts = line.rstrip(b"\r\n").split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1.") or not _TOKEN.fullmatch(
            parts[0]
        ) or not parts[1].startswith(b"/"):
            raise HTTPError(400, "malformed HTTP/1.1 request line")
        method = parts[0].decode("ascii")
        path = parts[1].decode("latin-1").split("?", 1)[0]
        headers: dict[str, str] = {}
        total = len(line)
        count = 0
        while True:
            try:
                raw = await reader.readuntil(b"\r\n")
            except asyncio.LimitOverrunError:
                raise HTTPError(431, "header line too long") from None
            if raw == b"\r\n":
                break
            total += len(raw)
            count += 1
            if count > self.config.max_headers or total > self.config.max_header_bytes:
                raise HTTPError(431, "too many or too large headers")
            name, sep, value = raw.rstrip(b"\r\n").partition(b":")
            if not sep or not _TOKEN.fullmatch(name):
                raise HTTPError(400, "malformed header line")
            key = name.decode("ascii").lower()
            text = value.strip().decode("latin-1")
            if key in headers and key in ("content-length", "transfer-encoding", "host"):
                raise HTTPError(400, f"duplicate {key} header")
            headers[key] = text if key not in headers else f"{headers[key]}, {text}"
        return _Request(method, path, headers)

    async def _route(
        self, request: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[int, Any]:
        if request.path not in CONTROL_PATHS:
            raise HTTPError(404, f"no such path {request.path!r}; POST / or /api/v1/control")
        if request.method == "GET":
            return 200, HELLO
        if request.method != "POST":
            raise HTTPError(405, f"method {request.method} not allowed; use POST (or GET)")
        ua = request.headers.get("user-agent", "")
        limit = (
            self.config.max_inflight_ooniprobe
            if ua.startswith("ooniprobe-")
            else self.config.max_inflight
        )
        if self.inflight >= limit:
            raise HTTPError(503, "too many measurements in flight; retry later")
        self.inflight += 1
        try:
            return 200, await self._measure(request, reader, writer)
        finally:
            self.inflight -= 1

    async def _measure(
        self, request: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> Any:
        request.body = await self._read_body(request, reader, writer)
        try:
            req = parse_request(request.body)
        except RequestError as exc:
            raise HTTPError(exc.status, exc.message) from None
        refusal = request_refusal(req, self.measure_config)
        if refusal is not None:
            raise HTTPError(400, refusal)
        try:
            async with asyncio.timeout(self.request_timeout):
                return await measure(req, self.measure_config)
        except TimeoutError:
            raise HTTPError(
                504, f"measurement took longer than {self.request_timeout:g} s"
            ) from None

    async def _read_body(
        self, request: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bytes:
        if "transfer-encoding" in request.headers:
            raise HTTPError(411, "chunked bodies are not accepted; send Content-Length")
        length_text = request.headers.get("content-length")
        if length_text is None:
            raise HTTPError(411, "Content-Length required")
        if not length_text.isdigit():
            raise HTTPError(400, "bad Content-Length")
        length = int(length_text)
        if length > self.config.max_body:
            raise HTTPError(413, f"body larger than {self.config.max_body} bytes")
        if request.headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
        try:
            async with asyncio.timeout(self.config.header_timeout):
                return await reader.readexactly(length)
        except TimeoutError:
            raise HTTPError(408, "request body not received in time") from None
        except asyncio.IncompleteReadError:
            raise HTTPError(400, "body shorter than Content-Length") from None

    async def _respond(
        self, writer: asyncio.StreamWriter, status: int, body: bytes, *, allow: bool
    ) -> None:
        head = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            f"Server: {SERVER_HEADER}",
            f"Date: {formatdate(usegmt=True)}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Cache-Control: no-store",
            "Connection: close",
        ]
        if allow:
            head.append("Allow: GET, POST")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body)
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.drain()
