"""DNS lookups: the system resolver (getaddrinfo), DNS over UDP, and DNS over HTTPS.

DNS over UDP keeps listening for ``late_window`` seconds after the first valid reply and
hands every further reply to ``on_late_reply``: two different replies to one query are
the signature of on-path injection. Given a ``LateListeners`` handle, the lookup returns on
the first reply and that listening goes on in a background task the caller awaits later (as
OONI's late-reply goroutine); without one, the lookup itself waits out the window.

DNS over HTTPS runs over a ``DoHTransport`` (connect, TLS handshake, HTTP round trip, system
lookup of the server's name) so a recording layer can trace the DoH connections themselves.
"""

# The API takes explicit per-operation timeouts (classified as generic_timeout_error).

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from censorscope.model import failures as F
from censorscope.model.endpoint import split_host_port
from censorscope.net.conn import TCPConn, connect_tcp
from censorscope.net.errors import NetError, classify_error
from censorscope.net.http import HTTPRequestSpec, HTTPResponseData, http_round_trip
from censorscope.net.tls import TLSConfig, TLSConn, tls_handshake

__all__ = [
    "DNSAnswerData",
    "DNSResult",
    "DoHTransport",
    "LateListeners",
    "parse_reply",
    "resolve_doh",
    "resolve_getaddrinfo",
    "resolve_udp",
    "result_failure",
]

_RECORD_TYPES = ("A", "AAAA", "CNAME")


@dataclass
class DNSAnswerData:
    """One answer: ``type`` is ``A``, ``AAAA`` or ``CNAME``; ``ttl`` is ``None`` for getaddrinfo."""

    type: str
    value: str
    ttl: int | None


@dataclass
class DNSResult:
    """The outcome of one lookup; ``rcode``/``raw_response`` are ``None`` for getaddrinfo."""

    answers: list[DNSAnswerData]
    rcode: int | None
    raw_response: bytes | None

    @property
    def addresses(self) -> list[str]:
        """The A and AAAA values, in answer order."""

        return [a.value for a in self.answers if a.type in ("A", "AAAA")]


