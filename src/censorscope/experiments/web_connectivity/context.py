"""State shared by every task of one Web Connectivity measurement."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from censorscope.net.dns import LateListeners
from censorscope.trace.trace import Trace

from .cookies import CookieJar
from .ids import IDGenerator
from .options import WebConnectivityOptions
from .priority import AddrEntry
from .redirects import RedirectCounter
from .testkeys import TestKeys

__all__ = ["MeasurementContext"]


@dataclass
class MeasurementContext:
    """One measurement: its zero time, ids, records, DNS cache, cookies, redirect budget and
    the task group every flow runs in. ``start_depth(url, depth, referer)`` starts the DNS
    stage and endpoint flows of a redirect target (set by the measurer). Do53 lookups leave
    their late-reply listeners in ``late_dns`` and their traces in ``do53_traces``: the
    measurer awaits the former, then collects the duplicates, before finalising."""

    zero_time: float
    options: WebConnectivityOptions
    tasks: asyncio.TaskGroup
    start_depth: Callable[[str, int, str], None]
    tk: TestKeys = field(default_factory=TestKeys)
    ids: IDGenerator = field(default_factory=IDGenerator)
    cookies: CookieJar = field(default_factory=CookieJar)
    redirects: RedirectCounter = field(default_factory=RedirectCounter)
    dns_cache: dict[str, list[AddrEntry]] = field(default_factory=dict)
    use_doh: bool = True
    late_dns: LateListeners = field(default_factory=LateListeners)
    do53_traces: list[Trace] = field(default_factory=list)
