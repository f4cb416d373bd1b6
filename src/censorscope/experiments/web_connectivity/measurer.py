"""Web Connectivity 0.5 (OONI LTE, ``test_version`` 0.5.28): orchestration of one measurement.

``WebConnectivityMeasurer.measure(url)`` runs, inside one asyncio task group: the DNS stage
at depth 0, the endpoint flows over every resolved address, the control call in parallel
(depth 0 only; control-only addresses get extra flows), and for each followed redirect a new
DNS stage and flows at depth+1 (no new control call). When every task has ended and the
Do53 late-reply listeners have closed (their duplicates collected), records are finalised
(``network_events`` sorted by ``t``, DNS answers annotated with ASNs) and the classic analysis
fills OONI's compatibility keys. ``run`` wraps that in the df-000 envelope.

One measurer instance serves a whole run: it keeps OONI's opportunistic DoH schedule.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from censorscope.experiments.web_connectivity.classic import compute_classic_keys
from censorscope.model.ipinfo import is_bogon
from censorscope.net.dns import LateListeners

from .context import MeasurementContext
from .control_call import build_control_request, run_control
from .dnsstage import run_dns_stage
from .endpoints import start_flows
from .envelope import ProbeMetadata, build_measurement
from .options import WebConnectivityOptions
from .priority import AddrEntry, PrioritySelector
from .redirects import RedirectCounter

__all__ = ["WebConnectivityMeasurer", "annotate_answers"]


def annotate_answers(queries: list[dict[str, Any]], options: WebConnectivityOptions) -> None:
    """Add ``asn``/``as_org_name`` (probe-side lookup) to every A/AAAA answer."""

    for query in queries:
        for answer in query.get("answers") or []:
            ip = answer.get("ipv4") or answer.get("ipv6")
            if ip:
                answer["asn"] = options.asn_of(ip)
                answer["as_org_name"] = options.as_name_of(ip)


class WebConnectivityMeasurer:
    """Measures URLs with Web Connectivity; reuse one instance for a run of many URLs."""

    def __init__(self, options: WebConnectivityOptions) -> None:
        self.options = options
        self._next_doh = 0.0

    def _doh_due(self) -> bool:
        if self.options.doh_always:
            return True
        now = time.monotonic()
        if now < self._next_doh:
            return False
        self._next_doh = now + random.uniform(20.0, 39.0)
        return True

    async def measure(self, url: str) -> dict[str, Any]:
        """The test keys of one measurement of ``url`` (already validated)."""

        opts = self.options
        zero = time.monotonic()
        selectors: list[PrioritySelector] = []
        late_dns = LateListeners()
        try:
            async with asyncio.TaskGroup() as tg:
                ctx = MeasurementContext(
                    zero_time=zero,
                    options=opts,
                    tasks=tg,
                    start_depth=lambda u, d, r: None,
                    redirects=RedirectCounter(opts.max_redirects),
                    use_doh=self._doh_due(),
                    late_dns=late_dns,
                )
                ctx.tk.client_resolver = opts.client_resolver

                def start_depth(target: str, depth: int, referer: str) -> None:
                    tg.create_task(_run_depth(ctx, target, depth, referer, selectors, False))

                ctx.start_depth = start_depth
                tg.create_task(_run_depth(ctx, url, 0, "", selectors, True))
            await late_dns.wait()
        finally:
            await late_dns.aclose()
        for trace in ctx.do53_traces:
            ctx.tk.take_do53(trace)
        for selector in selectors:
            selector.close()
        test_keys = ctx.tk.to_dict()
        annotate_answers(ctx.tk.all_queries(), opts)
        allowed = opts.public_ranges
        test_keys.update(
            compute_classic_keys(
                test_keys,
                input_url=url,
                asn_of=opts.asn_of,
                is_bogon=lambda ip: is_bogon(ip, allowed=allowed),
            )
        )
        return test_keys

    async def run(
        self,
        input: str | None,
        url: str | None,
        *,
        probe: ProbeMetadata,
        report_id: str,
        test_start_time: datetime,
    ) -> dict[str, Any]:
        """A complete measurement (envelope + test keys) of ``url``, recorded as ``input``.

        The ``experiments.interface.Measurer`` signature; Web Connectivity always has both
        (it registers ``InputKind.URLS``), so ``None`` is a caller's bug.
        """

        if input is None or url is None:
            raise ValueError("web_connectivity measures a URL: input and url are required")
        start = datetime.now(UTC)
        t0 = time.monotonic()
        test_keys = await self.measure(url)
        return build_measurement(
            input=input,
            test_keys=test_keys,
            probe=probe,
            report_id=report_id,
            measurement_start_time=start,
            test_start_time=test_start_time,
            test_runtime=time.monotonic() - t0,
            control_url=self.options.control_url,
        )


async def _run_depth(
    ctx: MeasurementContext,
    url: str,
    depth: int,
    referer: str,
    selectors: list[PrioritySelector],
    with_control: bool,
) -> None:
    host = urlsplit(url).hostname or ""
    addrs = await run_dns_stage(ctx, host, depth)
    t = ctx.options.timeouts
    selector = PrioritySelector(
        addrs,
        zero_time=ctx.zero_time,
        log=ctx.tk.x_conn_priority_log,
        window=t.priority_window,
        answer_timeout=t.priority_answer,
        send_timeout=t.priority_send,
    )
    selectors.append(selector)
    start_flows(ctx, url, depth, referer, addrs, selector)
    if with_control:
        ctx.tasks.create_task(_run_control(ctx, url, addrs, selector))


def _valid_ip(text: object) -> str | None:
    if not isinstance(text, str):
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


async def _run_control(
    ctx: MeasurementContext, url: str, addrs: list[AddrEntry], selector: PrioritySelector
) -> None:
    opts = ctx.options
    request = build_control_request(url, [a.addr for a in addrs], opts.user_agent)
    ctx.tk.x_control_request = request
    outcome = await run_control(request, opts)
    ctx.tk.control = outcome.control
    ctx.tk.control_failure = outcome.failure
    if outcome.control is None:
        return
    dns = outcome.control.get("dns")
    th_addrs = dns.get("addrs") if isinstance(dns, dict) else None
    known = {a.addr for a in addrs}
    extra: list[AddrEntry] = []
    for raw in th_addrs or []:
        ip = _valid_ip(raw)
        if ip is not None and ip not in known:
            known.add(ip)
            extra.append(AddrEntry(ip, 0))
    if extra:
        start_flows(ctx, url, 0, "", extra, selector)
