"""The ``tls_sni`` measurement of one target: resolve it, then A/B handshakes per IP.

1. DNS: the system resolver (getaddrinfo, transaction 1) and, when configured, the Do53
   resolver (A and AAAA, transaction 2), recorded in ``queries``. The IPs measured are their
   answers plus the ``ips`` option's, in order of discovery (loopback addresses are skipped
   unless the settings allow them).
2. Per IP, three attempts one after the other, each its own transaction: the control name,
   no SNI, then the target name. The target goes last on purpose: some censors (e.g. the
   GFW) block the whole ``ip:port`` for a while after a match, which would make the
   comparisons fail too if they came after it. (The lab's censor matches packet by packet
   and keeps no such state — docs/lab.md, ``sni_drop`` — so there the order changes
   nothing.) Different IPs are measured concurrently.
3. Each IP gets its decision (``censorscope.model.tls_sni.decide``) as a hint; the pipeline
   re-decides from the recorded events.

Test keys: OONI's ``queries``, ``tcp_connect``, ``tls_handshakes``, ``network_events``
(sorted by ``t``), plus ``target``, ``server_name``, ``port``, ``control_sni``,
``results`` (one entry per IP) and ``summary``; ``failure`` is the system lookup's failure
when there was no IP to measure.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from censorscope.experiments.envelope import TargetMeasurer
from censorscope.model import failures as F
from censorscope.model.ipinfo import is_loopback
from censorscope.model.tls_sni import Role, decide, summary_verdict
from censorscope.net.errors import NetError
from censorscope.trace.trace import Trace

from .handshakes import AttemptPlan, attempt_facts, attempt_record, run_attempt
from .options import TLSSNIOptions, split_target

__all__ = ["TEST_NAME", "TEST_VERSION", "TLSSNIMeasurer"]

TEST_NAME = "tls_sni"
TEST_VERSION = "0.1.0"

_SYSTEM_TID = 1
_UDP_TID = 2
_FIRST_ATTEMPT_TID = 3
# the order of the attempts at one IP (the target last: see the module docstring)
_ORDER: tuple[Role, ...] = ("control", "no_sni", "target")


class TLSSNIMeasurer(TargetMeasurer):
    """Measures targets with the SNI A/B test; one instance serves a whole run."""

    test_name = TEST_NAME
    test_version = TEST_VERSION

    def __init__(self, options: TLSSNIOptions) -> None:
        self.options = options

    async def _resolve(self, host: str, zero: float) -> tuple[list[Trace], list[str], str | None]:
        """(DNS traces, answers in discovery order, the system lookup's failure)."""
        opts = self.options
        system = Trace(zero, _SYSTEM_TID, ["tls_sni_dns"])
        traces = [system]

        async def lookup_system() -> tuple[list[str], str | None]:
            try:
                result = await system.resolve_getaddrinfo(host, timeout=opts.timeouts.dns)
            except NetError as err:
                return [], err.failure
            return list(result.addresses), None

        async def lookup_udp(trace: Trace, server: str) -> list[str]:
            found: list[str] = []
            for qtype in ("A", "AAAA"):
                try:
                    result = await trace.resolve_udp(host, qtype, server,
                                                     timeout=opts.timeouts.dns)
                except NetError:
                    continue
                found += result.addresses
            return found

        jobs: list[Any] = [lookup_system()]
        if opts.resolver:
            udp = Trace(zero, _UDP_TID, ["tls_sni_dns"])
            traces.append(udp)
            jobs.append(lookup_udp(udp, opts.resolver))
        done = await asyncio.gather(*jobs)
        (system_addrs, system_failure), *rest = done
        answers: list[str] = []
        for addr in [*system_addrs, *(a for found in rest for a in found)]:
            if addr not in answers:
                answers.append(addr)
        return traces, answers, system_failure

    def _ips(self, answers: list[str]) -> list[tuple[str, list[str]]]:
        """(ip, sources) to measure: DNS answers first, then the ``ips`` option's."""
        out: dict[str, list[str]] = {}
        for ip, source in [*((a, "dns") for a in answers),
                           *((i, "option") for i in self.options.ips)]:
            if is_loopback(ip) and not self.options.allow_loopback:
                continue
            out.setdefault(ip, [])
            if source not in out[ip]:
                out[ip].append(source)
        return list(out.items())

    async def _measure_ip(self, plans: list[AttemptPlan], traces: list[Trace],
                          sources: list[str]) -> dict[str, Any]:
        """The attempts at one IP, one after the other; its ``results`` entry."""
        entry: dict[str, Any] = {"ip": plans[0].ip, "port": plans[0].port, "sources": sources}
        facts = []
        for plan, trace in zip(plans, traces, strict=True):
            await run_attempt(plan, self.options, trace)
            fact = attempt_facts(plan, trace)
            facts.append(fact)
            entry[plan.role] = attempt_record(plan, trace, fact)
        decision = decide(facts)
        entry["verdict"] = decision.verdict
        entry["reason"] = decision.explanation
        entry["reason_code"] = decision.reason
        return entry

    async def measure(self, target: str) -> dict[str, Any]:
        """The test keys of one measurement of ``target`` (already normalised)."""
        opts = self.options
        host, port = split_target(target, opts.port)
        zero = time.monotonic()
        dns_traces, answers, dns_failure = await self._resolve(host, zero)
        names = {"target": host, "control": opts.control_sni, "no_sni": ""}
        tid = _FIRST_ATTEMPT_TID
        jobs = []
        attempt_traces: list[Trace] = []
        for ip, sources in self._ips(answers):
            plans = [AttemptPlan(ip, port, role, names[role]) for role in _ORDER]
            traces = []
            for plan in plans:
                traces.append(Trace(zero, tid, [f"tls_sni={plan.role}"]))
                tid += 1
            attempt_traces += traces
            jobs.append(self._measure_ip(plans, traces, sources))
        results = list(await asyncio.gather(*jobs))
        keys: dict[str, Any] = {"queries": [], "tcp_connect": [], "tls_handshakes": [],
                                "network_events": []}
        for trace in [*dns_traces, *attempt_traces]:
            keys["queries"] += trace.queries
            keys["tcp_connect"] += trace.tcp_connect
            keys["tls_handshakes"] += trace.tls_handshakes
            keys["network_events"] += trace.network_events
        keys["network_events"].sort(key=lambda e: e.get("t", 0.0))
        verdicts = [r["verdict"] for r in results]
        summary: dict[str, Any] = {"verdict": summary_verdict(verdicts), "ips": len(results)}
        summary.update({v: [r["ip"] for r in results if r["verdict"] == v]
                        for v in ("sni_triggered", "ip_blocked", "ok", "inconclusive")})
        return {
            "target": target,
            "server_name": host,
            "port": port,
            "control_sni": opts.control_sni,
            **keys,
            "results": results,
            "summary": summary,
            "failure": (dns_failure or F.DNS_NO_ANSWER) if not results else None,
        }