class LateListeners:
    """Background tasks of ``resolve_udp`` lookups still listening for late replies.

    Each task keeps one lookup's socket open until its ``late_window`` ends, passing further
    replies to the lookup's ``on_late_reply``. ``wait()`` returns when every task has ended
    (read the late replies after it); ``aclose()`` stops those still running. Tasks never
    raise.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(
        self, coro: Coroutine[Any, Any, None], cleanup: Callable[[], None] | None = None
    ) -> asyncio.Task[None]:
        """Run ``coro`` in the background until ``wait`` or ``aclose``; ``cleanup`` runs
        when it ends, even if cancelled before it started."""

        task = asyncio.get_running_loop().create_task(coro)
        if cleanup is not None:
            task.add_done_callback(lambda _task: cleanup())
        self._tasks.add(task)
        return task

    @property
    def pending(self) -> int:
        """How many listeners are still running."""

        return sum(not task.done() for task in self._tasks)

    async def wait(self) -> None:
        """Await every listener (including any spawned meanwhile)."""

        while self._tasks:
            tasks = list(self._tasks)
            self._tasks.clear()
            await asyncio.wait(tasks)

    async def aclose(self) -> None:
        """Cancel the listeners still running and await their end."""

        tasks = list(self._tasks)
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)


class DoHTransport(Protocol):
    """What DNS over HTTPS needs from the network (``censorscope.trace.Trace`` fits)."""

    async def resolve_getaddrinfo(self, host: str, *, timeout: float) -> DNSResult: ...

    async def connect_tcp(self, ip: str, port: int, *, timeout: float) -> TCPConn: ...

    async def tls_handshake(
        self, conn: TCPConn, config: TLSConfig, *, timeout: float
    ) -> TLSConn: ...

    async def http_round_trip(
        self, conn: TCPConn | TLSConn, request: HTTPRequestSpec, *, timeout: float
    ) -> HTTPResponseData: ...


class _DirectTransport:
    """The untraced ``DoHTransport``: the ``net`` functions themselves."""

    async def resolve_getaddrinfo(self, host: str, *, timeout: float) -> DNSResult:
        return await resolve_getaddrinfo(host, timeout=timeout)

    async def connect_tcp(self, ip: str, port: int, *, timeout: float) -> TCPConn:
        return await connect_tcp(ip, port, timeout=timeout)

    async def tls_handshake(self, conn: TCPConn, config: TLSConfig, *, timeout: float) -> TLSConn:
        return await tls_handshake(conn, config, timeout=timeout)

    async def http_round_trip(
        self, conn: TCPConn | TLSConn, request: HTTPRequestSpec, *, timeout: float
    ) -> HTTPResponseData:
        return await http_round_trip(conn, request, timeout=timeout)


def _same_name(a: str, b: str) -> bool:
    return a.rstrip(".").lower() == b.rstrip(".").lower()


async def resolve_getaddrinfo(host: str, *, timeout: float) -> DNSResult:
    """Resolve ``host`` with the system resolver (``NetError`` op ``resolve``)."""

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(
                host, None, type=socket.SOCK_STREAM, flags=socket.AI_CANONNAME
            )
    except Exception as exc:
        if isinstance(exc, socket.gaierror) and exc.errno == socket.EAI_NONAME:
            exc = await _refine_noname(loop, host, exc, deadline)
        err = classify_error(exc, F.RESOLVE)
        if isinstance(exc, socket.gaierror):
            err.getaddrinfo_error = exc.errno
        raise err from exc
    answers: list[DNSAnswerData] = []
    seen: set[str] = set()
    canonical = ""
    for family, _type, _proto, canonname, sockaddr in infos:
        if canonname and not canonical:
            canonical = canonname
        ip = str(sockaddr[0])
        if ip in seen:
            continue
        seen.add(ip)
        answers.append(DNSAnswerData("AAAA" if family == socket.AF_INET6 else "A", ip, None))
    if not answers:
        raise NetError(F.DNS_NO_ANSWER, F.RESOLVE)
    if canonical and not _same_name(canonical, host):
        answers.append(DNSAnswerData("CNAME", canonical.rstrip("."), None))
    return DNSResult(answers, None, None)


async def _refine_noname(
    loop: asyncio.AbstractEventLoop, host: str, exc: socket.gaierror, deadline: float
) -> socket.gaierror:
    """Tell "no such name" from "name without addresses" after an ``EAI_NONAME``.

    For an unspecified address family glibc reports both as ``EAI_NONAME``; asked for IPv4
    alone it answers ``EAI_NODATA`` when the name exists without A records (e.g. a CNAME to
    nothing), so a second system lookup recovers OONI's ``dns_no_answer``. Any other outcome
    keeps the original error.
    """
    remaining = deadline - loop.time()
    if remaining <= 0:
        return exc
    try:
        async with asyncio.timeout(remaining):
            await loop.getaddrinfo(host, None, family=socket.AF_INET, type=socket.SOCK_STREAM)
    except socket.gaierror as second:
        if second.errno == getattr(socket, "EAI_NODATA", None):
            return second
    except Exception:  # the refinement is best effort
        return exc
    return exc


def _build_query(host: str, qtype: str, query_id: int) -> dns.message.Message:
    query = dns.message.make_query(host, qtype)
    query.id = query_id
    return query


def parse_reply(raw: bytes, qtype: str) -> DNSResult:
    """Parse a DNS reply into a ``DNSResult`` keeping the A/AAAA/CNAME answers."""

    message = dns.message.from_wire(raw)
    answers: list[DNSAnswerData] = []
    for rrset in message.answer:
        type_name = dns.rdatatype.to_text(rrset.rdtype)
        if type_name not in _RECORD_TYPES:
            continue
        for rdata in rrset:
            value = rdata.to_text()
            if type_name == "CNAME":
                value = value.rstrip(".")
            answers.append(DNSAnswerData(type_name, value, int(rrset.ttl)))
    return DNSResult(answers, int(message.rcode()), raw)


def result_failure(result: DNSResult, qtype: str) -> str | None:
    """The failure string a reply's rcode or missing ``qtype`` answer means (``None``: ok)."""

    failure: str | None = None
    if result.rcode == dns.rcode.NXDOMAIN:
        failure = F.DNS_NXDOMAIN_ERROR
    elif result.rcode == dns.rcode.REFUSED:
        failure = F.DNS_REFUSED_ERROR
    elif result.rcode == dns.rcode.SERVFAIL:
        failure = F.DNS_SERVFAIL_ERROR
    elif result.rcode != dns.rcode.NOERROR:
        failure = F.DNS_SERVER_MISBEHAVING
    elif not any(a.type == qtype.upper() for a in result.answers):
        failure = F.DNS_NO_ANSWER
    return failure


def _check_result(result: DNSResult, qtype: str) -> None:
    """Raise the failure an rcode or a missing answer means (op ``resolve``)."""

    failure = result_failure(result, qtype)
    if failure is not None:
        err = NetError(failure, F.RESOLVE)
        err.dns_result = result
        raise err


def _is_reply_to(raw: bytes, query: dns.message.Message) -> bool:
    try:
        reply = dns.message.from_wire(raw)
    except dns.exception.DNSException:
        return False
    return reply.id == query.id and query.is_response(reply)


class _UDPProtocol(asyncio.DatagramProtocol):
    def __init__(self, query: dns.message.Message, on_late: Callable[[bytes], None] | None):
        self._query = query
        self._on_late = on_late
        self.first: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.error: Exception | None = None

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if not self.first.done():
            if _is_reply_to(data, self._query):
                self.first.set_result(data)
        elif self._on_late is not None and _is_reply_to(data, self._query):
            self._on_late(data)

    def error_received(self, exc: Exception) -> None:
        if not self.first.done():
            self.first.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.first.done():
            self.first.set_exception(exc or EOFError("socket closed"))


