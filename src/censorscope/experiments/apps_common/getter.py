"""One ``urlgetter`` target measured as OONI does, every network event recorded by ``trace``.

Targets: ``dnslookup://HOST`` (a system lookup), ``tcpconnect://HOST:PORT`` (lookup, then a
connect to each address in turn until one accepts), ``http://…`` / ``https://…`` (lookup,
connect, TLS with the URL's host as SNI, one request; GETs follow redirects like Go's client, at
most 10). Each lookup and each connect attempt is its own transaction (id), so the pipeline
joins every handshake and request with the connect it ran over. As in OONI's urlgetter, an HTTP
request that a failed lookup, connect or handshake kept off the wire is still recorded, with
that failure. The target's ``failure`` is the first failure and ``failed_operation`` the
operation (``resolve``, ``connect``, ``tls_handshake``, ``http_round_trip``, ``top_level`` for
``FailOnHTTPError`` and redirect errors).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from censorscope.experiments.interface import Timeouts
from censorscope.experiments.web_connectivity.options import ACCEPT, ACCEPT_LANGUAGE, USER_AGENT
from censorscope.model import failures as F
from censorscope.model.archival import DNSQuery
from censorscope.model.endpoint import is_ip, join_host_port, split_host_port
from censorscope.net.conn import TCPConn
from censorscope.net.errors import NetError
from censorscope.net.fetch import REDIRECT_STATUSES
from censorscope.net.http import HTTPRequestSpec, HTTPResponseData
from censorscope.net.tls import TLSConfig, TLSConn
from censorscope.trace.trace import Trace

__all__ = ["MAX_REDIRECTS", "Getter", "Output", "Target", "Trust"]

MAX_REDIRECTS = 10
_HTTP_ERROR_FROM = 400


@dataclass(frozen=True)
class Target:
    """One urlgetter input: ``url`` and OONI's ``Method`` and ``FailOnHTTPError``."""

    url: str
    method: str = "GET"
    fail_on_http_error: bool = False

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme


@dataclass(frozen=True)
class Trust:
    """Trust anchors for HTTPS: ``ca_file`` (None: the system's store) plus ``extra``."""

    ca_file: str | None = None
    extra: tuple[str, ...] = ()


@dataclass
class Output:
    """What one target left: its outcome and its transactions' traces, in order."""

    target: Target
    failure: str | None = None
    failed_operation: str | None = None
    status: int | None = None
    traces: list[Trace] = field(default_factory=list)

    @property
    def queries(self) -> Iterator[DNSQuery]:
        for trace in self.traces:
            yield from trace.queries

    def fail(self, failure: str, operation: str) -> None:
        if self.failure is None:
            self.failure, self.failed_operation = failure, operation


class _Unsent(Exception):
    """A failure before the request was written: where (``trace``, ``address``) and what."""

    def __init__(self, error: NetError, trace: Trace | None, address: str) -> None:
        super().__init__(error.failure)
        self.error, self.trace, self.address = error, trace, address


