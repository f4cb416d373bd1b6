"""Targets measured a few at a time (OONI's ``urlgetter.Multi``) and the keys they share.

``collect`` returns the outputs in the targets' order whatever order they finish in.
``shared_keys`` builds what every urlgetter-based test writes: ``agent``, ``failure`` and
``failed_operation`` (always null at the top: each target's outcome goes into the test's own
keys), and OONI's raw-event lists ``network_events``, ``queries``, ``requests``,
``tcp_connect``, ``tls_handshakes``, target after target; A/AAAA answers carry the ``asn`` and
``as_org_name`` of the probe's ASN table (0 and "" without one, OONI's convention).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from censorscope.model.ipinfo import ASNTable

from .getter import Getter, Output, Target

__all__ = ["collect", "shared_keys"]


async def collect(getter: Getter, targets: Sequence[Target], parallelism: int) -> list[Output]:
    """Measure ``targets`` with at most ``parallelism`` of them in flight."""

    gate = asyncio.Semaphore(max(1, parallelism))

    async def one(target: Target) -> Output:
        async with gate:
            return await getter.get(target)

    return list(await asyncio.gather(*(one(t) for t in targets)))


def _annotate(answers: list[Any], table: ASNTable | None) -> None:
    for answer in answers:
        ip = answer.get("ipv4") or answer.get("ipv6")
        if not ip:
            continue
        info = table.lookup(ip) if table is not None else None
        answer["asn"] = info.asn if info is not None else 0
        answer["as_org_name"] = info.as_name if info is not None else ""


def shared_keys(outputs: Sequence[Output], table: ASNTable | None) -> dict[str, Any]:
    """The urlgetter keys of a whole run (DNS answers annotated in place)."""

    keys: dict[str, Any] = {"agent": "redirect", "failed_operation": None, "failure": None}
    lists: dict[str, list[Any]] = {name: [] for name in (
        "network_events", "queries", "requests", "tcp_connect", "tls_handshakes")}
    for out in outputs:
        for trace in out.traces:
            lists["network_events"] += trace.network_events
            lists["queries"] += trace.queries
            lists["requests"] += trace.requests
            lists["tcp_connect"] += trace.tcp_connect
            lists["tls_handshakes"] += trace.tls_handshakes
    for query in lists["queries"]:
        _annotate(query.get("answers") or [], table)
    keys.update(lists)
    return keys
