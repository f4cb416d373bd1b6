"""The DNS stage of Web Connectivity (OONI's ``DNSResolvers``): three resolvers at once.

1. the system resolver (getaddrinfo; ONE ``ANY`` query, tags ``classic``, ``depth=N``, ids
   10001…); 2. DNS over UDP to the configured resolver, A and AAAA in parallel under one id
   (20001…), listening ``dns_late_window`` more seconds for duplicate replies in the
   background (the stage ends at the first replies; the measurer collects the duplicates at
   its end); 3. DNS over
   HTTPS to the configured URL, A and AAAA (30001…). Results are merged into addresses with a
   flag per resolver (system=1, udp=2, https=4), in order of discovery, and cached per domain
   for the redirects of the same measurement. An IP-literal host needs no lookup (flags 0).

No whoami lookup is made here: ``x_dns_whoami`` stays empty and ``client_resolver`` comes
from configuration (``dns_consistency`` identifies the resolver with whoami).
"""

from __future__ import annotations

import asyncio
import ipaddress

from censorscope.model.endpoint import is_ip
from censorscope.net.dns import DNSResult
from censorscope.net.errors import NetError
from censorscope.net.tls import TLSConfig
from censorscope.trace.trace import Trace

from .context import MeasurementContext
from .ids import dns_tags
from .priority import FLAG_HTTPS, FLAG_SYSTEM, FLAG_UDP, AddrEntry

__all__ = ["merge_addresses", "run_dns_stage"]


async def _guarded(coro: object) -> DNSResult | None:
    try:
        return await coro  # type: ignore[no-any-return, misc]
    except NetError:
        return None


async def _system(ctx: MeasurementContext, host: str, depth: int) -> list[str]:
    trace = Trace(ctx.zero_time, ctx.ids.system_resolver(), dns_tags(depth, classic=True))
    try:
        result = await _guarded(trace.resolve_getaddrinfo(host, timeout=ctx.options.timeouts.dns))
    finally:
        ctx.tk.take_system_resolver(trace)
    return result.addresses if result else []


async def _udp(ctx: MeasurementContext, host: str, depth: int) -> list[str]:
    server = ctx.options.resolver
    if not server:
        return []
    trace = Trace(ctx.zero_time, ctx.ids.udp_resolver(), dns_tags(depth, classic=False))
    ctx.do53_traces.append(trace)
    t = ctx.options.timeouts
    try:
        results = await asyncio.gather(
            *(
                _guarded(
                    trace.resolve_udp(
                        host, qtype, server, timeout=t.dns, late_window=t.dns_late_window,
                        late=ctx.late_dns,
                    )
                )
                for qtype in ("A", "AAAA")
            )
        )
    finally:
        ctx.tk.take_do53(trace)
    return [a for r in results if r for a in r.addresses]


async def _doh(ctx: MeasurementContext, host: str, depth: int) -> list[str]:
    url = ctx.options.doh_url
    if not url or not ctx.use_doh:
        return []
    from urllib.parse import urlsplit

    trace = Trace(ctx.zero_time, ctx.ids.doh_resolver(), dns_tags(depth, classic=False))
    tls = TLSConfig(
        server_name=urlsplit(url).hostname,
        alpn=["http/1.1"],
        ca_file=ctx.options.control_ca_file or ctx.options.ca_file,
    )
    try:
        results = await asyncio.gather(
            *(
                _guarded(
                    trace.resolve_doh(
                        host, qtype, url, timeout=ctx.options.timeouts.dns,
                        connect_ip=ctx.options.doh_connect_ip, tls=tls,
                    )
                )
                for qtype in ("A", "AAAA")
            )
        )
    finally:
        ctx.tk.take_doh(trace)
    return [a for r in results if r for a in r.addresses]


def merge_addresses(system: list[str], udp: list[str], doh: list[str]) -> list[AddrEntry]:
    """Union of the three answers with a resolver bitmask per address, discovery order."""

    flags: dict[str, int] = {}
    for addrs, flag in ((system, FLAG_SYSTEM), (udp, FLAG_UDP), (doh, FLAG_HTTPS)):
        for addr in addrs:
            flags[addr] = flags.get(addr, 0) | flag
    return [AddrEntry(addr, f) for addr, f in flags.items()]


async def run_dns_stage(ctx: MeasurementContext, host: str, depth: int) -> list[AddrEntry]:
    """Resolve ``host`` with every resolver (or the cache); record every query."""

    if is_ip(host):
        return [AddrEntry(str(ipaddress.ip_address(host)), 0)]
    key = host.lower()
    cached = ctx.dns_cache.get(key)
    if cached is not None:
        return list(cached)
    system, udp, doh = await asyncio.gather(
        _system(ctx, host, depth), _udp(ctx, host, depth), _doh(ctx, host, depth)
    )
    merged = merge_addresses(system, udp, doh)
    ctx.dns_cache[key] = merged
    return list(merged)
