"""One endpoint of a service, measured step by step through ``trace``.

DNS with the system resolver (one ``getaddrinfo`` query; IP-literal hosts need none), then for
up to ``max_addresses`` addresses (IPv4 first; loopback never dialled unless allowed) until
one works: TCP connect, TLS handshake with the host as SNI and certificate validation
(``https``/``tls``), HTTP GET of the path (``https``/``http``). Every record carries the
endpoint's own ``transaction_id``, so the observation rows of one endpoint share it.

The endpoint's result is the attempt that got furthest (DNS < TCP < TLS < HTTP; the first of
equals): no failure, or the step it failed at and OONI's failure string. An HTTP response of
any status is success (a 404 comes from the real server). RTTs are the connect's and the
handshake's durations and the time from the request to the first response byte (TTFB).
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from typing import Any, Final

from censorscope.model.endpoint import is_ip
from censorscope.model.ipinfo import is_loopback
from censorscope.net.conn import TCPConn
from censorscope.net.errors import NetError
from censorscope.net.http import HTTPRequestSpec, HTTPResponseData
from censorscope.net.tls import TLSConfig, TLSConn
from censorscope.trace.encode import rel_time
from censorscope.trace.trace import Trace

from .endpoints import Endpoint
from .options import ServiceOptions

__all__ = ["STEPS", "EndpointResult", "measure_endpoint"]

STEPS: Final = ("dns", "tcp", "tls", "http")
_ACCEPT: Final = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@dataclass
class EndpointResult:
    """What one endpoint gave: addresses, the address of the deciding attempt, the failing
    step and failure (both None: reachable), the HTTP status, and RTTs in seconds."""

    endpoint: Endpoint
    transaction_id: int
    addresses: list[str]
    ip: str | None = None
    failed_step: str | None = None
    failure: str | None = None
    http_status: int | None = None
    connect_rtt: float | None = None
    tls_rtt: float | None = None
    ttfb: float | None = None

    @property
    def ok(self) -> bool:
        return self.failed_step is None

    def to_json(self) -> dict[str, Any]:
        ep = self.endpoint
        return {
            "host": ep.host, "port": ep.port, "protocol": ep.protocol, "url": ep.url,
            "transaction_id": self.transaction_id, "addresses": self.addresses, "ip": self.ip,
            "status": "ok" if self.ok else "failed", "failed_step": self.failed_step,
            "failure": self.failure, "http_status": self.http_status,
            "connect_rtt": _round(self.connect_rtt), "tls_rtt": _round(self.tls_rtt),
            "ttfb": _round(self.ttfb),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _depth(result: EndpointResult) -> int:
    return len(STEPS) if result.ok else STEPS.index(result.failed_step or "dns")


def _order(addresses: list[str], allow_loopback: bool) -> list[str]:
    usable = [a for a in addresses if allow_loopback or not is_loopback(a)]
    return sorted(dict.fromkeys(usable), key=lambda a: ipaddress.ip_address(a).version)


async def measure_endpoint(ep: Endpoint, tid: int, zero: float, opts: ServiceOptions
                           ) -> tuple[EndpointResult, Trace]:
    """Measure ``ep``; its records are in the returned trace (transaction id ``tid``)."""
    trace = Trace(zero, tid, [f"service={ep.service}", f"endpoint={ep.label}"])
    if is_ip(ep.host):
        addresses = [str(ipaddress.ip_address(ep.host))]
    else:
        try:
            found = await trace.resolve_getaddrinfo(ep.host, timeout=opts.timeouts.dns)
        except NetError as err:
            return EndpointResult(ep, tid, [], failed_step="dns", failure=err.failure), trace
        addresses = list(found.addresses)
    usable = _order(addresses, opts.allow_loopback)
    if not usable:
        failure = "dns_bogon_error" if addresses else "dns_no_answer"
        return EndpointResult(ep, tid, addresses, failed_step="dns", failure=failure), trace
    best: EndpointResult | None = None
    for ip in usable[: opts.max_addresses]:
        result = await _attempt(trace, ep, ip, addresses, opts)
        if best is None or _depth(result) > _depth(best):
            best = result
        if result.ok:
            break
    assert best is not None
    return best, trace


async def _attempt(trace: Trace, ep: Endpoint, ip: str, addresses: list[str],
                   opts: ServiceOptions) -> EndpointResult:
    t = opts.timeouts
    out = EndpointResult(ep, trace.transaction_id, addresses, ip=ip)
    tcp: TCPConn | None = None
    conn: TCPConn | TLSConn | None = None
    step = "tcp"
    try:
        t0 = time.monotonic()
        tcp = await trace.connect_tcp(ip, ep.port, timeout=t.tcp)
        out.connect_rtt = time.monotonic() - t0
        conn = tcp
        if ep.protocol in ("https", "tls"):
            step = "tls"
            alpn = ["http/1.1"] if ep.protocol == "https" else ["h2", "http/1.1"]
            config = TLSConfig(server_name=ep.host, alpn=alpn, ca_file=opts.ca_file)
            t0 = time.monotonic()
            conn = await trace.tls_handshake(tcp, config, timeout=t.tls)
            out.tls_rtt = time.monotonic() - t0
        url = ep.url
        if url is not None:
            step = "http"
            out.http_status, out.ttfb = await _get(trace, conn, url, opts)
    except NetError as err:
        response = err.response if step == "http" else None
        if isinstance(response, HTTPResponseData) and response.status > 0:
            out.http_status = response.status  # the server answered: reachable
        else:
            out.failed_step, out.failure = step, err.failure
    finally:
        if conn is not None:
            conn.close()
        elif tcp is not None:
            tcp.close()
    return out


async def _get(trace: Trace, conn: TCPConn | TLSConn, url: str, opts: ServiceOptions
               ) -> tuple[int, float | None]:
    """The GET's status and TTFB (request start → first byte read, from the trace)."""
    headers = [("Accept", _ACCEPT), ("User-Agent", opts.user_agent)]
    t0 = time.monotonic()
    response = await trace.http_round_trip(conn, HTTPRequestSpec("GET", url, headers),
                                           timeout=opts.timeouts.http, max_body=opts.max_body)
    start = rel_time(t0, trace.zero_time)
    first = [e["t"] for e in trace.network_events
             if e.get("operation") == "read" and e.get("num_bytes") and e["t"] >= start]
    return response.status, (min(first) - start) if first else None
