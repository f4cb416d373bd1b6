"""The lookups of the measured name: system (getaddrinfo), DNS over UDP, DNS over HTTPS.

Each resolver gets one trace (one ``transaction_id``). UDP and DoH ask for A and AAAA in
parallel; UDP keeps listening ``dns_late_window`` seconds after each first reply (in the
run's :class:`~censorscope.net.dns.LateListeners`), so a forged reply racing the real one
leaves both on record. A lookup's outcome is a :class:`Lookup`: its addresses (first replies)
or the failure that explains their absence. The distinct replies (late ones included) are
counted once the listeners have ended (:func:`distinct_replies`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from censorscope.net.dns import DNSResult, LateListeners
from censorscope.net.errors import NetError
from censorscope.net.tls import TLSConfig
from censorscope.trace.trace import Trace

from .options import DNSConsistencyOptions
from .records import Records

__all__ = ["Lookup", "distinct_replies", "resolve_doh", "resolve_system", "resolve_udp",
           "system_nameserver"]

RESOLV_CONF = "/etc/resolv.conf"


@dataclass
class Lookup:
    """One resolver's lookup of the name (``engine``: getaddrinfo, udp or doh)."""

    name: str
    engine: str
    address: str
    transaction_id: int
    addresses: list[str] = field(default_factory=list)
    failure: str | None = None
    note: str | None = None


async def _outcome(lookup: Lookup, runs: Iterable[Awaitable[DNSResult]]) -> Lookup:
    """Run the queries of ``lookup``; addresses from their answers, else the first failure
    (A before AAAA)."""
    failures: list[str] = []
    for outcome in await asyncio.gather(*runs, return_exceptions=True):
        if isinstance(outcome, DNSResult):
            for ip in outcome.addresses:
                if ip not in lookup.addresses:
                    lookup.addresses.append(ip)
        elif isinstance(outcome, NetError):
            failures.append(outcome.failure)
        elif isinstance(outcome, BaseException):
            raise outcome
    if not lookup.addresses and failures:
        lookup.failure = failures[0]
    return lookup


async def resolve_system(domain: str, opts: DNSConsistencyOptions, trace: Trace,
                         records: Records) -> Lookup:
    """getaddrinfo: the resolver the operating system is configured with."""
    lookup = Lookup("system", "getaddrinfo", "", trace.transaction_id)
    try:
        return await _outcome(lookup, [trace.resolve_getaddrinfo(domain,
                                                                 timeout=opts.timeouts.dns)])
    finally:
        records.take_lookup(trace)


async def resolve_udp(name: str, domain: str, server: str, opts: DNSConsistencyOptions,
                      trace: Trace, late: LateListeners) -> Lookup:
    """A and AAAA over UDP to ``server``; the records are taken after the late window
    (:meth:`Records.take_lookup` once ``late`` has ended)."""
    t = opts.timeouts
    lookup = Lookup(name, "udp", server, trace.transaction_id)
    return await _outcome(lookup, [
        trace.resolve_udp(domain, qtype, server, timeout=t.dns, late_window=t.dns_late_window,
                          late=late)
        for qtype in ("A", "AAAA")])


async def resolve_doh(domain: str, url: str, opts: DNSConsistencyOptions, trace: Trace,
                      records: Records) -> Lookup:
    """A and AAAA over HTTPS to ``url`` (the server's name resolved by the system); an
    unreachable server is noted, not an error of the measurement."""
    tls = TLSConfig(server_name=urlsplit(url).hostname, alpn=["http/1.1"],
                    ca_file=opts.control_ca_file or opts.ca_file)
    lookup = Lookup("doh", "doh", url, trace.transaction_id)
    try:
        await _outcome(lookup, [
            trace.resolve_doh(domain, qtype, url, timeout=opts.timeouts.dns, tls=tls)
            for qtype in ("A", "AAAA")])
    finally:
        records.take_doh(trace)
    reached = any(r.get("failure") is None for r in records.x_doh["tls_handshakes"]
                  if r.get("transaction_id") == trace.transaction_id)
    if not lookup.addresses and not reached:
        lookup.note = f"DoH server unreachable ({lookup.failure}): skipped"
    return lookup


def system_nameserver(path: str = RESOLV_CONF) -> str | None:
    """The first ``nameserver`` of the system's resolver configuration as ``ip:53``
    (``[ip]:53`` for IPv6), or None when there is none to read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            ip = parts[1].split("%", 1)[0]
            return f"[{ip}]:53" if ":" in ip else f"{ip}:53"
    return None


def _reply_key(query: dict[str, Any]) -> tuple[Any, ...]:
    answers = sorted(str(a.get("ipv4") or a.get("ipv6") or a.get("hostname") or "")
                     for a in query.get("answers") or [])
    return query.get("failure"), query.get("rcode"), tuple(answers)


def distinct_replies(queries: Iterable[dict[str, Any]], transaction_id: int) -> int:
    """The most different replies (failure, rcode, answers) one query of the transaction
    got, late replies included (1 for an ordinary lookup, 2+ for injection)."""
    by_type: dict[Any, set[tuple[Any, ...]]] = {}
    for query in queries:
        if query.get("transaction_id") != transaction_id:
            continue
        if query.get("rcode") is None and query.get("answers") is None:
            continue  # no reply at all (timeout, unreachable)
        by_type.setdefault(query.get("query_type"), set()).add(_reply_key(query))
    return max((len(keys) for keys in by_type.values()), default=0)
