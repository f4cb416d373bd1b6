"""``read_request`` on in-memory streams: the accepted shapes, the exact refusal of each
malformed field, and the caps at their boundary."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from censorscope.serve import HTTPError, Limits, Request, error_body, read_request, render_response


class _Writer:
    """Collects what ``read_request`` writes (``100 Continue``)."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data


def _read(data: bytes, limits: Limits | None = None, *, eof: bool = True,
          first: bool = True) -> tuple[Request | None, bytes]:
    limits = limits or Limits()

    async def main() -> tuple[Request | None, bytes]:
        reader = asyncio.StreamReader(limit=limits.stream_limit)
        reader.feed_data(data)
        if eof:
            reader.feed_eof()
        writer = _Writer()
        request = await read_request(reader, writer, limits, first=first)  # type: ignore[arg-type]
        return request, writer.data

    return asyncio.run(main())


def _refusal(data: bytes, limits: Limits | None = None, *, eof: bool = True) -> tuple[int, str]:
    with pytest.raises(HTTPError) as info:
        _read(data, limits, eof=eof)
    return info.value.status, info.value.message


def test_a_request_with_fields_and_body() -> None:
    request, written = _read(
        b"POST /a/b?x=1 HTTP/1.1\r\nHost: t\r\nX-Many: 1\r\nx-many: 2\r\n"
        b"Content-Type: application/json\r\ncontent-type: application/json\r\n"
        b"User-Agent:   spaced\t \r\nContent-Length: 2\r\n\r\n{}"
    )
    assert request is not None and written == b""
    assert (request.method, request.path, request.query, request.version) == (
        "POST", "/a/b", "x=1", "HTTP/1.1")
    assert request.headers == {"host": "t", "x-many": "1, 2", "content-type": "application/json",
                               "user-agent": "spaced", "content-length": "2"}
    assert request.body == b"{}" and request.keep_alive and request.has_length


def test_no_fields_http10_and_no_body() -> None:
    request, _ = _read(b"GET / HTTP/1.0\r\n\r\n")
    assert request is not None and request.headers == {} and request.body == b""
    assert not request.keep_alive and not request.has_length
    assert _read(b"") == (None, b"")  # closed between requests


def test_expect_continue_is_sent_only_for_an_acceptable_body() -> None:
    head = b"POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    request, written = _read(head + b"{}")
    assert written == b"HTTP/1.1 100 Continue\r\n\r\n" and request is not None
    with pytest.raises(HTTPError) as info:
        _read(head.replace(b"2\r\n", b"20\r\n"), Limits(max_body=10))
    assert info.value.status == 413


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (b"X-A: b\r\n c\r\n", "obsolete line folding is not accepted"),
        (b" X-A: b\r\n", "obsolete line folding is not accepted"),
        (b"X-A: b\nX-B: c\r\n", "lines must end with CRLF"),
        (b"X-A: b\rc\r\n", "control characters in a header value"),
        (b"X-A: b\x00\r\n", "control characters in a header value"),
        (b"X-A: b\x7f\r\n", "control characters in a header value"),
        (b"X A: b\r\n", "malformed header field"),
        (b": b\r\n", "malformed header field"),
        (b"NoColon\r\n", "malformed header field"),
        (b"Host: u\r\n", "more than one host header"),
        (b"Content-Length: 0\r\nContent-Length: 0\r\n", "more than one content-length header"),
        (b"Content-Type: a\r\nContent-Type: b\r\n", "more than one content-type header"),
    ],
)
def test_each_bad_field_is_named(fields: bytes, message: str) -> None:
    assert _refusal(b"GET / HTTP/1.1\r\nHost: t\r\n" + fields + b"\r\n") == (400, message)


def test_caps_at_their_boundary() -> None:
    limits = Limits(max_headers=4, max_header_bytes=200, max_request_line=100)
    fields = b"Host: t\r\n" + b"X-A: b\r\n" * 3
    assert _read(b"GET / HTTP/1.1\r\n" + fields + b"\r\n", limits)[0] is not None
    assert _refusal(b"GET / HTTP/1.1\r\n" + fields + b"X-A: b\r\n\r\n", limits)[0] == 431
    exact = b"Host: t\r\nX: " + b"v" * (200 - 9 - 5) + b"\r\n"
    assert len(exact) == 200
    assert _read(b"GET / HTTP/1.1\r\n" + exact + b"\r\n", limits)[0] is not None
    over = exact.replace(b"v\r\n", b"vv\r\n")
    assert _refusal(b"GET / HTTP/1.1\r\n" + over + b"\r\n", limits)[0] == 431
    line = b"GET /" + b"a" * (98 - 14) + b" HTTP/1.1"  # 98 + CRLF: the cap counts the CRLF
    assert len(line) == 98 and _read(line + b"\r\nHost: t\r\n\r\n", limits)[0] is not None
    assert _refusal(line.replace(b"/a", b"/aa") + b"\r\nHost: t\r\n\r\n", limits)[0] == 414


def test_cut_and_slow_heads() -> None:
    assert _refusal(b"GET / HTTP/1.1\r\nHost: t\r\n") == (
        400, "connection closed inside the header")
    assert _refusal(b"GET / HTTP/1.1\r\nHost: t\r\n", Limits(head_timeout=0.05), eof=False) == (
        408, "the request head took too long")
    # on a kept-alive connection, a client that stays silent is closed quietly
    assert _read(b"", Limits(idle_timeout=0.05), eof=False, first=False) == (None, b"")


def test_envelope_and_rendering() -> None:
    assert orjson.loads(error_body(413, "too big")) == {"error": {"code": 413,
                                                                  "message": "too big"}}
    raw = render_response(405, b"{}", keep_alive=False, server="s/1",
                          headers=(("Allow", "GET"),))
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 405 Method Not Allowed" and body == b"{}"
    assert {b"Server: s/1", b"Content-Type: application/json", b"Content-Length: 2",
            b"Allow: GET", b"Connection: close"} <= set(lines)
