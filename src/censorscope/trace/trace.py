"""``Trace``: wraps the ``net`` operations of one transaction and appends OONI records.

A ``Trace`` does no I/O of its own: it calls ``censorscope.net`` and records what happened as
df-001/002/005/006/008 records (``censorscope.model.archival``), with times relative to the
measurement's zero time, the trace's ``transaction_id`` and ``tags`` on every record. Every
wrapper re-raises the ``NetError`` after recording it.

A trace also counts the bytes received per ``address``/``proto`` on the connections it
observes; ``sample_bytes_received`` turns those counters into OONI's
``bytes_received_cumulative`` events (``censorscope.trace.throttling`` calls it on a timer).
DoH lookups are traced down to their own connection, handshake and HTTP transaction.
"""

# The API takes explicit per-operation timeouts, like censorscope.net.

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from censorscope.model import failures as F
from censorscope.model.archival import (
    DNSQuery,
    HTTPRequest,
    HTTPResponse,
    HTTPTransaction,
    NetworkEvent,
    TCPConnect,
    TLSHandshake,
)
from censorscope.model.endpoint import join_host_port
from censorscope.net import conn as net_conn
from censorscope.net import dns as net_dns
from censorscope.net import http as net_http
from censorscope.net import tls as net_tls
from censorscope.net.conn import TCPConn
from censorscope.net.dns import DNSResult, LateListeners
from censorscope.net.errors import NetError, classify_error
from censorscope.net.http import HTTPRequestSpec, HTTPResponseData
from censorscope.net.tls import TLSConfig, TLSConn
from censorscope.trace.encode import (
    binary,
    dns_answers,
    headers_list,
    headers_map,
    maybe_binary,
    rel_time,
)

__all__ = ["Trace"]


class _ConnRecorder:
    """A ``ConnObserver`` turning reads and writes into network events of one trace."""

    def __init__(self, trace: Trace, address: str) -> None:
        self.trace = trace
        self.address = address

    def on_read(self, num_bytes: int, failure: str | None, t0: float, t: float) -> None:
        self.trace._io_event(F.READ, self.address, num_bytes, failure, t0, t)
        if num_bytes > 0:
            key = (self.address, "tcp")
            received = self.trace.bytes_received
            received[key] = received.get(key, 0) + num_bytes

    def on_write(self, num_bytes: int, failure: str | None, t0: float, t: float) -> None:
        self.trace._io_event(F.WRITE, self.address, num_bytes, failure, t0, t)

    def on_close(self, t: float) -> None:
        """Closes are not network events in OONI's data format."""


