"""Upload queued measurements to an OONI-compatible collector, until each is acknowledged.

Two protocols, as OONI's probes speak them (ooni-probe.md §5):

* ``submit_measurement`` (default): ``POST /api/v1/submit_measurement`` with the measurement
  as a JSON string in ``content``.
* ``report``: ``POST /report`` to open a report per measurement template, ``POST
  /report/{report_id}`` for each measurement, ``POST /report/{report_id}/close``. The report id
  an entry was first submitted under is saved with it, so a retry sends identical bytes and the
  collector recognises a duplicate instead of storing it twice.

Outcomes: 200 with a ``measurement_uid`` (or ``{}``, OONI's "discarded") → acknowledged and
deleted locally; any other 4xx (except 408/429) → moved aside with the error, not retried;
5xx, 408, 429, timeouts and connection errors → retried later with exponential backoff + jitter.

:func:`deliver_queue` is what ``probe run --upload`` (after the run) and ``probe upload`` call:
one uploader per queue at a time (``flock`` on ``QUEUE/upload.lock``), every entry tried once
at once, then retries until a deadline, and a :class:`DeliveryReport` counted from the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import math
import os
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from censorscope import __version__
from censorscope.probe.queue import Backoff, Entry, UploadQueue

__all__ = [
    "DeliveryReport",
    "HTTPResult",
    "UploadSetupError",
    "UploadStats",
    "Uploader",
    "check_collector_url",
    "deliver_queue",
    "post_json",
    "upload_pending",
]

LOG = logging.getLogger("censorscope.probe.upload")
USER_AGENT = f"censorscope-probe/{__version__}"
_TEMPLATE_KEYS = ("data_format_version", "probe_asn", "probe_cc", "software_name",
                  "software_version", "test_name", "test_start_time", "test_version")
MAX_RESPONSE = 1 << 20


class TransientError(Exception):
    """The attempt failed in a way that may pass (network, timeout, 5xx)."""


@dataclass
class HTTPResult:
    """A collector's answer."""

    status: int
    body: Any


@dataclass
class UploadStats:
    """What one pass (or a drain) did."""

    acked: int = 0
    refused: int = 0
    deferred: int = 0
    uids: list[str] = field(default_factory=list)


