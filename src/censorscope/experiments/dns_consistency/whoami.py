"""Which resolver the system really uses (OONI's DNS whoami).

The whoami name's authoritative server answers with the address the query reached it from:
asked through getaddrinfo, that is the recursive resolver the system's queries leave by
(an ISP resolver, a forwarder's upstream, a hijacking middlebox …); asked over UDP to a
public resolver, that resolver's egress. The result is OONI's ``x_dns_whoami``
(``system_v4``: ``[{"address": ip}]``, ``udp_v4``: ``{server: [{"address": ip}]}``) plus
the queries themselves.
"""

from __future__ import annotations

import asyncio
from typing import Any

from censorscope.net.errors import NetError
from censorscope.trace.trace import Trace

from .options import DNSConsistencyOptions
from .records import Records

__all__ = ["whoami"]


async def _ask(trace: Trace, name: str, server: str | None, opts: DNSConsistencyOptions,
               records: Records) -> list[dict[str, Any]]:
    try:
        if server is None:
            result = await trace.resolve_getaddrinfo(name, timeout=opts.timeouts.dns)
        else:
            result = await trace.resolve_udp(name, "A", server, timeout=opts.timeouts.dns)
    except NetError:
        return []
    finally:
        records.take_whoami(trace)
    return [{"address": ip} for ip in result.addresses if ":" not in ip]


async def whoami(opts: DNSConsistencyOptions, servers: list[str], traces: list[Trace],
                 records: Records) -> dict[str, Any]:
    """``x_dns_whoami`` for the system resolver (``traces[0]``) and each UDP server (the
    other traces, in order); empty when the option ``whoami`` is empty."""
    out: dict[str, Any] = {"system_v4": [], "udp_v4": {}}
    if not opts.whoami:
        return out
    found = await asyncio.gather(
        _ask(traces[0], opts.whoami, None, opts, records),
        *(_ask(trace, opts.whoami, server, opts, records)
          for trace, server in zip(traces[1:], servers, strict=True)))
    out["system_v4"] = found[0]
    out["udp_v4"] = {server: answers for server, answers in zip(servers, found[1:],
                                                                 strict=True)}
    return out
