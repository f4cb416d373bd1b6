"""The control's HTTP server: OONI's test-helper routes on :mod:`censorscope.serve`.

Routes: ``POST /`` and ``POST /api/v1/control`` take a THRequest and answer a THResponse;
``GET`` on either answers ``{"message":"Hello OONItarian!"}`` (OONI's health check); other
methods get 405 (with ``Allow``), other paths 404. Those two success bodies are OONI's (OONI
probes parse them); every error is the serving layer's envelope ``{"error": {"code": <status>,
"message": "…"}}``.

Request framing and its limits are :mod:`censorscope.serve`'s (one validation policy for every
internet-facing server; see its docstring); the control serves one request per connection
(``Connection: close``), caps request bodies at 64 KiB and connections at 512. On top of that:
a ``POST`` must carry a ``Content-Length`` (411), measurements in flight are capped per client
(503 when one client address — an IPv4 address, an IPv6 /64 — has ``max_inflight_per_client``
running, so a client pointing the control at a tarpit holds only its own share) and in total
(503 at ``max_inflight``), and so is the total time of one measurement (504). Nothing a caller
sends (no User-Agent) buys a larger share. One JSON access-log line per request goes to the
``censorscope.control.access`` logger.
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import logging
import ssl
from dataclasses import dataclass, field
from typing import Any

from censorscope import __version__
from censorscope.control.measure import MeasureConfig, RefusedName, measure, request_refusal
from censorscope.control.protocol import RequestError, parse_request
from censorscope.serve import HTTPError, HTTPServer, Limits, Request, Response, json_response

__all__ = ["CONTROL_LIMITS", "ControlServer", "ServerConfig"]

ACCESS_LOG = logging.getLogger("censorscope.control.access")
LOG = logging.getLogger("censorscope.control")
SERVER_HEADER = f"censorscope-control/{__version__}"
HELLO = {"message": "Hello OONItarian!"}
CONTROL_PATHS = ("/", "/api/v1/control")
ALLOW = (("Allow", "GET, POST"),)
CONTROL_LIMITS = Limits(max_body=64 * 1024, head_timeout=10.0, body_timeout=10.0,
                        idle_timeout=10.0, max_connections=512)


@dataclass
class ServerConfig:
    """Where to listen and the limits. ``request_timeout`` ``None`` = derived from the
    measurement timeouts (DNS + 2 × step timeout + slack)."""

    host: str = "127.0.0.1"
    port: int = 8080
    tls_cert: str | None = None
    tls_key: str | None = None
    max_inflight: int = 50
    max_inflight_per_client: int = 8
    request_timeout: float | None = None
    limits: Limits = field(default_factory=lambda: CONTROL_LIMITS)


_PEER: contextvars.ContextVar[str] = contextvars.ContextVar("control_peer", default="")


def client_key(peer: str) -> str:
    """The address in-flight measurements are counted by: an IPv4 address (an IPv4-mapped
    peer of a dual-stack socket included), the /64 of an IPv6 address (one host owns one)."""

    try:
        addr = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return peer
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, 64), strict=False))
    return str(addr)


class _PeerHTTPServer(HTTPServer):
    """:class:`HTTPServer` that makes each connection's peer address known to the handler
    (``_PEER``; the handler runs in the connection's task)."""

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        _PEER.set(str(peer[0]) if isinstance(peer, tuple) else "")
        await super()._on_connection(reader, writer)


class ControlServer:
    """The control's HTTP server. ``await start()`` → bound (host, port); ``await close()``."""

    def __init__(self, config: ServerConfig, measure_config: MeasureConfig) -> None:
        self.config = config
        self.measure_config = measure_config
        self.inflight = 0
        self.inflight_by_client: dict[str, int] = {}
        self._http = _PeerHTTPServer(
            self.handle,
            server_name=SERVER_HEADER,
            limits=config.limits,
            keep_alive=False,
            headers=(("Cache-Control", "no-store"),),
            access_log=ACCESS_LOG,
            access_level=logging.INFO,
            access_extra=lambda: {"inflight": self.inflight},
        )

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
        return await self._http.start(self.config.host, self.config.port,
                                      ssl_context=self._ssl_context())

    @property
    def scheme(self) -> str:
        return "https" if self.config.tls_cert else "http"

    async def serve_forever(self) -> None:
        await self._http.serve_forever()

    async def close(self) -> None:
        await self._http.close()

    async def handle(self, request: Request) -> Response:
        """Route one request (a :data:`censorscope.serve.server.Handler`)."""

        if request.path not in CONTROL_PATHS:
            raise HTTPError(404, f"no such path {request.path[:100]!r}; POST / or "
                            "/api/v1/control", reason="not_found")
        if request.method == "GET":
            return json_response(200, HELLO)
        if request.method != "POST":
            raise HTTPError(405, f"method {request.method} not allowed; use POST (or GET)",
                            reason="method_not_allowed", headers=ALLOW)
        if not request.has_length:
            raise HTTPError(411, "Content-Length required", reason="length_required")
        client = client_key(_PEER.get())
        mine = self.inflight_by_client.get(client, 0)
        if mine >= self.config.max_inflight_per_client:
            raise HTTPError(503, f"{mine} measurements of yours in flight; retry later",
                            reason="busy")
        if self.inflight >= self.config.max_inflight:
            raise HTTPError(503, "too many measurements in flight; retry later", reason="busy")
        self.inflight += 1
        self.inflight_by_client[client] = mine + 1
        try:
            return json_response(200, await self._measure(request))
        finally:
            self.inflight -= 1
            left = self.inflight_by_client[client] - 1
            if left:
                self.inflight_by_client[client] = left
            else:
                del self.inflight_by_client[client]

    async def _measure(self, request: Request) -> Any:
        try:
            req = parse_request(request.body)
        except RequestError as exc:
            raise HTTPError(exc.status, exc.message, reason="bad_request") from None
        refusal = request_refusal(req, self.measure_config)
        if refusal is not None:
            raise HTTPError(400, refusal, reason="refused")
        try:
            async with asyncio.timeout(self.request_timeout):
                return await measure(req, self.measure_config)
        except RefusedName as exc:
            raise HTTPError(400, exc.message, reason="refused") from None
        except TimeoutError:
            raise HTTPError(
                504, f"measurement took longer than {self.request_timeout:g} s",
                reason="timeout",
            ) from None
