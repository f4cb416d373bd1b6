"""HTTP/1.1 request/response over an existing ``TCPConn`` or ``TLSConn``.

One round trip per connection (``Connection: close``). The response body is read per
Content-Length, chunked transfer coding, or until the peer closes, and capped at
``max_body`` bytes (``body_truncated``). HTTP/2 is not spoken: offer only ``http/1.1``
in ALPN on connections meant for ``http_round_trip``.
"""

# The API takes explicit per-operation timeouts (classified as generic_timeout_error).

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from censorscope.model import failures as F
from censorscope.net.conn import TCPConn
from censorscope.net.errors import NetError, classify_error
from censorscope.net.tls import TLSConn

__all__ = [
    "HTTPRequestSpec",
    "HTTPResponseData",
    "effective_headers",
    "encode_request",
    "http_round_trip",
]

_MAX_HEAD = 65536
_NO_BODY_STATUSES = frozenset({204, 304})


class _Stream(Protocol):
    async def read(self, max_bytes: int = 65536) -> bytes: ...

    async def write(self, data: bytes) -> None: ...

    def set_deadline(self, deadline: float | None) -> None: ...


@dataclass
class HTTPRequestSpec:
    """A request to send: ``headers`` in order, repeated names allowed."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes = b""


@dataclass
class HTTPResponseData:
    """A parsed response. ``body`` holds at most ``max_body`` bytes."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    body_truncated: bool

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive), or ``None``."""

        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


def _host_header(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    if parts.port is not None and parts.port != default:
        return f"{host}:{parts.port}"
    return host


def effective_headers(request: HTTPRequestSpec) -> list[tuple[str, str]]:
    """The headers actually sent: the request's, plus Host, Content-Length, Connection."""

    headers = list(request.headers)
    names = {name.lower() for name, _ in headers}
    if "host" not in names:
        headers.insert(0, ("Host", _host_header(request.url)))
    if request.body and "content-length" not in names:
        headers.append(("Content-Length", str(len(request.body))))
    if "connection" not in names:
        headers.append(("Connection", "close"))
    return headers


