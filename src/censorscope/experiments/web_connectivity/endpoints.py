"""Endpoint flows of Web Connectivity (OONI's ``cleartextflow.go``, ``secureflow.go``).

For every address: ``http://`` URLs get a cleartext flow to ``addr:80`` (or the URL's port)
that may fetch, plus a TLS-only flow to ``addr:443`` when the URL has no explicit port
(TLS-based IP validation); ``https://`` URLs get a TLS flow to ``addr:443`` (or the URL's
port) that may fetch. A flow that may fetch asks the depth's priority selector after its
handshake; only the granted one sends the GET. Redirects (301/302/307/308) of a fetching flow
start the next depth. Loopback addresses are never dialled. Every flow runs a throttling
sampler (``bytes_received_cumulative`` events) from its start to its end.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from censorscope.model import failures as F
from censorscope.model.ipinfo import is_loopback
from censorscope.net.conn import TCPConn
from censorscope.net.errors import NetError
from censorscope.net.http import HTTPRequestSpec
from censorscope.net.tls import TLSConfig, TLSConn
from censorscope.trace.throttling import ThrottlingSampler
from censorscope.trace.trace import Trace

from .context import MeasurementContext
from .ids import endpoint_tags
from .options import ACCEPT, ACCEPT_LANGUAGE
from .priority import FLAG_SYSTEM, AddrEntry, PrioritySelector
from .redirects import redirect_target

__all__ = ["EndpointPlan", "plan_endpoints", "start_flows"]


@dataclass(frozen=True)
class EndpointPlan:
    """One flow to run: where, whether TLS, whether it may fetch and follow redirects."""

    ip: str
    port: int
    secure: bool
    fetch: bool
    follow_redirects: bool
    classic: bool


def plan_endpoints(url: str, addrs: list[AddrEntry], *, allow_loopback: bool = False
                   ) -> list[EndpointPlan]:
    """The flows OONI starts for ``url`` over ``addrs`` (cleartext flows first)."""

    parts = urlsplit(url)
    explicit = parts.port
    plans: list[EndpointPlan] = []
    usable = [a for a in addrs if allow_loopback or not is_loopback(a.addr)]
    if parts.scheme == "http":
        for a in usable:
            plans.append(EndpointPlan(a.addr, explicit or 80, False, True, True,
                                      bool(a.flags & FLAG_SYSTEM)))
        if explicit is None:
            for a in usable:
                plans.append(EndpointPlan(a.addr, 443, True, False, False,
                                          bool(a.flags & FLAG_SYSTEM)))
    elif parts.scheme == "https":
        for a in usable:
            plans.append(EndpointPlan(a.addr, explicit or 443, True, True, True,
                                      bool(a.flags & FLAG_SYSTEM)))
    return plans


def start_flows(
    ctx: MeasurementContext,
    url: str,
    depth: int,
    referer: str,
    addrs: list[AddrEntry],
    selector: PrioritySelector,
) -> None:
    """Start one task per planned flow in the measurement's task group."""

    for plan in plan_endpoints(url, addrs, allow_loopback=ctx.options.allow_loopback):
        ctx.tasks.create_task(_run_flow(ctx, url, depth, referer, plan, selector))


def _request_headers(ctx: MeasurementContext, url: str, referer: str) -> list[tuple[str, str]]:
    headers = [
        ("Accept", ACCEPT),
        ("Accept-Language", ACCEPT_LANGUAGE),
        ("Referer", referer),
        ("User-Agent", ctx.options.user_agent),
    ]
    cookie = ctx.cookies.header_for(url)
    if cookie:
        headers.append(("Cookie", cookie))
    return headers


def _set_request_failure(ctx: MeasurementContext, trace: Trace, failure: str) -> None:
    """Give the transaction just recorded a redirect failure (OONI fails the round trip)."""

    for record in ctx.tk.requests:
        if record.get("transaction_id") == trace.transaction_id:
            record["failure"] = failure
            return


async def _run_flow(
    ctx: MeasurementContext,
    url: str,
    depth: int,
    referer: str,
    plan: EndpointPlan,
    selector: PrioritySelector,
) -> None:
    opts = ctx.options
    t = opts.timeouts
    tid = ctx.ids.secure() if plan.secure else ctx.ids.cleartext()
    tags = endpoint_tags(depth, classic=plan.classic, fetch_body=plan.fetch)
    trace = Trace(ctx.zero_time, tid, tags)
    sampler = ThrottlingSampler(trace, opts.sampler) if opts.sampler is not None else None
    if sampler is not None:
        sampler.start()
    tcp: TCPConn | None = None
    conn: TCPConn | TLSConn | None = None
    try:
        try:
            tcp = await trace.connect_tcp(plan.ip, plan.port, timeout=t.tcp)
            conn = tcp
            if plan.secure:
                alpn = opts.fetch_alpn if plan.fetch else opts.probe_alpn
                config = TLSConfig(
                    server_name=urlsplit(url).hostname, alpn=list(alpn), ca_file=opts.ca_file
                )
                conn = await trace.tls_handshake(tcp, config, timeout=t.tls)
        except NetError:
            return
        if not plan.fetch:
            return
        if not await selector.permission_to_fetch(plan.ip, plan.port):
            return
        request = HTTPRequestSpec("GET", url, _request_headers(ctx, url, referer))
        try:
            response = await trace.http_round_trip(
                conn, request, timeout=t.http, max_body=opts.max_body
            )
        except NetError:
            return
        finally:
            ctx.tk.take_endpoint(trace)
        ctx.cookies.store(url, response.headers)
        if not plan.follow_redirects:
            return
        target, failure = redirect_target(url, response.status, response.header("location"))
        if failure is not None:
            _set_request_failure(ctx, trace, failure)
        elif target is not None:
            if ctx.redirects.take():
                ctx.start_depth(target, depth + 1, url)
            else:
                _set_request_failure(ctx, trace, F.TOO_MANY_REDIRECTS)
    finally:
        if conn is not None:
            conn.close()
        elif tcp is not None:
            tcp.close()
        try:
            if sampler is not None:
                await sampler.stop()
        finally:
            ctx.tk.take_endpoint(trace)
