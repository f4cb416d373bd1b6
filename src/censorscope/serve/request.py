"""Reading one request: the head with its caps and timeouts, then a ``Content-Length`` body.

The one request-validation policy of :mod:`censorscope.serve` (see the package docstring for
the table of answers). Everything malformed raises :class:`HTTPError` with a 4xx (501 for a
transfer coding it does not know); after such an error the stream position can no longer be
trusted, and the server closes the connection.

The request line is read on its own (a line ending in a bare LF is refused there); the header
lines are then read as one block up to the empty line (one ``readuntil``) and checked with one
regular expression, falling back to a line-by-line pass only to name what is wrong. A client
that ends its header lines with bare LFs after a CRLF request line never ends its head in our
eyes, and gets 408 when ``head_timeout`` runs out.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from censorscope.serve.budget import BodyBudget
from censorscope.serve.errors import HTTPError
from censorscope.serve.limits import Limits

__all__ = ["Request", "read_request"]

_TOKEN = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_TARGET = re.compile(rb"^/[\x21-\x7e]*$")
_VALUE = re.compile(rb"^[\t\x20-\x7e\x80-\xff]*$")
# a whole block of header lines: token ":" value CRLF, values without control characters (so no
# bare CR or LF), no line starting with a space or tab (obsolete folding)
_FIELDS = re.compile(rb"(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t\x20-\x7e\x80-\xff]*\r\n)+\Z")
_SINGLE = frozenset({"content-length", "host", "transfer-encoding"})  # never twice
_SAME = frozenset({"content-type", "content-encoding"})  # twice only with the same value


@dataclass
class Request:
    """One parsed request; header names lower-case, repeated fields joined with ``", "``."""

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

    @property
    def has_length(self) -> bool:
        """Whether the client sent a ``Content-Length`` (a body, possibly empty)."""

        return "content-length" in self.headers


def _bad(message: str, reason: str = "bad_request") -> HTTPError:
    return HTTPError(400, message, reason=reason)


async def _line(reader: asyncio.StreamReader, limit: int, what: str) -> bytes:
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        status = 414 if what == "request line" else 431
        raise HTTPError(status, f"{what} too long", reason="too_large") from None
    except asyncio.IncompleteReadError as exc:
        if not exc.partial and what == "request line":
            raise EOFError from None
        raise _bad(f"connection closed inside the {what}") from None
    if len(line) > limit:
        status = 414 if what == "request line" else 431
        raise HTTPError(status, f"{what} too long", reason="too_large")
    if not line.endswith(b"\r\n"):
        raise _bad("lines must end with CRLF")
    return line[:-2]


async def _field_block(reader: asyncio.StreamReader, limits: Limits) -> bytes:
    """The header lines after the request line, each with its CRLF, without the empty line
    that ends the head; read with one ``readuntil`` (the block is capped by the stream limit)."""

    try:
        start = await reader.readexactly(2)
        if start == b"\r\n":
            return b""
        block = start + await reader.readuntil(b"\n\r\n")
    except asyncio.LimitOverrunError:
        raise HTTPError(431, "too many or too large header fields", reason="too_large") from None
    except asyncio.IncompleteReadError:
        raise _bad("connection closed inside the header") from None
    if len(block) - 2 > limits.max_header_bytes:
        raise HTTPError(431, "too many or too large header fields", reason="too_large")
    return block[:-2]


def _field_error(block: bytes) -> HTTPError:
    """The first thing wrong in a header block that did not match :data:`_FIELDS`."""

    for raw in block.split(b"\n"):
        if not raw.endswith(b"\r"):
            return _bad("lines must end with CRLF")
        raw = raw[:-1]
        if raw[:1] in (b" ", b"\t"):
            return _bad("obsolete line folding is not accepted")
        name, sep, value = raw.partition(b":")
        if not sep or not _TOKEN.match(name):
            return _bad("malformed header field")
        if not _VALUE.match(value):
            return _bad("control characters in a header value")
    return _bad("malformed header field")  # pragma: no cover - _FIELDS and the loop agree


def _parse_fields(block: bytes, limits: Limits) -> dict[str, str]:
    """Header fields from their block: checked whole with one expression, then split."""

    headers: dict[str, str] = {}
    if not block:
        return headers
    if block.count(b"\n") > limits.max_headers:
        raise HTTPError(431, "too many or too large header fields", reason="too_large")
    if not _FIELDS.match(block):
        raise _field_error(block[:-1])
    for raw in block[:-2].split(b"\r\n"):
        name, _, value = raw.partition(b":")
        key = name.decode("ascii").lower()
        text = value.strip(b" \t").decode("latin-1")
        if key in headers:
            if key in _SINGLE or (key in _SAME and headers[key] != text):
                raise _bad(f"more than one {key} header")
            if key not in _SAME:
                headers[key] = headers[key] + ", " + text
        else:
            headers[key] = text
    return headers


async def _read_head(reader: asyncio.StreamReader, limits: Limits) -> Request:
    line = await _line(reader, limits.max_request_line, "request line")
    parts = line.split(b" ")
    if len(parts) != 3:
        raise _bad("malformed request line")
    method, target, version = parts
    if not _TOKEN.match(method):
        raise _bad("malformed method")
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        # 400, not 505: bad input is always a 4xx here
        raise _bad("only HTTP/1.0 and HTTP/1.1 are served", "http_version")
    if not _TARGET.match(target):
        raise _bad("the request target must be an absolute path without control characters")
    headers = _parse_fields(await _field_block(reader, limits), limits)
    if version == b"HTTP/1.1" and "host" not in headers:
        raise _bad("HTTP/1.1 requests need a Host header")
    return Request(method.decode("ascii"), target.decode("ascii"), version.decode("ascii"),
                   headers)


def _body_length(request: Request, limits: Limits) -> int:
    coding = request.headers.get("transfer-encoding")
    if coding is not None:
        if "content-length" in request.headers:
            raise _bad("both Transfer-Encoding and Content-Length")
        if coding.rsplit(",", 1)[-1].strip().lower() == "chunked":
            raise HTTPError(411, "send a Content-Length (no chunked bodies)",
                            reason="length_required")
        raise HTTPError(501, f"transfer coding {coding[:40]!r} is not implemented",
                        reason="not_implemented")
    length_text = request.headers.get("content-length")
    if length_text is None:
        return 0  # no Content-Length and no Transfer-Encoding: no body (RFC 9112 §6.3)
    if not length_text.isdigit() or len(length_text) > 12:
        raise _bad("malformed Content-Length")
    length = int(length_text)
    if length > limits.max_body:
        raise HTTPError(413, f"bodies are limited to {limits.max_body} bytes",
                        reason="payload_too_large")
    return length


_CHUNK = 64 * 1024


async def _read_body(reader: asyncio.StreamReader, length: int, budget: BodyBudget | None,
                     source: str) -> bytes:
    """``length`` bytes, charged to ``budget`` as they arrive (all released on an error)."""

    if budget is None:
        return await reader.readexactly(length)
    if length <= _CHUNK:  # the usual case: charge it whole, read it at once
        budget.charge(source, length)
        try:
            return await reader.readexactly(length)
        except BaseException:
            budget.release(source, length)
            raise
    budget.check(source, length)  # refuse early what cannot fit now
    chunks: list[bytes] = []
    got = 0
    try:
        while got < length:
            chunk = await reader.read(min(_CHUNK, length - got))
            if not chunk:
                raise asyncio.IncompleteReadError(b"", length - got)
            budget.charge(source, len(chunk))
            got += len(chunk)
            chunks.append(chunk)
    except BaseException:
        budget.release(source, got)
        raise
    return b"".join(chunks)


async def read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limits: Limits, *,
    first: bool, budget: BodyBudget | None = None, source: str = "",
    head_timeout: float | None = None,
) -> Request | None:
    """The next request with its body, or None when the client closed the connection (or
    stayed idle past ``idle_timeout``) between requests.

    With a ``budget``, the body is charged to it for ``source`` as it arrives (429/503 with
    ``Retry-After`` when it does not fit); the caller releases ``len(request.body)`` once the
    request is answered. ``head_timeout`` overrides the head (first) or idle timeout.
    """

    timeout = limits.head_timeout if first else limits.idle_timeout
    if head_timeout is not None:
        timeout = head_timeout
    try:
        async with asyncio.timeout(timeout):
            request = await _read_head(reader, limits)
    except EOFError:
        return None
    except TimeoutError:
        if first:
            raise HTTPError(408, "the request head took too long", reason="timeout") from None
        return None
    length = _body_length(request, limits)
    if not length:
        return request
    if budget is not None:
        budget.check(source, length)  # before 100 Continue: do not invite what cannot fit
    if request.headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    try:
        async with asyncio.timeout(limits.body_timeout):
            request.body = await _read_body(reader, length, budget, source)
    except TimeoutError:
        raise HTTPError(408, "the request body took too long", reason="timeout") from None
    except asyncio.IncompleteReadError:
        raise _bad("connection closed inside the body") from None
    return request
