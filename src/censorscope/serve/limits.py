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

    @property
    def stream_limit(self) -> int:
        """The ``asyncio.StreamReader`` buffer limit that lets the longest allowed line in."""

        return max(self.max_header_bytes, self.max_request_line) + 2
