"""Rendering an answer: status line, the common headers, a JSON body."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import orjson

from censorscope.serve.errors import REASONS

__all__ = ["Response", "json_response", "render_response"]


@dataclass(frozen=True)
class Response:
    """What a handler answers: a status, the body bytes and extra headers."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"


def json_response(status: int, payload: Any, *,
                  headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """``payload`` serialised with orjson (an ``orjson.Fragment`` is sent as it is)."""

    return Response(status, orjson.dumps(payload), headers)


_date_second = -1
_date_text = ""


def _http_date() -> str:
    """The ``Date`` header value, formatted once per second."""

    global _date_second, _date_text
    now = int(time.time())
    if now != _date_second:
        _date_second, _date_text = now, formatdate(now, usegmt=True)
    return _date_text


def render_response(status: int, body: bytes, *, keep_alive: bool, server: str,
                    headers: tuple[tuple[str, str], ...] = (),
                    content_type: str = "application/json") -> bytes:
    """A complete response with ``Content-Length`` and ``Connection``."""

    extra = "".join(f"{name}: {value}\r\n" for name, value in headers)
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}\r\n"
        f"Server: {server}\r\n"
        f"Date: {_http_date()}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"{extra}"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("latin-1") + body
