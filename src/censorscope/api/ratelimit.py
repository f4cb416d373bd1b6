"""Per-client quotas of request time (ooni-backend §3.8: OONI charges wall-clock time too).

Each client has one bucket per ``Quota``: it holds up to ``seconds`` of request time and
refills at ``seconds / window`` per second. A request is charged its wall-clock time (at least
``min_request_cost``) when it ends; a client whose bucket is empty gets 429 with the envelope,
``Retry-After`` (when the emptiest bucket holds time again) and ``X-RateLimit-Remaining: 0``.
Every answer carries ``X-RateLimit-Remaining``: the seconds of request time left in the
client's tightest quota. The client is the peer address, or the first ``X-Forwarded-For``
address behind a trusted proxy. Buckets live in the worker process (each of ``--workers N``
counts on its own).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response
from .settings import Quota

__all__ = ["RateLimitMiddleware", "RateLimiter"]

_PRUNE_EVERY = 10_000  # requests between two sweeps of full (forgettable) buckets


class RateLimiter:
    """Buckets of request time per client key."""

    def __init__(self, quotas: Sequence[Quota]) -> None:
        self.quotas = tuple(quotas)
        self._buckets: dict[str, tuple[list[float], float]] = {}  # key → (levels, when)
        self._since_prune = 0

    def _levels(self, key: str, now: float) -> list[float]:
        entry = self._buckets.get(key)
        if entry is None:
            return [q.seconds for q in self.quotas]
        levels, then = entry
        return [min(q.seconds, level + (now - then) * q.seconds / q.window)
                for q, level in zip(self.quotas, levels, strict=True)]

    def remaining(self, key: str, now: float) -> float:
        """Seconds of request time left in the tightest quota (negative: over it)."""
        return min(self._levels(key, now))

    def retry_after(self, key: str, now: float) -> int:
        """Whole seconds until every bucket of ``key`` holds time again."""
        waits = [(-level) * q.window / q.seconds for q, level in
                 zip(self.quotas, self._levels(key, now), strict=True) if level <= 0]
        return max(1, math.ceil(max(waits, default=0.0)))

    def charge(self, key: str, cost: float, now: float) -> None:
        self._buckets[key] = ([level - cost for level in self._levels(key, now)], now)
        self._since_prune += 1
        if self._since_prune >= _PRUNE_EVERY:
            self._since_prune = 0
            full = [k for k in self._buckets if all(
                level >= q.seconds for q, level in
                zip(self.quotas, self._levels(k, now), strict=True))]
            for k in full:
                del self._buckets[k]


def client_key(scope: Scope, trust_forwarded_for: bool) -> str:
    if trust_forwarded_for:
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                first: str = bytes(value).decode("latin-1").split(",")[0].strip()
                if first:
                    return first
    client = scope.get("client")
    return str(client[0]) if client else "-"


class RateLimitMiddleware:
    """ASGI middleware: 429 for clients over quota, the remaining quota on every answer."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, min_request_cost: float,
                 trust_forwarded_for: bool) -> None:
        self.app, self.limiter = app, limiter
        self.min_cost, self.trust = min_request_cost, trust_forwarded_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limiter.quotas:
            await self.app(scope, receive, send)
            return
        key = client_key(scope, self.trust)
        now = time.monotonic()
        left = self.limiter.remaining(key, now)
        if left <= 0:
            wait = self.limiter.retry_after(key, now)
            response = error_response(
                429, "quota exceeded: too much request time from this client; slow down",
                {"retry_after": wait},
                {"Retry-After": str(wait), "X-RateLimit-Remaining": "0"})
            await response(scope, receive, send)
            return
        start = time.perf_counter()

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-RateLimit-Remaining"] = f"{max(left, 0.0):.2f}"
            await send(message)

        try:
            await self.app(scope, receive, send_with_quota)
        finally:
            cost = max(self.min_cost, time.perf_counter() - start)
            self.limiter.charge(key, cost, time.monotonic())


def describe(quotas: Sequence[Quota]) -> list[dict[str, Any]]:
    """The quotas as data (for docs and the OpenAPI description)."""
    return [{"window_seconds": q.window, "request_seconds": q.seconds} for q in quotas]
