"""``dns_consistency``: orchestration of one measurement of a domain.

Inside one task group: the system lookup (getaddrinfo), UDP to the system's nameserver and to
every configured resolver, DoH to every configured URL, the control call and the whoami
lookups. Then a TLS check of every distinct answer IP (the control's included), while the UDP
late-reply listeners finish; then each resolver is classified against the reference (the
control, else DoH) and the df-000 measurement is built (Web Connectivity's envelope: the same
probe facts and annotations, under this test's name and version).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from censorscope.experiments.envelope import TargetMeasurer
from censorscope.experiments.web_connectivity.measurer import annotate_answers
from censorscope.experiments.web_connectivity.options import WebConnectivityOptions
from censorscope.net.dns import LateListeners
from censorscope.trace.trace import Trace

from .lookups import Lookup, distinct_replies, resolve_doh, resolve_system, resolve_udp
from .lookups import system_nameserver as read_nameserver
from .options import DNSConsistencyOptions
from .records import Records
from .reference import ask_control, pick_reference
from .results import resolver_result, summary
from .tlscheck import check_all, dialable
from .whoami import whoami

__all__ = ["TEST_NAME", "TEST_VERSION", "DNSConsistencyMeasurer"]

TEST_NAME = "dns_consistency"
TEST_VERSION = "0.1.0"


class DNSConsistencyMeasurer(TargetMeasurer):
    """Measures domains; one instance serves a run (it reads the system's nameserver once)."""

    test_name = TEST_NAME
    test_version = TEST_VERSION

    def __init__(self, options: DNSConsistencyOptions) -> None:
        self.options = options
        self._nameserver = options.system_resolver

    def control_url(self) -> str | None:
        return self.options.control_url

    def _udp_servers(self) -> list[tuple[str, str]]:
        if self._nameserver is None:
            self._nameserver = read_nameserver() or ""
        servers = [("udp", s) for s in self.options.resolvers]
        if self._nameserver and self._nameserver not in self.options.resolvers:
            servers.insert(0, ("system_udp", self._nameserver))
        return servers

    async def measure(self, domain: str) -> dict[str, Any]:
        """The test keys of one measurement of ``domain`` (already normalised)."""
        opts = self.options
        zero = time.monotonic()
        ids = itertools.count(1)
        records = Records()
        late = LateListeners()
        servers = self._udp_servers()
        system_trace = Trace(zero, next(ids), ["system"])
        udp_traces = [Trace(zero, next(ids), [name]) for name, _ in servers]
        try:
            async with asyncio.TaskGroup() as tg:
                system = tg.create_task(resolve_system(domain, opts, system_trace, records))
                udp = [tg.create_task(resolve_udp(name, domain, server, opts, trace, late))
                       for (name, server), trace in zip(servers, udp_traces, strict=True)]
                doh = [tg.create_task(resolve_doh(domain, url, opts,
                                                  Trace(zero, next(ids), ["doh"]), records))
                       for url in opts.doh_urls]
                control = tg.create_task(ask_control(domain, opts))
                who = tg.create_task(whoami(
                    opts, [s for _, s in servers],
                    [Trace(zero, next(ids), ["whoami"]) for _ in range(len(servers) + 1)],
                    records))
            lookups: list[Lookup] = [system.result(), *(t.result() for t in udp),
                                     *(t.result() for t in doh)]
            answer = control.result()
            ips = list(dict.fromkeys(
                [ip for lookup in lookups for ip in lookup.addresses]
                + (answer.dns() or ([], None))[0]))
            ips = [ip for ip in ips if dialable(ip, opts)]
            tls: dict[str, str] = {}
            if opts.tls_check and ips:
                tls = await check_all(domain, ips, opts,
                                      [Trace(zero, next(ids), ["tls_check"]) for _ in ips],
                                      records)
            await late.wait()
        finally:
            await late.aclose()
        for trace in udp_traces:
            records.take_lookup(trace)
        annotate_answers([*records.queries, *records.whoami_queries],
                         WebConnectivityOptions(asn_table=opts.asn_table))
        ref_name, reference = pick_reference(answer, lookups, opts.asn_of)
        results = [resolver_result(lookup, distinct_replies(records.queries,
                                                            lookup.transaction_id),
                                   reference if ref_name else None, tls, opts)
                   for lookup in lookups]
        system_v4 = who.result()
        resolver_ip = (system_v4["system_v4"] or [{}])[0].get("address", "")
        return {
            "domain": domain,
            "client_resolver": resolver_ip,
            "client_resolver_asn": opts.asn_of(resolver_ip) if resolver_ip else 0,
            "client_resolver_as_org_name": opts.as_name_of(resolver_ip) if resolver_ip else "",
            "x_dns_whoami": {**system_v4, "queries": records.whoami_queries},
            "reference": ref_name,
            "resolvers": results,
            **summary(results),
            "x_control_request": answer.request,
            "control": answer.response,
            "control_failure": answer.failure,
            **records.to_dict(),
        }