class Getter:
    """Measures targets for one measurement (shared zero time, one transaction counter)."""

    def __init__(self, zero_time: float, timeouts: Timeouts, trust: Trust,
                 max_body: int = 1 << 19) -> None:
        self.zero_time = zero_time
        self.timeouts = timeouts
        self.trust = trust
        self.max_body = max_body
        self._ids = itertools.count(1)

    def _trace(self, out: Output) -> Trace:
        trace = Trace(self.zero_time, next(self._ids))
        out.traces.append(trace)
        return trace

    async def get(self, target: Target) -> Output:
        """Measure ``target``; network failures end up in the output, never raised."""

        out = Output(target)
        scheme = target.scheme
        if scheme == "dnslookup":
            await self._lookup_only(out, urlsplit(target.url).netloc)
        elif scheme == "tcpconnect":
            await self._connect_only(out, urlsplit(target.url).netloc)
        elif scheme in ("http", "https"):
            await self._http(out, target.url)
        else:
            raise ValueError(f"unsupported urlgetter target {target.url!r}")
        return out

    async def _resolve(self, out: Output, host: str) -> list[str]:
        if is_ip(host):
            return [host]
        trace = self._trace(out)
        result = await trace.resolve_getaddrinfo(host, timeout=self.timeouts.dns)
        return result.addresses

    async def _dial(self, out: Output, ips: list[str], port: int) -> tuple[Trace, TCPConn]:
        """Connect to each address in turn (Go's dialer); the last failure if none accepts."""

        last: _Unsent | None = None
        for ip in ips:
            trace = self._trace(out)
            try:
                return trace, await trace.connect_tcp(ip, port, timeout=self.timeouts.tcp)
            except NetError as err:
                last = _Unsent(err, trace, join_host_port(ip, port))
        raise last or _Unsent(NetError(F.DNS_NO_ANSWER, F.RESOLVE), None, "")

    async def _lookup_only(self, out: Output, host: str) -> None:
        try:
            await self._resolve(out, host)
        except NetError as err:
            out.fail(err.failure, err.operation)

    async def _connect_only(self, out: Output, netloc: str) -> None:
        host, port = split_host_port(netloc)
        try:
            _, conn = await self._dial(out, await self._resolve(out, host), port)
        except NetError as err:
            out.fail(err.failure, err.operation)
            return
        except _Unsent as unsent:
            out.fail(unsent.error.failure, unsent.error.operation)
            return
        conn.close()

    @staticmethod
    def _request(url: str, method: str) -> HTTPRequestSpec:
        headers = [("Accept", ACCEPT), ("Accept-Language", ACCEPT_LANGUAGE),
                   ("User-Agent", USER_AGENT)]
        if method != "GET":
            headers.append(("Content-Length", "0"))
        return HTTPRequestSpec(method, url, headers)

    async def _http(self, out: Output, url: str) -> None:
        for hop in itertools.count():
            request = self._request(url, out.target.method)
            t0 = time.monotonic()
            try:
                response = await self._round_trip(out, request)
            except _Unsent as unsent:
                trace = unsent.trace or self._trace(out)
                trace.unsent_round_trip(unsent.address, request, unsent.error.failure,
                                        t0=t0, t=time.monotonic())
                out.fail(unsent.error.failure, unsent.error.operation)
                return
            except NetError as err:
                out.fail(err.failure, err.operation)
                return
            out.status = response.status
            location = response.header("location")
            if (request.method == "GET" and response.status in REDIRECT_STATUSES
                    and location is not None):
                if hop >= MAX_REDIRECTS:
                    out.fail(F.TOO_MANY_REDIRECTS, F.TOP_LEVEL)
                    return
                url = urljoin(url, location.strip())
                if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
                    out.fail(F.HTTP_INVALID_REDIRECT_LOCATION_HOST, F.TOP_LEVEL)
                    return
                continue
            if out.target.fail_on_http_error and response.status >= _HTTP_ERROR_FROM:
                out.fail(F.HTTP_REQUEST_FAILED, F.TOP_LEVEL)
            return

    async def _round_trip(self, out: Output, request: HTTPRequestSpec) -> HTTPResponseData:
        parts = urlsplit(request.url)
        host = parts.hostname or ""
        secure = parts.scheme == "https"
        port = parts.port or (443 if secure else 80)
        try:
            ips = await self._resolve(out, host)
        except NetError as err:
            raise _Unsent(err, out.traces[-1] if out.traces else None, "") from err
        trace, tcp = await self._dial(out, ips, port)
        conn: TCPConn | TLSConn = tcp
        try:
            if secure:
                config = TLSConfig(server_name=host, alpn=["http/1.1"],
                                   ca_file=self.trust.ca_file, extra_ca_files=self.trust.extra)
                try:
                    conn = await trace.tls_handshake(tcp, config, timeout=self.timeouts.tls)
                except NetError as err:
                    raise _Unsent(err, trace, tcp.address) from err
            return await trace.http_round_trip(conn, request, timeout=self.timeouts.http,
                                               max_body=self.max_body)
        finally:
            conn.close()