async def resolve_udp(
    host: str,
    qtype: str,
    server: str,
    *,
    timeout: float,
    late_window: float = 0.0,
    on_late_reply: Callable[[bytes], None] | None = None,
    late: LateListeners | None = None,
) -> DNSResult:
    """Ask ``server`` (``ip:port``) for ``qtype`` records of ``host`` over UDP.

    Replies with the wrong id are ignored. After the first valid reply, listen
    ``late_window`` more seconds and pass each further reply's bytes to ``on_late_reply``:
    in a task left in ``late`` (the lookup returns at once), or, without ``late``, before
    returning. Failures are ``NetError`` with op ``resolve`` (``err.dns_result`` set for
    rcode errors).
    """

    try:
        ip, port = split_host_port(server)
        family = socket.AF_INET6 if ipaddress.ip_address(ip).version == 6 else socket.AF_INET
        query = _build_query(host, qtype, secrets.randbelow(65536))
    except (ValueError, dns.exception.DNSException) as exc:
        raise classify_error(exc, F.RESOLVE) from exc
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _UDPProtocol(query, on_late_reply), remote_addr=(ip, port), family=family
        )
    except Exception as exc:
        raise classify_error(exc, F.RESOLVE) from exc
    lingering = False
    try:
        try:
            transport.sendto(query.to_wire())
            async with asyncio.timeout(timeout):
                raw = await protocol.first
        except Exception as exc:
            raise classify_error(exc, F.RESOLVE) from exc
        if late_window > 0 and late is not None:
            late.spawn(_linger(late_window), transport.close)
            lingering = True
        elif late_window > 0:
            await asyncio.sleep(late_window)
    finally:
        if not lingering:
            transport.close()
    result = parse_reply(raw, qtype)
    _check_result(result, qtype)
    return result


async def _linger(window: float) -> None:
    """Keep a lookup's socket open ``window`` seconds (the spawn's cleanup closes it)."""

    try:
        await asyncio.sleep(window)
    except asyncio.CancelledError:
        pass


async def resolve_doh(
    host: str,
    qtype: str,
    url: str,
    *,
    timeout: float,
    connect_ip: str | None = None,
    tls: TLSConfig | None = None,
    transport: DoHTransport | None = None,
) -> DNSResult:
    """RFC 8484 POST of ``qtype`` for ``host`` to ``url`` (op ``resolve`` on failure).

    ``connect_ip`` skips resolving the DoH server's name; otherwise the system resolver is
    used and each address tried in order. ``timeout`` bounds the whole lookup. Every network
    step goes through ``transport`` (default: the plain ``net`` functions).
    """

    deadline = time.monotonic() + timeout

    def remaining() -> float:
        return max(deadline - time.monotonic(), 0.0)

    parts = urlsplit(url)
    server_name = parts.hostname or ""
    port = parts.port or 443
    config = tls or TLSConfig(server_name=server_name, alpn=["http/1.1"])
    via: DoHTransport = transport if transport is not None else _DirectTransport()
    try:
        query = _build_query(host, qtype, 0)
        if connect_ip is not None:
            ips = [connect_ip]
        else:
            ips = (await via.resolve_getaddrinfo(server_name, timeout=remaining())).addresses
        last: Exception | None = None
        for ip in ips:
            try:
                conn = await via.connect_tcp(ip, port, timeout=remaining())
            except NetError as exc:
                last = exc
                continue
            break
        else:
            raise last or NetError(F.DNS_NO_ANSWER, F.RESOLVE)
        try:
            tls_conn = await via.tls_handshake(conn, config, timeout=remaining())
            try:
                request = HTTPRequestSpec(
                    "POST",
                    url,
                    [
                        ("Content-Type", "application/dns-message"),
                        ("Accept", "application/dns-message"),
                    ],
                    query.to_wire(),
                )
                response = await via.http_round_trip(tls_conn, request, timeout=remaining())
            finally:
                tls_conn.close()
        finally:
            conn.close()
        content_type = (response.header("content-type") or "").split(";")[0].strip().lower()
        if response.status != 200 or content_type != "application/dns-message":
            raise NetError(F.DNS_SERVER_MISBEHAVING, F.RESOLVE)
        if not _is_reply_to(response.body, query):
            raise NetError(F.DNS_SERVER_MISBEHAVING, F.RESOLVE)
        result = parse_reply(response.body, qtype)
    except Exception as exc:
        err = classify_error(exc, F.RESOLVE)
        if err.operation != F.RESOLVE:
            wrapped = NetError(err.failure, F.RESOLVE, err.cause or err)
            wrapped.peer_certificates = err.peer_certificates
            err = wrapped
        raise err from exc
    _check_result(result, qtype)
    return result
