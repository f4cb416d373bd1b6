"""Strict HTTP/1.1 request parsing and response writing for an internet-facing service.

Caps on the request line, the number and total size of header lines, the body
(``Content-Length`` only; ``Transfer-Encoding`` is refused with 411/501), and timeouts for the
head, the body and an idle keep-alive connection. Everything malformed raises
:class:`CollectorError` with a 4xx status; the connection is closed after any error in the
framing (the stream position can no longer be trusted).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from email.utils import formatdate

from censorscope.collector.errors import CollectorError

__all__ = ["HTTPLimits", "Request", "read_request", "render_response"]

_TOKEN = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_TARGET = re.compile(rb"^/[\x21-\x7e]*$")
_VALUE = re.compile(rb"^[\t\x20-\x7e\x80-\xff]*$")
REASONS = {
    100: "Continue", 200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 411: "Length Required",
    413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable", 505: "HTTP Version Not Supported",
}


@dataclass(frozen=True)
class HTTPLimits:
    """Caps and timeouts (seconds)."""

    max_request_line: int = 4096
    max_headers: int = 64
    max_header_bytes: int = 16 * 1024
    max_body: int = 16 * 1024 * 1024
    head_timeout: float = 10.0
    body_timeout: float = 60.0
    idle_timeout: float = 30.0


@dataclass
class Request:
    """One parsed request."""

    method: str
    target: str
    version: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    @property
    def keep_alive(self) -> bool:
        conn = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in conn
        return "close" not in conn


async def _line(reader: asyncio.StreamReader, limit: int, what: str) -> bytes:
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        status = 414 if what == "request line" else 431
        raise CollectorError(status, "too_large", f"{what} too long") from None
    except asyncio.IncompleteReadError as exc:
        if not exc.partial and what == "request line":
            raise EOFError from None
        raise CollectorError(400, "bad_request", f"connection closed inside the {what}") from None
    if len(line) > limit:
        status = 414 if what == "request line" else 431
        raise CollectorError(status, "too_large", f"{what} too long")
    if not line.endswith(b"\r\n"):
        raise CollectorError(400, "bad_request", "lines must end with CRLF")
    return line[:-2]


async def _read_head(reader: asyncio.StreamReader, limits: HTTPLimits) -> Request:
    line = await _line(reader, limits.max_request_line, "request line")
    parts = line.split(b" ")
    if len(parts) != 3:
        raise CollectorError(400, "bad_request", "malformed request line")
    method, target, version = parts
    if not _TOKEN.match(method):
        raise CollectorError(400, "bad_request", "malformed method")
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        # 400, not 505: bad input is always a 4xx here
        raise CollectorError(400, "http_version", "only HTTP/1.0 and HTTP/1.1 are served")
    if not _TARGET.match(target):
        raise CollectorError(400, "bad_request", "the request target must be an absolute path")
    headers: dict[str, str] = {}
    total = 0
    count = 0
    while True:
        raw = await _line(reader, limits.max_header_bytes, "header")
        if not raw:
            break
        count += 1
        total += len(raw) + 2
        if count > limits.max_headers or total > limits.max_header_bytes:
            raise CollectorError(431, "too_large", "too many or too large header fields")
        if raw[0] in b" \t":
            raise CollectorError(400, "bad_request", "obsolete line folding is not accepted")
        name, sep, value = raw.partition(b":")
        if not sep or not _TOKEN.match(name):
            raise CollectorError(400, "bad_request", "malformed header field")
        value = value.strip(b" \t")
        if not _VALUE.match(value):
            raise CollectorError(400, "bad_request", "control characters in a header value")
        key = name.decode("ascii").lower()
        text = value.decode("latin-1")
        if key in headers:
            if key in ("content-length", "host", "content-type", "content-encoding"):
                if headers[key] != text:
                    raise CollectorError(400, "bad_request", f"conflicting {key} headers")
            else:
                headers[key] = headers[key] + ", " + text
        else:
            headers[key] = text
    if version == b"HTTP/1.1" and "host" not in headers:
        raise CollectorError(400, "bad_request", "HTTP/1.1 requests need a Host header")
    return Request(method.decode("ascii"), target.decode("ascii"), version.decode("ascii"),
                   headers)


async def read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limits: HTTPLimits, *,
    first: bool,
) -> Request | None:
    """The next request, or None when the client closed the connection between requests."""

    timeout = limits.head_timeout if first else limits.idle_timeout
    try:
        async with asyncio.timeout(timeout):
            request = await _read_head(reader, limits)
    except EOFError:
        return None
    except TimeoutError:
        if first:
            raise CollectorError(408, "timeout", "the request head took too long") from None
        return None
    if "transfer-encoding" in request.headers:
        if "content-length" in request.headers:
            raise CollectorError(400, "bad_request", "both Transfer-Encoding and Content-Length")
        raise CollectorError(411, "length_required", "send a Content-Length (no chunked bodies)")
    length_text = request.headers.get("content-length")
    if length_text is None:
        return request  # no Content-Length and no Transfer-Encoding: no body (RFC 9112 §6.3)
    if not length_text.isdigit() or len(length_text) > 12:
        raise CollectorError(400, "bad_request", "malformed Content-Length")
    length = int(length_text)
    if length > limits.max_body:
        raise CollectorError(
            413, "payload_too_large", f"bodies are limited to {limits.max_body} bytes"
        )
    if request.headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    try:
        async with asyncio.timeout(limits.body_timeout):
            request.body = await reader.readexactly(length)
    except TimeoutError:
        raise CollectorError(408, "timeout", "the request body took too long") from None
    except asyncio.IncompleteReadError:
        raise CollectorError(400, "bad_request", "connection closed inside the body") from None
    return request


def render_response(status: int, body: bytes, *, keep_alive: bool, server: str) -> bytes:
    """A complete JSON response."""

    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}\r\n"
        f"Server: {server}\r\n"
        f"Date: {formatdate(usegmt=True)}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("ascii") + body
