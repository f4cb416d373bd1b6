"""The one size and time policy of an internet-facing server."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    """Caps (bytes, counts) and timeouts (seconds).

    ``max_request_line``: longest request line, its CRLF included (414 above).
    ``max_headers`` / ``max_header_bytes``: header lines and their total size, CRLFs included
    (431 above). ``max_body``: largest ``Content-Length`` (413 above). ``head_timeout``: the
    first request head of a connection must arrive within it (408); ``idle_timeout``: the next
    one on a kept-alive connection (else the connection is closed quietly); ``body_timeout``:
    the body (408). ``max_connections``: served at once (503 beyond). ``linger_timeout`` /
    ``linger_bytes``: after an error answer on a request whose bytes were not all read, how
    long and how much is read and discarded before the socket is closed (so the client sees
    the answer, not a reset).
    """

    max_request_line: int = 4096
    max_headers: int = 64
    max_header_bytes: int = 16 * 1024
    max_body: int = 16 * 1024 * 1024
    head_timeout: float = 10.0
    body_timeout: float = 60.0
    idle_timeout: float = 30.0
    max_connections: int = 1024
    linger_timeout: float = 2.0
    linger_bytes: int = 16 * 1024 * 1024
    max_connections_per_source: int = 256
    max_buffered: int = 256 * 1024 * 1024
    max_buffered_per_source: int = 32 * 1024 * 1024
    retry_after: int = 5
    pressure: float = 0.5
    min_timeout: float = 1.0

    def shrink(self, timeout: float, active: int) -> float:
        """``timeout`` shrunk for ``active`` open connections (see the class docstring)."""

        start = self.pressure * self.max_connections
        if active <= start or self.max_connections <= 0:
            return timeout
        fill = min(1.0, (active - start) / max(1.0, self.max_connections - start))
        floor = min(timeout, self.min_timeout)
        return timeout - (timeout - floor) * fill

    @property
    def stream_limit(self) -> int:
        """The ``asyncio.StreamReader`` buffer limit that lets the longest allowed line in."""

        return max(self.max_header_bytes, self.max_request_line) + 2
