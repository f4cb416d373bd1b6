"""A small HTTP(S) client that follows redirects, for the control (test helper) and tools.

It connects only to addresses the caller allows (``refuse_ip``), keeps cookies across the
redirect chain, and reports the failure of the last step as an OONI failure string.
"""

# The API takes explicit per-operation timeouts (classified as generic_timeout_error).

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from censorscope.model import failures as F
from censorscope.model.endpoint import is_ip
from censorscope.net.conn import TCPConn, connect_tcp
from censorscope.net.errors import NetError, classify_error
from censorscope.net.http import HTTPRequestSpec, HTTPResponseData, http_round_trip
from censorscope.net.tls import TLSConfig, TLSConn, tls_handshake

__all__ = ["REDIRECT_STATUSES", "FetchResult", "fetch"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
REFUSED_ADDRESS = F.UNKNOWN_FAILURE_PREFIX + "refused address"


@dataclass
class FetchResult:
    """The final response (or the last one received), the failure if any, and the URLs visited."""

    response: HTTPResponseData | None
    failure: str | None
    operation: str | None
    chain: list[str] = field(default_factory=list)


@dataclass
class _Cookie:
    name: str
    value: str
    domain: str
    host_only: bool
    path: str


class _CookieJar:
    """Just enough of RFC 6265 to carry session cookies across a redirect chain."""

    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str, str], _Cookie] = {}

    def store(self, host: str, headers: list[tuple[str, str]]) -> None:
        for name, value in headers:
            if name.lower() != "set-cookie":
                continue
            pair, *attrs = value.split(";")
            key, sep, val = pair.partition("=")
            if not sep or not key.strip():
                continue
            domain, host_only, path = host, True, "/"
            for attr in attrs:
                a_name, _, a_value = attr.strip().partition("=")
                if a_name.lower() == "domain" and a_value:
                    candidate = a_value.lstrip(".").lower()
                    if host == candidate or host.endswith("." + candidate):
                        domain, host_only = candidate, False
                elif a_name.lower() == "path" and a_value.startswith("/"):
                    path = a_value
            self._cookies[(domain, path, key.strip())] = _Cookie(
                key.strip(), val.strip(), domain, host_only, path
            )

    def header(self, host: str, path: str) -> str | None:
        pairs = [
            f"{c.name}={c.value}"
            for c in self._cookies.values()
            if (host == c.domain or (not c.host_only and host.endswith("." + c.domain)))
            and path.startswith(c.path)
        ]
        return "; ".join(pairs) if pairs else None


async def _connect_any(
    ips: list[str], port: int, timeout: float, refuse_ip: Callable[[str], bool] | None
) -> TCPConn:
    last: NetError | None = None
    for ip in ips:
        if refuse_ip is not None and refuse_ip(ip):
            last = last or NetError(REFUSED_ADDRESS, F.CONNECT)
            continue
        try:
            return await connect_tcp(ip, port, timeout=timeout)
        except NetError as err:
            last = err
    raise last or NetError(F.DNS_NO_ANSWER, F.RESOLVE)


async def _one_request(
    url: str,
    headers: list[tuple[str, str]],
    *,
    resolve: Callable[[str], Awaitable[list[str]]],
    tls_ca_file: str | None,
    timeout: float,
    max_body: int,
    refuse_ip: Callable[[str], bool] | None,
) -> HTTPResponseData:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise NetError(F.UNKNOWN_FAILURE_PREFIX + "unsupported URL", F.TOP_LEVEL)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if is_ip(host):
        ips = [host]
    else:
        try:
            ips = await resolve(host)
        except Exception as exc:
            raise classify_error(exc, F.RESOLVE) from exc
    tcp = await _connect_any(ips, port, timeout, refuse_ip)
    conn: TCPConn | TLSConn = tcp
    try:
        if parts.scheme == "https":
            config = TLSConfig(server_name=host, alpn=["http/1.1"], ca_file=tls_ca_file)
            conn = await tls_handshake(tcp, config, timeout=timeout)
        request = HTTPRequestSpec("GET", url, headers)
        return await http_round_trip(conn, request, timeout=timeout, max_body=max_body)
    finally:
        conn.close()


async def fetch(
    url: str,
    *,
    resolve: Callable[[str], Awaitable[list[str]]],
    tls_ca_file: str | None,
    headers: list[tuple[str, str]],
    timeout: float,
    max_redirects: int = 10,
    max_body: int = 524288,
    refuse_ip: Callable[[str], bool] | None = None,
) -> FetchResult:
    """GET ``url`` following redirects. ``timeout`` bounds each connect, handshake and round
    trip. Never raises a ``NetError``: failures come back in ``FetchResult.failure``."""

    jar = _CookieJar()
    chain: list[str] = []
    response: HTTPResponseData | None = None
    redirects = 0
    while True:
        chain.append(url)
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        request_headers = [(k, v) for k, v in headers if k.lower() != "cookie"]
        cookie = jar.header(host, parts.path or "/")
        if cookie is not None:
            request_headers.append(("Cookie", cookie))
        try:
            response = await _one_request(
                url,
                request_headers,
                resolve=resolve,
                tls_ca_file=tls_ca_file,
                timeout=timeout,
                max_body=max_body,
                refuse_ip=refuse_ip,
            )
        except Exception as exc:
            err = classify_error(exc, F.TOP_LEVEL)
            partial = err.response if isinstance(err.response, HTTPResponseData) else None
            return FetchResult(partial, err.failure, err.operation, chain)
        jar.store(host, response.headers)
        location = response.header("location")
        if response.status not in REDIRECT_STATUSES or location is None:
            return FetchResult(response, None, None, chain)
        target = urlsplit(location.strip())
        if target.scheme in ("http", "https") and not target.hostname:
            return FetchResult(
                response, F.HTTP_INVALID_REDIRECT_LOCATION_HOST, F.HTTP_ROUND_TRIP, chain
            )
        if redirects >= max_redirects:
            return FetchResult(response, F.TOO_MANY_REDIRECTS, F.HTTP_ROUND_TRIP, chain)
        redirects += 1
        url = urljoin(url, location.strip())
