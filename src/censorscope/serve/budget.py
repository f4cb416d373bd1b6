"""Buffered request bytes, accounted per source (client address) and for the whole server.

A request body is held in memory from its first byte until its answer is sent. Without a cap,
clients that send most of a large body and stall make the server hold all of it: 100 clients
× 15 MiB of a 16 MiB body took the collector from ~280 MiB to 1.6 GiB, and the connection cap
alone allowed ~15 GiB. :class:`BodyBudget` bounds it: every body is charged as its bytes
arrive (and its declared ``Content-Length`` is checked against what is left before the first
byte is read), and a body that does not fit is refused at once, 429 when its source's share is
spent and 503 when the server's is, both with ``Retry-After`` (the probe's uploader retries
both with backoff).

Why refuse rather than spool large bodies to temporary files: the collector's bodies are
small (a few KiB to a few hundred KiB), a hostile client would only move the same pressure
from memory to the disk the spool itself needs (and a full disk is exactly what makes the
collector refuse every measurement), and a refused honest probe loses nothing: its queue keeps
the measurement and retries after ``Retry-After``.
"""

from __future__ import annotations

from censorscope.serve.errors import HTTPError

__all__ = ["BodyBudget"]


class BodyBudget:
    """Bytes of request bodies held right now, per source and in total, with their caps."""

    def __init__(self, total: int, per_source: int, retry_after: int = 5) -> None:
        self.total = total
        self.per_source = per_source
        self.retry_after = retry_after
        self.held = 0
        self.peak = 0
        self.refused = 0
        self._by_source: dict[str, int] = {}

    def source_held(self, source: str) -> int:
        return self._by_source.get(source, 0)

    def _refuse(self, source_full: bool) -> HTTPError:
        self.refused += 1
        headers = (("Retry-After", str(self.retry_after)),)
        if source_full:
            return HTTPError(429, "too many request bytes in flight from your address; retry "
                             "later", reason="source_budget", headers=headers)
        return HTTPError(503, "the server holds too many request bytes; retry later",
                         reason="server_budget", headers=headers)

    def check(self, source: str, length: int) -> None:
        """Refuse at once a body of ``length`` bytes that cannot fit now."""

        if self._by_source.get(source, 0) + length > self.per_source:
            raise self._refuse(True)
        if self.held + length > self.total:
            raise self._refuse(False)

    def charge(self, source: str, size: int) -> None:
        """Account ``size`` more bytes for ``source``, or refuse (nothing charged then)."""

        self.check(source, size)
        self.held += size
        self.peak = max(self.peak, self.held)
        self._by_source[source] = self._by_source.get(source, 0) + size

    def release(self, source: str, size: int) -> None:
        if size <= 0:
            return
        self.held -= size
        left = self._by_source.get(source, 0) - size
        if left > 0:
            self._by_source[source] = left
        else:
            self._by_source.pop(source, None)
