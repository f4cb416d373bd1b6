"""One traced download: DNS (system resolver), TCP, TLS, a GET of ``size`` bytes, sampled.

Every operation goes through one :class:`~censorscope.trace.trace.Trace` (one transaction id:
1 for the target, 2 for the control), so the measurement holds OONI's records of it. A
:class:`~censorscope.trace.throttling.ThrottlingSampler` with a fixed interval snapshots the
bytes received from the connect to the end of the response (its last snapshot is taken as
the response ends, so the last sample is the download's end). A deadline that fires after the
body started is not a failed download but a slow one: the bytes and times up to it count.

Recorded as OONI does for large bodies: the response body is cut to :data:`BODY_SNAPSHOT`
bytes (``body_is_truncated``), and each connection keeps its first :data:`MAX_IO_EVENTS`
``read``/``write`` events (OONI's Web Connectivity v0.5 keeps 64; dd-007) besides every
``connect``, annotation and ``bytes_received_cumulative`` sample.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from censorscope.model import failures as F
from censorscope.model.archival import NetworkEvent
from censorscope.model.endpoint import is_ip
from censorscope.model.ipinfo import is_loopback
from censorscope.net.conn import TCPConn
from censorscope.net.errors import NetError
from censorscope.net.http import HTTPRequestSpec, HTTPResponseData
from censorscope.net.tls import TLSConfig, TLSConn
from censorscope.trace.encode import maybe_binary
from censorscope.trace.throttling import SamplerInterval, ThrottlingSampler
from censorscope.trace.trace import Trace

from ..web_connectivity.options import ACCEPT, ACCEPT_LANGUAGE, USER_AGENT
from .options import ThrottlingOptions

__all__ = ["BODY_SNAPSHOT", "MAX_IO_EVENTS", "Download", "download"]

BODY_SNAPSHOT: Final = 1 << 12
MAX_IO_EVENTS: Final = 64


@dataclass
class Download:
    """What one download did; times are seconds since the measurement's zero time;
    ``events`` are its network events as recorded (capped)."""

    url: str
    trace: Trace
    address: str | None = None
    server_name: str | None = None
    failure: str | None = None
    failed_operation: str | None = None
    t_connect: float | None = None
    connect_time: float | None = None
    tls_handshake_time: float | None = None
    t_request: float | None = None
    status_code: int | None = None
    body_bytes: int = 0
    events: list[NetworkEvent] = field(default_factory=list)


def _capped(events: list[NetworkEvent]) -> list[NetworkEvent]:
    kept: list[NetworkEvent] = []
    io = 0
    for ev in events:
        if ev.get("operation") in (F.READ, F.WRITE):
            io += 1
            if io > MAX_IO_EVENTS:
                continue
        kept.append(ev)
    return kept


def _snapshot(trace: Trace) -> None:
    for tx in trace.requests:
        body = tx["response"].get("body")
        if isinstance(body, dict):
            raw = base64.b64decode(str(body.get("data", "")))
        else:
            raw = str(body or "").encode("utf-8")
        if len(raw) > BODY_SNAPSHOT:
            tx["response"]["body"] = maybe_binary(raw[:BODY_SNAPSHOT])
            tx["response"]["body_is_truncated"] = True


async def _resolve(d: Download, host: str, opts: ThrottlingOptions) -> list[str]:
    if is_ip(host):
        return [host]
    try:
        result = await d.trace.resolve_getaddrinfo(host, timeout=opts.timeouts.dns)
    except NetError as err:
        d.failure, d.failed_operation = err.failure, F.RESOLVE
        return []
    ips = [ip for ip in result.addresses if opts.allow_loopback or not is_loopback(ip)]
    if not ips:
        d.failure, d.failed_operation = F.DNS_NO_ANSWER, F.RESOLVE
    return ips


async def _connect(d: Download, ips: list[str], port: int, opts: ThrottlingOptions
                   ) -> TCPConn | None:
    for ip in ips:
        try:
            tcp = await d.trace.connect_tcp(ip, port, timeout=opts.timeouts.tcp)
        except NetError as err:
            d.failure, d.failed_operation = err.failure, F.CONNECT
            continue
        d.failure = d.failed_operation = None
        d.address = tcp.address
        record = d.trace.tcp_connect[-1]
        d.t_connect, d.connect_time = record["t0"], round(record["t"] - record["t0"], 6)
        return tcp
    return None


async def _fetch(d: Download, conn: TCPConn | TLSConn, opts: ThrottlingOptions) -> None:
    headers = [("Accept", ACCEPT), ("Accept-Language", ACCEPT_LANGUAGE),
               ("User-Agent", USER_AGENT)]
    response: HTTPResponseData | None = None
    try:
        response = await d.trace.http_round_trip(
            conn, HTTPRequestSpec("GET", d.url, headers), timeout=opts.timeouts.http,
            max_body=opts.size,
        )
    except NetError as err:
        d.failure, d.failed_operation = err.failure, F.HTTP_ROUND_TRIP
        response = err.response if isinstance(err.response, HTTPResponseData) else None
    finally:
        d.t_request = d.trace.requests[0]["t0"] if d.trace.requests else None
    if response is not None:
        d.status_code = response.status
        d.body_bytes = len(response.body)


async def download(url: str, transaction_id: int, zero_time: float, opts: ThrottlingOptions
                   ) -> Download:
    """Download ``url`` (at most ``opts.size`` body bytes) and record everything."""

    tags = ["target" if transaction_id == 1 else "control"]
    d = Download(url, Trace(zero_time, transaction_id, tags))
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    every = opts.sample_interval
    sampler = ThrottlingSampler(d.trace, SamplerInterval(mean=every, min=every, max=every))
    tcp: TCPConn | None = None
    conn: TCPConn | TLSConn | None = None
    try:
        ips = await _resolve(d, host, opts)
        sampler.start()
        tcp = await _connect(d, ips, port, opts) if ips else None
        conn = tcp
        if tcp is not None and secure:
            d.server_name = host
            config = TLSConfig(server_name=host, alpn=["http/1.1"], ca_file=opts.ca_file)
            try:
                conn = await d.trace.tls_handshake(tcp, config, timeout=opts.timeouts.tls)
            except NetError as err:
                d.failure, d.failed_operation = err.failure, F.TLS_HANDSHAKE
                conn = None
            finally:
                hs = d.trace.tls_handshakes[-1]
                d.tls_handshake_time = round(hs["t"] - hs["t0"], 6)
        if conn is not None:
            await _fetch(d, conn, opts)
    finally:
        await sampler.stop()
        if conn is not None:
            conn.close()
        elif tcp is not None:
            tcp.close()
    _snapshot(d.trace)
    d.events = _capped(d.trace.network_events)
    return d