async def post_json(
    base_url: str, path: str, payload: Any, *, timeout: float = 30.0,
    ssl_context: ssl.SSLContext | None = None,
) -> HTTPResult:
    """POST ``payload`` as JSON to ``base_url + path`` (one connection); the JSON answer."""

    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"collector URL must be http(s)://host[:port]: {base_url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    prefix = parts.path.rstrip("/")
    body = orjson.dumps(payload)
    host_header = parts.netloc.rsplit("@", 1)[-1]
    head = (
        f"POST {prefix}{path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {USER_AGENT}\r\n"
        f"Content-Type: application/json\r\nAccept: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    tls = None
    if parts.scheme == "https":
        tls = ssl_context or ssl.create_default_context()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(parts.hostname, port, ssl=tls)
            try:
                writer.write(head + body)
                await writer.drain()
                return await _read_response(reader)
            finally:
                writer.close()
                with contextlib.suppress(OSError, ssl.SSLError):
                    await writer.wait_closed()
    except TimeoutError:
        raise TransientError(f"no answer from {base_url} within {timeout:.0f} s") from None
    except (OSError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
        raise TransientError(f"{base_url}: {type(exc).__name__}: {exc}") from None


async def _read_response(reader: asyncio.StreamReader) -> HTTPResult:
    status_line = await reader.readuntil(b"\r\n")
    fields = status_line.split(b" ", 2)
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/1.") or not fields[1].isdigit():
        raise TransientError(f"malformed status line {status_line[:80]!r}")
    status = int(fields[1])
    length: int | None = None
    chunked = False
    while True:
        line = await reader.readuntil(b"\r\n")
        if line == b"\r\n":
            break
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            length = int(value.strip())
        elif key == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        data = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                break
            data += await reader.readexactly(size)
            await reader.readexactly(2)
            if len(data) > MAX_RESPONSE:
                raise TransientError("response too large")
        raw = bytes(data)
    elif length is not None:
        if length > MAX_RESPONSE:
            raise TransientError("response too large")
        raw = await reader.readexactly(length)
    else:
        raw = await reader.read(MAX_RESPONSE)
    try:
        parsed = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        parsed = raw[:500].decode("utf-8", "replace")
    return HTTPResult(status, parsed)


def _is_refusal(status: int) -> bool:
    return 400 <= status < 500 and status not in (408, 425, 429)


class Uploader:
    """Delivers a queue's entries to one collector."""

    def __init__(
        self, queue: UploadQueue, base_url: str, *, protocol: str = "submit_measurement",
        timeout: float = 30.0, backoff: Backoff | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if protocol not in ("submit_measurement", "report"):
            raise ValueError("protocol must be 'submit_measurement' or 'report'")
        self.queue = queue
        self.base_url = base_url
        self.protocol = protocol
        self.timeout = timeout
        self.backoff = backoff or Backoff()
        self.ssl_context = ssl_context
        self._reports: dict[tuple[Any, ...], str] = {}

    async def _post(self, path: str, payload: Any) -> HTTPResult:
        return await post_json(self.base_url, path, payload, timeout=self.timeout,
                               ssl_context=self.ssl_context)

    async def _report_for(self, entry: Entry, content: dict[str, Any]) -> str | HTTPResult:
        if entry.report_id:
            return entry.report_id
        template = tuple(content.get(k) for k in _TEMPLATE_KEYS)
        report_id = self._reports.get(template)
        if report_id is None:
            opened = await self._post("/report", {
                "format": "json", **{k: content.get(k) for k in _TEMPLATE_KEYS},
            })
            if opened.status != 200 or not isinstance(opened.body, dict) or not isinstance(
                opened.body.get("report_id"), str
            ):
                return opened
            report_id = opened.body["report_id"]
            self._reports[template] = report_id
        self.queue.remember_report(entry, report_id)
        return report_id

    async def _attempt(self, entry: Entry) -> HTTPResult:
        raw = entry.body()
        if self.protocol == "submit_measurement":
            return await self._post("/api/v1/submit_measurement", {
                "format": "json", "content": raw.decode("utf-8"), "nym": None,
                "zkp_request": None, "manifest_version": None, "protocol_version": None,
            })
        content = orjson.loads(raw)
        if not isinstance(content, dict):
            return HTTPResult(400, {"error": {"code": "local", "message": "not a JSON object"}})
        report = await self._report_for(entry, content)
        if isinstance(report, HTTPResult):
            return report
        content["report_id"] = report
        return await self._post(f"/report/{report}", {"format": "json", "content": content})

    async def upload_once(self, now: float | None = None) -> UploadStats:
        """Try every due entry once."""

        stats = UploadStats()
        for entry in self.queue.due(now):
            try:
                result = await self._attempt(entry)
            except TransientError as exc:
                self.queue.defer(entry, str(exc), self.backoff)
                stats.deferred += 1
                continue
            except (UnicodeDecodeError, orjson.JSONDecodeError) as exc:
                result = HTTPResult(400, {"error": {"code": "local", "message": str(exc)}})
            if result.status == 200 and isinstance(result.body, dict):
                uid = result.body.get("measurement_uid")
                self.queue.ack(entry, uid if isinstance(uid, str) else None)
                stats.acked += 1
                if isinstance(uid, str):
                    stats.uids.append(uid)
            elif _is_refusal(result.status):
                self.queue.refuse(entry, result.status, result.body)
                stats.refused += 1
            else:
                self.queue.defer(entry, f"HTTP {result.status}: {result.body}", self.backoff)
                stats.deferred += 1
        if self.protocol == "report":
            await self._close_reports()
        return stats

    async def _close_reports(self) -> None:
        for report_id in list(self._reports.values()):
            with contextlib.suppress(TransientError):
                await self._post(f"/report/{report_id}/close", {})
        self._reports.clear()

    async def drain(self, deadline: float) -> UploadStats:
        """Upload until the queue is empty or ``deadline`` (``time.monotonic()``) passes."""

        total = UploadStats()
        while True:
            stats = await self.upload_once()
            total.acked += stats.acked
            total.refused += stats.refused
            total.deferred += stats.deferred
            total.uids += stats.uids
            pending = self.queue.pending()
            if not pending:
                return total
            wait = min(e.next_attempt for e in pending) - time.time()
            if time.monotonic() + max(wait, 0) >= deadline:
                return total
            await asyncio.sleep(max(wait, 0.01))


async def upload_pending(
    queue_dir: Any, url: str, *, within: float = 60.0, protocol: str = "submit_measurement",
) -> UploadStats:
    """Deliver what ``queue_dir`` holds to ``url`` for at most ``within`` seconds."""

    uploader = Uploader(UploadQueue(queue_dir), url, protocol=protocol)
    return await uploader.drain(time.monotonic() + within)


class UploadSetupError(ValueError):
    """The upload cannot start: a collector URL or CA file that cannot be used."""


def check_collector_url(url: str) -> str:
    """``url`` if it is ``http(s)://host[:port][/path]``; :class:`UploadSetupError` otherwise."""

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UploadSetupError(f"collector URL must be http(s)://host[:port][/path]: {url!r}")
    return url


def collector_ssl_context(url: str, ca_file: str | None) -> ssl.SSLContext | None:
    """Trust for an ``https`` collector: ``ca_file``, else the system's CAs (``None``: http)."""

    if urlsplit(url).scheme != "https":
        return None
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise UploadSetupError(f"cannot load the CA file {ca_file}: {exc}") from exc


@dataclass
class DeliveryReport:
    """What one delivery of a queue did, counted from the queue itself."""

    queue_dir: Path
    uploaded: int = 0
    discarded: int = 0
    refused: int = 0
    still_queued: int = 0
    last_error: str | None = None
    busy: bool = False

    def message(self, url: str) -> str:
        text = (f"{self.uploaded} uploaded, {self.still_queued} still queued in "
                f"{self.queue_dir}, {self.refused} refused")
        if self.refused:
            text += f" (see {self.queue_dir / 'refused'})"
        if self.discarded:
            text += (f"; {self.discarded} of the uploaded were discarded by the collector "
                     "(unknown probe_cc/probe_asn)")
        if self.busy:
            text += "; another upload from this queue is running, so this one did not start"
        if self.still_queued:
            if self.last_error:
                text += f"; last error: {self.last_error}"
            text += (f"; send them later with: censorscope probe upload --queue "
                     f"{self.queue_dir} --url {url}")
        return text


@contextlib.contextmanager
def queue_lock(queue_dir: Path) -> Iterator[bool]:
    """An exclusive ``flock`` on QUEUE/upload.lock: one uploader per queue at a time."""

    fd = os.open(queue_dir / "upload.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


async def _try_until(uploader: Uploader, within: float) -> None:
    """Every entry once now (backoff ignored), then retries with backoff until ``within``."""

    deadline = time.monotonic() + within
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            await uploader.upload_once(now=math.inf)
            await uploader.drain(deadline)


def deliver_queue(
    queue_dir: Path, url: str, *, within: float, protocol: str = "submit_measurement",
    ca_file: str | None = None,
) -> DeliveryReport:
    """Deliver ``queue_dir`` to the collector at ``url`` for at most ``within`` seconds.

    Interrupting it (deadline, Ctrl-C, a crash) is safe: an entry leaves the queue only
    once acknowledged, and a re-sent one gets the collector's first uid back. Raises
    :class:`UploadSetupError` for a CA file that cannot be loaded.
    """

    queue = UploadQueue(queue_dir)
    report = DeliveryReport(queue_dir=queue_dir)
    acked_before = len(queue.acked())
    refused_before = len(queue.refused())
    with queue_lock(queue.root) as locked:
        if not locked:
            report.busy = True
        elif within > 0:
            uploader = Uploader(queue, url, protocol=protocol,
                                timeout=min(30.0, max(within, 1.0)),
                                ssl_context=collector_ssl_context(url, ca_file))
            asyncio.run(_try_until(uploader, within))
    new_acks = queue.acked()[acked_before:]
    report.uploaded = len(new_acks)
    report.discarded = sum(1 for a in new_acks if not a.get("measurement_uid"))
    report.refused = len(queue.refused()) - refused_before
    pending = queue.pending()
    report.still_queued = len(pending)
    errors = [e.last_error for e in pending if e.last_error]
    report.last_error = errors[-1] if errors else None
    return report