def encode_request(request: HTTPRequestSpec) -> bytes:
    """The request as bytes on the wire."""

    parts = urlsplit(request.url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    lines = [f"{request.method} {target} HTTP/1.1"]
    lines.extend(f"{name}: {value}" for name, value in effective_headers(request))
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("utf-8") + request.body


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class _Reader:
    """Buffered reads over a stream, failing with ``eof_error`` where more was needed."""

    def __init__(self, stream: _Stream) -> None:
        self._stream = stream
        self._buf = bytearray()
        self.eof = False

    async def _fill(self) -> bool:
        if self.eof:
            return False
        data = await self._stream.read(65536)
        if not data:
            self.eof = True
            return False
        self._buf.extend(data)
        return True

    async def read_until(self, marker: bytes, limit: int) -> bytes:
        while True:
            index = self._buf.find(marker)
            if index >= 0:
                end = index + len(marker)
                out = bytes(self._buf[:end])
                del self._buf[:end]
                return out
            if len(self._buf) > limit:
                raise NetError(F.UNKNOWN_FAILURE_PREFIX + "HTTP header too long", F.HTTP_ROUND_TRIP)
            if not await self._fill():
                raise NetError(F.EOF_ERROR, F.HTTP_ROUND_TRIP)

    async def read_exactly(self, count: int) -> bytes:
        while len(self._buf) < count:
            if not await self._fill():
                raise NetError(F.EOF_ERROR, F.HTTP_ROUND_TRIP)
        out = bytes(self._buf[:count])
        del self._buf[:count]
        return out

    async def read_some(self, limit: int) -> bytes:
        """Up to ``limit`` buffered-or-new bytes; ``b""`` at EOF."""

        if not self._buf and not await self._fill():
            return b""
        out = bytes(self._buf[:limit])
        del self._buf[:limit]
        return out


async def _read_head(reader: _Reader) -> tuple[int, str, list[tuple[str, str]]]:
    head = await reader.read_until(b"\r\n\r\n", _MAX_HEAD)
    lines = head[:-4].split(b"\r\n")
    status_line = _decode(lines[0])
    pieces = status_line.split(" ", 2)
    if len(pieces) < 2 or not pieces[0].startswith("HTTP/") or not pieces[1].isdigit():
        raise NetError(
            F.UNKNOWN_FAILURE_PREFIX + "malformed HTTP response", F.HTTP_ROUND_TRIP
        )
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        headers.append((_decode(name.strip()), _decode(value.strip())))
    return int(pieces[1]), pieces[2] if len(pieces) > 2 else "", headers


def _first(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


async def _read_chunked(reader: _Reader, body: bytearray, max_body: int) -> bool:
    """Append a chunked body; True if it was cut at ``max_body``."""

    while True:
        size_line = await reader.read_until(b"\r\n", _MAX_HEAD)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise NetError(
                F.UNKNOWN_FAILURE_PREFIX + "malformed chunked encoding", F.HTTP_ROUND_TRIP, exc
            ) from exc
        if size == 0:
            return False  # trailers are not needed: Connection: close
        room = max_body - len(body)
        if size > room:
            body.extend(await reader.read_exactly(room))
            return True
        body.extend(await reader.read_exactly(size))
        await reader.read_exactly(2)


async def _read_body(
    reader: _Reader, headers: list[tuple[str, str]], body: bytearray, max_body: int
) -> bool:
    """Append the body to ``body``; True if it was cut at ``max_body``."""

    encoding = (_first(headers, "transfer-encoding") or "").lower()
    if "chunked" in encoding:
        return await _read_chunked(reader, body, max_body)
    length = _first(headers, "content-length")
    if length is not None and length.strip().isdigit():
        total = int(length.strip())
        while len(body) < min(total, max_body):
            chunk = await reader.read_some(min(total, max_body) - len(body))
            if not chunk:
                raise NetError(F.EOF_ERROR, F.HTTP_ROUND_TRIP)
            body.extend(chunk)
        return total > max_body
    while len(body) <= max_body:
        chunk = await reader.read_some(max_body + 1 - len(body))
        if not chunk:
            return False
        body.extend(chunk)
    del body[max_body:]
    return True


async def http_round_trip(
    conn: TCPConn | TLSConn, request: HTTPRequestSpec, *, timeout: float, max_body: int = 524288
) -> HTTPResponseData:
    """Send ``request`` on ``conn`` and read the response (``NetError`` op ``http_round_trip``).

    When the body fails after the headers, the error carries the partial response in
    ``err.response``.
    """

    if isinstance(conn, TLSConn) and conn.state.negotiated_protocol == "h2":
        raise NetError(F.UNKNOWN_FAILURE_PREFIX + "HTTP/2 is not supported", F.HTTP_ROUND_TRIP)
    conn.set_deadline(time.monotonic() + timeout)
    reader = _Reader(conn)
    body = bytearray()
    response: HTTPResponseData | None = None
    try:
        await conn.write(encode_request(request))
        while True:
            status, reason, headers = await _read_head(reader)
            if not 100 <= status < 200 or status == 101:
                break
        response = HTTPResponseData(status, reason, headers, b"", False)
        if request.method.upper() == "HEAD" or status in _NO_BODY_STATUSES:
            return response
        response.body_truncated = await _read_body(reader, headers, body, max_body)
        response.body = bytes(body)
        return response
    except Exception as exc:
        err = classify_error(exc, F.HTTP_ROUND_TRIP)
        if err.operation != F.HTTP_ROUND_TRIP:
            err = NetError(err.failure, F.HTTP_ROUND_TRIP, err.cause or err)
        if response is not None:
            response.body = bytes(body)
            err.response = response
        raise err from exc
    finally:
        conn.set_deadline(None)