class Trace:
    """Records of one transaction (one endpoint, or one DNS lookup) of a measurement."""

    def __init__(self, zero_time: float, transaction_id: int, tags: list[str] | None = None):
        self.zero_time: float = zero_time
        self.transaction_id: int = transaction_id
        self.tags: list[str] = list(tags or [])
        self.network_events: list[NetworkEvent] = []
        self.tcp_connect: list[TCPConnect] = []
        self.tls_handshakes: list[TLSHandshake] = []
        self.requests: list[HTTPTransaction] = []
        self.queries: list[DNSQuery] = []
        self.dns_late_replies: list[DNSQuery] = []
        self.bytes_received: dict[tuple[str, str], int] = {}

    # --- helpers -------------------------------------------------------------------------
    def _t(self, t: float) -> float:
        return rel_time(t, self.zero_time)

    def _annotation(self, operation: str, t: float) -> None:
        self.network_events.append(
            {
                "failure": None,
                "operation": operation,
                "t0": self._t(t),
                "t": self._t(t),
                "tags": list(self.tags),
                "transaction_id": self.transaction_id,
            }
        )

    def _io_event(
        self,
        operation: str,
        address: str,
        num_bytes: int,
        failure: str | None,
        t0: float,
        t: float,
    ) -> None:
        event: NetworkEvent = {
            "address": address,
            "failure": failure,
            "operation": operation,
            "proto": "tcp",
            "t0": self._t(t0),
            "t": self._t(t),
            "tags": list(self.tags),
            "transaction_id": self.transaction_id,
        }
        if num_bytes > 0:
            event["num_bytes"] = num_bytes
        self.network_events.append(event)

    def sample_bytes_received(self, t: float) -> None:
        """One ``bytes_received_cumulative`` event per ``(address, proto)`` read from so far
        (``num_bytes`` = the running total), stamped ``t`` (a ``time.monotonic()`` value)."""

        for (address, proto), total in self.bytes_received.items():
            self.network_events.append(
                {
                    "address": address,
                    "failure": None,
                    "num_bytes": total,
                    "operation": "bytes_received_cumulative",
                    "proto": proto,
                    "t0": self._t(t),
                    "t": self._t(t),
                    "tags": list(self.tags),
                    "transaction_id": self.transaction_id,
                }
            )

    def observe(self, conn: TCPConn) -> None:
        """Record ``conn``'s reads and writes in this trace (done by ``connect_tcp``)."""

        if not any(isinstance(o, _ConnRecorder) and o.trace is self for o in conn.observers):
            conn.observers.append(_ConnRecorder(self, conn.address))

    # --- TCP -----------------------------------------------------------------------------
    async def connect_tcp(self, ip: str, port: int, *, timeout: float) -> TCPConn:
        """``net.connect_tcp`` + a ``tcp_connect`` entry and a ``connect`` event."""

        t0 = time.monotonic()
        failure: str | None = None
        try:
            conn = await net_conn.connect_tcp(ip, port, timeout=timeout)
        except NetError as err:
            failure = err.failure
            raise
        finally:
            t = time.monotonic()
            self.tcp_connect.append(
                {
                    "ip": ip,
                    "port": port,
                    "status": {"failure": failure, "success": failure is None},
                    "t0": self._t(t0),
                    "t": self._t(t),
                    "tags": list(self.tags),
                    "transaction_id": self.transaction_id,
                }
            )
            self._io_event(
                F.CONNECT, join_host_port(ip, port), 0, failure, t0, t
            )
        self.observe(conn)
        return conn

    # --- TLS -----------------------------------------------------------------------------
    async def tls_handshake(
        self, conn: TCPConn, config: TLSConfig, *, timeout: float
    ) -> TLSConn:
        """``net.tls_handshake`` + start/done events and a ``tls_handshakes`` entry."""

        self.observe(conn)
        t0 = time.monotonic()
        self._annotation("tls_handshake_start", t0)
        result: TLSConn | None = None
        error: NetError | None = None
        try:
            result = await net_tls.tls_handshake(conn, config, timeout=timeout)
        except NetError as err:
            error = err
            raise
        finally:
            t = time.monotonic()
            self._annotation("tls_handshake_done", t)
            certs = result.state.peer_certificates if result else (
                error.peer_certificates if error else []
            )
            self.tls_handshakes.append(
                {
                    "network": "tcp",
                    "address": conn.address,
                    "cipher_suite": result.state.cipher_suite if result else "",
                    "failure": error.failure if error else (
                        None if result else F.INTERRUPTED
                    ),
                    "negotiated_protocol": result.state.negotiated_protocol if result else "",
                    "no_tls_verify": not config.verify,
                    "peer_certificates": [binary(c) for c in certs],
                    "server_name": config.server_name or "",
                    "t0": self._t(t0),
                    "t": self._t(t),
                    "tags": list(self.tags),
                    "tls_version": result.state.version if result else "",
                    "transaction_id": self.transaction_id,
                }
            )
        return result

    # --- HTTP ----------------------------------------------------------------------------
    async def http_round_trip(
        self,
        conn: TCPConn | TLSConn,
        request: HTTPRequestSpec,
        *,
        timeout: float,
        max_body: int = 524288,
    ) -> HTTPResponseData:
        """``net.http_round_trip`` + start/done events and a ``requests`` entry (prepended)."""

        t0 = time.monotonic()
        self._annotation("http_transaction_start", t0)
        response: HTTPResponseData | None = None
        failure: str | None = None
        try:
            response = await net_http.http_round_trip(
                conn, request, timeout=timeout, max_body=max_body
            )
        except NetError as err:
            failure = err.failure
            if isinstance(err.response, HTTPResponseData):
                response = err.response
            raise
        finally:
            t = time.monotonic()
            self._annotation("http_transaction_done", t)
            if response is None and failure is None:
                failure = F.INTERRUPTED
            alpn = conn.state.negotiated_protocol if isinstance(conn, TLSConn) else ""
            self.requests.insert(
                0, self._transaction(conn.address, alpn, request, response, failure, t0, t)
            )
        return response

    def unsent_round_trip(
        self, address: str, request: HTTPRequestSpec, failure: str, *, t0: float, t: float
    ) -> None:
        """A ``requests`` entry (prepended) for a request that never reached the wire because
        the lookup, connect or handshake before it failed with ``failure`` (``t0``/``t``:
        ``time.monotonic()`` values), as OONI's urlgetter records its HTTP round trips;
        ``address`` is ``""`` when no address was known."""

        self.requests.insert(0, self._transaction(address, "", request, None, failure, t0, t))

    def _transaction(
        self,
        address: str,
        alpn: str,
        request: HTTPRequestSpec,
        response: HTTPResponseData | None,
        failure: str | None,
        t0: float,
        t: float,
    ) -> HTTPTransaction:
        sent = net_http.effective_headers(request)
        http_request: HTTPRequest = {
            "body": maybe_binary(request.body),
            "body_is_truncated": False,
            "headers": headers_map(sent),
            "headers_list": headers_list(sent),
            "method": request.method,
            "tor": {"exit_ip": None, "exit_name": None, "is_tor": False},
            "x_transport": "tcp",
            "url": request.url,
        }
        http_response: HTTPResponse = {
            "body": "",
            "body_is_truncated": False,
            "code": 0,
            "headers": {},
            "headers_list": [],
        }
        if response is not None:
            http_response = {
                "body": maybe_binary(response.body),
                "body_is_truncated": response.body_truncated,
                "code": response.status,
                "headers": headers_map(response.headers),
                "headers_list": headers_list(response.headers),
            }
        return {
            "network": "tcp",
            "address": address,
            "alpn": alpn,
            "failure": failure,
            "request": http_request,
            "response": http_response,
            "t0": self._t(t0),
            "t": self._t(t),
            "tags": list(self.tags),
            "transaction_id": self.transaction_id,
        }

    # --- DNS -----------------------------------------------------------------------------
    async def _lookup(
        self,
        *,
        engine: str,
        host: str,
        qtype: str,
        resolver_address: str,
        run: Callable[[], Awaitable[DNSResult]],
    ) -> DNSResult:
        t0 = time.monotonic()
        self._annotation("resolve_start", t0)
        result: DNSResult | None = None
        error: NetError | None = None
        try:
            result = await run()
        except Exception as exc:
            error = classify_error(exc, F.RESOLVE)
            if error is exc:
                raise
            raise error from exc
        finally:
            t = time.monotonic()
            self._annotation("resolve_done", t)
            shown = result if result is not None else (
                error.dns_result if error is not None else None
            )
            query = self._query(engine, host, qtype, resolver_address, t0, t)
            if error is not None:
                query["failure"] = error.failure
                if error.getaddrinfo_error:
                    query["getaddrinfo_error"] = error.getaddrinfo_error
            elif result is None:
                query["failure"] = F.INTERRUPTED
            if isinstance(shown, DNSResult):
                if result is not None:
                    query["answers"] = dns_answers(shown.answers)
                if shown.rcode is not None:
                    query["rcode"] = shown.rcode
                if shown.raw_response is not None:
                    query["raw_response"] = binary(shown.raw_response)["data"]
            self.queries.append(query)
        return result

    def _query(
        self,
        engine: str,
        host: str,
        qtype: str,
        resolver_address: str,
        t0: float,
        t: float,
    ) -> DNSQuery:
        return {
            "answers": None,
            "engine": engine,
            "failure": None,
            "hostname": host,
            "query_type": qtype,
            "resolver_hostname": None,
            "resolver_port": None,
            "resolver_address": resolver_address,
            "t0": self._t(t0),
            "t": self._t(t),
            "tags": list(self.tags),
            "transaction_id": self.transaction_id,
        }

    async def resolve_getaddrinfo(self, host: str, *, timeout: float) -> DNSResult:
        """System resolver lookup, recorded as ONE ``ANY`` query of engine ``getaddrinfo``."""

        return await self._lookup(
            engine="getaddrinfo",
            host=host,
            qtype="ANY",
            resolver_address="",
            run=lambda: net_dns.resolve_getaddrinfo(host, timeout=timeout),
        )

    async def resolve_udp(
        self,
        host: str,
        qtype: str,
        server: str,
        *,
        timeout: float,
        late_window: float = 0.0,
        on_late_reply: Callable[[bytes], None] | None = None,
        late: LateListeners | None = None,
    ) -> DNSResult:
        """DNS over UDP (engine ``udp``). Late replies are also recorded, as queries, in
        ``dns_late_replies`` before being passed to ``on_late_reply``. With ``late`` the
        lookup (and its record's ``t``) ends at the first reply and the late window runs in
        the background: read ``dns_late_replies`` after ``late.wait()``."""

        t0 = time.monotonic()

        def record_late(raw: bytes) -> None:
            query = self._query("udp", host, qtype, server, t0, time.monotonic())
            query["raw_response"] = binary(raw)["data"]
            try:
                parsed = net_dns.parse_reply(raw, qtype)
            except Exception as exc:  # a reply that matched the id but no longer parses
                query["failure"] = classify_error(exc, F.RESOLVE).failure
            else:
                query["answers"] = dns_answers(parsed.answers)
                query["rcode"] = parsed.rcode if parsed.rcode is not None else 0
                query["failure"] = net_dns.result_failure(parsed, qtype)
            self.dns_late_replies.append(query)
            if on_late_reply is not None:
                on_late_reply(raw)

        return await self._lookup(
            engine="udp",
            host=host,
            qtype=qtype,
            resolver_address=server,
            run=lambda: net_dns.resolve_udp(
                host, qtype, server, timeout=timeout, late_window=late_window,
                on_late_reply=record_late, late=late,
            ),
        )

    async def resolve_doh(
        self,
        host: str,
        qtype: str,
        url: str,
        *,
        timeout: float,
        connect_ip: str | None = None,
        tls: TLSConfig | None = None,
    ) -> DNSResult:
        """DNS over HTTPS (engine ``doh``, ``resolver_address`` = the URL). The DoH
        transport is traced here too: its ``tcp_connect``, ``tls_handshakes``, ``requests``,
        I/O events and any system lookup of the server's name (as OONI's ``x_doh``)."""

        return await self._lookup(
            engine="doh",
            host=host,
            qtype=qtype,
            resolver_address=url,
            run=lambda: net_dns.resolve_doh(
                host, qtype, url, timeout=timeout, connect_ip=connect_ip, tls=tls,
                transport=self,
            ),
        )
