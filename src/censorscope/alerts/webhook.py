"""Webhooks: an alert as an HTTP POST of JSON, signed, retried with backoff.

Each POST carries

- ``X-Censorscope-Timestamp``: the Unix time of the attempt;
- ``X-Censorscope-Signature``: ``sha256=<hex>``, the HMAC-SHA256 with the shared secret of
  ``"<timestamp>." + body`` — the timestamp is signed with the body, so a receiver that
  rejects timestamps older than a few minutes (:func:`verify`, 300 s) cannot be replayed;
- ``X-Censorscope-Event`` (opened/updated/closed) and ``X-Censorscope-Delivery`` (the alert
  id, the same on every retry: a receiver deduplicates on it).

A delivery is retried on connection errors, timeouts, 5xx, 408, 425 and 429 with exponential
backoff and jitter, bounded in attempts and in total time (:class:`RetryPolicy`); another 4xx
is a rejection and is not retried. :func:`deliver_all` runs deliveries in parallel threads, so a
slow or dead receiver never holds back the other alerts. The secret appears in no log, state
or error message; a sink is named by its URL without user info and query (:func:`sink_name`).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

__all__ = ["DELIVERY_HEADER", "EVENT_HEADER", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "Job",
           "Result", "RetryPolicy", "check_url", "deliver", "deliver_all", "sign",
           "sink_name", "verify"]

SIGNATURE_HEADER: Final = "X-Censorscope-Signature"
TIMESTAMP_HEADER: Final = "X-Censorscope-Timestamp"
EVENT_HEADER: Final = "X-Censorscope-Event"
DELIVERY_HEADER: Final = "X-Censorscope-Delivery"
RETRY_STATUSES: Final = frozenset({408, 425, 429})
USER_AGENT: Final = "censorscope-alerts/1"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: bytes, body: bytes, timestamp: str | None, signature: str | None, *,
           now: float | None = None, tolerance: float = 300.0) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def check_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host, else ValueError (naming the sink only)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"webhook {sink_name(url)!r} is not an http:// or https:// URL")
    return url


def sink_name(url: str) -> str:
    """The URL without user info, query and fragment (tokens often hide there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path or '/'}"


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``attempts`` POSTs within ``total`` seconds; the n-th wait is
    ``first_delay * factor**(n-1)`` (at most ``max_delay``) times a jitter in [0.5, 1];
    each attempt times out after ``timeout`` seconds (or what is left of ``total``)."""

    attempts: int = 5
    first_delay: float = 0.5
    factor: float = 2.0
    max_delay: float = 8.0
    total: float = 30.0
    timeout: float = 10.0

    def delay(self, n: int) -> float:
        base = min(self.max_delay, self.first_delay * self.factor ** (n - 1))
        return base * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class Job:
    """POST ``body`` to ``url`` for alert ``delivery_id`` (event ``event``)."""

    url: str
    body: bytes
    event: str
    delivery_id: str


@dataclass(frozen=True)
class Result:
    status: str  # delivered | failed | rejected
    attempts: int
    http_status: int | None
    error: str | None


def _post(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    conn: http.client.HTTPConnection = (
        http.client.HTTPSConnection(host, port, timeout=timeout) if parts.scheme == "https"
        else http.client.HTTPConnection(host, port, timeout=timeout))
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        response.read(65536)
        return response.status
    finally:
        conn.close()


def deliver(job: Job, secret: bytes, policy: RetryPolicy = RetryPolicy(),
            clock: Callable[[], float] = time.monotonic,
            sleep: Callable[[float], None] = time.sleep) -> Result:
    """Deliver one job, retrying as :class:`RetryPolicy` says."""
    deadline = clock() + policy.total
    http_status: int | None = None
    error: str | None = None
    attempt = 0
    while attempt < policy.attempts:
        attempt += 1
        left = deadline - clock()
        if left <= 0:
            attempt -= 1
            break
        stamp = int(time.time())
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(secret, stamp, job.body),
                   EVENT_HEADER: job.event, DELIVERY_HEADER: job.delivery_id}
        try:
            http_status, error = _post(job.url, headers, job.body,
                                       min(policy.timeout, left)), None
        except (OSError, http.client.HTTPException) as exc:
            http_status, error = None, f"{type(exc).__name__}: {exc}"[:200]
        if http_status is not None:
            if 200 <= http_status < 300:
                return Result("delivered", attempt, http_status, None)
            if http_status < 500 and http_status not in RETRY_STATUSES:
                return Result("rejected", attempt, http_status, f"HTTP {http_status}")
            error = f"HTTP {http_status}"
        wait = policy.delay(attempt)
        if attempt >= policy.attempts or clock() + wait >= deadline:
            break
        sleep(wait)
    return Result("failed", attempt, http_status, error)


def deliver_all(jobs: Sequence[Job], secret: bytes, policy: RetryPolicy = RetryPolicy(),
                workers: int = 8) -> list[Result]:
    """Deliver ``jobs`` in parallel (each with its own retries); results in job order."""
    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(jobs)),
                            thread_name_prefix="webhook") as pool:
        return list(pool.map(lambda job: deliver(job, secret, policy), jobs))
