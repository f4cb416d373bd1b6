"""The ``service`` measurement: every endpoint of the service at once (bounded), then the
records in OONI's keys (endpoint by endpoint, in the set's order) and the per-endpoint results
and overall status in the experiment's own keys (``service``, ``endpoints``, ``status`` …)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from censorscope.experiments.envelope import TargetMeasurer
from censorscope.trace.trace import Trace

from .check import EndpointResult, measure_endpoint
from .endpoints import endpoints_for, normalise_service
from .options import ServiceOptions
from .summary import summarise

__all__ = ["TEST_NAME", "TEST_VERSION", "ServiceMeasurer"]

TEST_NAME = "service"
TEST_VERSION = "0.1.0"


class ServiceMeasurer(TargetMeasurer):
    """Measures named services; one instance serves a whole run."""

    test_name = TEST_NAME
    test_version = TEST_VERSION

    def __init__(self, options: ServiceOptions) -> None:
        self.options = options

    async def measure(self, service: str) -> dict[str, Any]:
        """The test keys of one measurement of ``service`` (a known name)."""
        opts = self.options
        name = normalise_service(service)
        endpoints = endpoints_for(name, opts.own_endpoints)
        zero = time.monotonic()
        bound = asyncio.Semaphore(opts.concurrency)

        async def one(i: int) -> tuple[EndpointResult, Trace]:
            async with bound:
                return await measure_endpoint(endpoints[i], i + 1, zero, opts)

        done = await asyncio.gather(*(one(i) for i in range(len(endpoints))))
        keys: dict[str, list[dict[str, Any]]] = {
            "queries": [], "tcp_connect": [], "tls_handshakes": [], "requests": [],
            "network_events": []}
        for _, trace in done:
            keys["queries"].extend(dict(q) for q in trace.queries)
            keys["tcp_connect"].extend(dict(c) for c in trace.tcp_connect)
            keys["tls_handshakes"].extend(dict(h) for h in trace.tls_handshakes)
            keys["requests"].extend(dict(r) for r in trace.requests)
            keys["network_events"].extend(dict(e) for e in trace.network_events)
        keys["network_events"].sort(key=lambda e: e.get("t", 0.0))
        results = [r for r, _ in done]
        return {
            "service": name,
            "endpoints_source": opts.endpoints_file if any(
                e.service == name for e in opts.own_endpoints) else "bundled",
            **summarise(results),
            "endpoints": [r.to_json() for r in results],
            **keys,
        }

