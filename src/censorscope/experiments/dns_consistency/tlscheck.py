"""TLS checks of the answers: a handshake with the domain as server name at every answer IP.

Port 443 (``tls_port``), certificate validation against the probe's ``ca_file``; the records
go to the measurement's ``tcp_connect``, ``tls_handshakes`` and ``network_events``. Bogons
(outside the public ranges) and, unless allowed, loopback addresses are not dialled. The
result per IP is :func:`censorscope.model.dns_consistency.tls_result` of the handshake; an IP
whose connect failed has no certificate to show and counts as ``failed``.
"""

from __future__ import annotations

import asyncio

from censorscope.model.dns_consistency import TLS_FAILED, tls_result
from censorscope.model.ipinfo import is_bogon, is_loopback
from censorscope.net.errors import NetError
from censorscope.net.tls import TLSConfig
from censorscope.trace.trace import Trace

from .options import DNSConsistencyOptions
from .records import Records

__all__ = ["check_all", "dialable"]


def dialable(ip: str, opts: DNSConsistencyOptions) -> bool:
    """Whether the answer ``ip`` gets a TLS check."""
    if is_loopback(ip):
        return opts.allow_loopback
    return not is_bogon(ip, allowed=opts.public_ranges)


async def _check(domain: str, ip: str, opts: DNSConsistencyOptions, trace: Trace,
                 records: Records) -> str:
    t = opts.timeouts
    try:
        tcp = await trace.connect_tcp(ip, opts.tls_port, timeout=t.tcp)
    except NetError:
        records.take_check(trace)
        return TLS_FAILED
    config = TLSConfig(server_name=domain, alpn=["h2", "http/1.1"], ca_file=opts.ca_file)
    failure: str | None = None
    try:
        conn = await trace.tls_handshake(tcp, config, timeout=t.tls)
        conn.close()
    except NetError as err:
        failure = err.failure
    finally:
        tcp.close()
        records.take_check(trace)
    return tls_result(failure is None, failure, config.verify) or TLS_FAILED


async def check_all(domain: str, ips: list[str], opts: DNSConsistencyOptions,
                    traces: list[Trace], records: Records) -> dict[str, str]:
    """The TLS result of each IP (one trace each, in order)."""
    results = await asyncio.gather(*(_check(domain, ip, opts, trace, records)
                                     for ip, trace in zip(ips, traces, strict=True)))
    return dict(zip(ips, results, strict=True))
