"""Call a test helper (ours or OONI's): POST a THRequest, get the THResponse back.

Transport failures (DNS, connect, TLS, timeout, reset …) raise ``NetError`` with the OONI
failure string, like every other I/O in censorscope. A helper that answers but not with
HTTP 200 and a JSON object raises ``ControlError`` (a ``ValueError``).

Why this lives in ``net`` and not in ``control``: it is the *probe's* side of the control
protocol, and it is pure I/O built on ``net``'s own TCP, TLS and HTTP (errors classified
here, once, like every other ``net`` call). The experiments that need a control (Web
Connectivity) may import ``net``, but must not import ``control`` — that package is
the server, which runs outside the censor and is deployed on its own. There is one
implementation, so it sits in the layer both sides may import (``net`` ← ``trace`` ←
``experiments`` ← ``probe``; ``control`` ← ``net``) rather than being injected into every
measurer. ``censorscope.control.client`` re-exports it.
"""

# The API takes an explicit overall timeout (classified as generic_timeout_error).

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import orjson

from censorscope.model import failures as F
from censorscope.net.conn import TCPConn, connect_tcp
from censorscope.net.dns import resolve_getaddrinfo
from censorscope.net.errors import NetError
from censorscope.net.http import HTTPRequestSpec, http_round_trip
from censorscope.net.tls import TLSConfig, TLSConn, tls_handshake

MAX_RESPONSE = 16 * 1024 * 1024


class ControlError(ValueError):
    """The control answered, but not with 200 + a JSON object. ``status`` is the HTTP status
    (``None`` when the body was the problem)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise NetError(F.GENERIC_TIMEOUT_ERROR, F.TOP_LEVEL)
    return left


async def call_control(
    url: str,
    request: dict[str, Any],
    *,
    timeout: float,
    ca_file: str | None,
    connect_ip: str | None = None,
    user_agent: str,
) -> dict[str, Any]:
    """POST ``request`` as JSON to the control at ``url`` and return the decoded response.

    ``connect_ip`` skips resolving the control's host (the name is still used for SNI and
    ``Host``). ``timeout`` bounds the whole exchange. ``ca_file`` replaces the system trust
    store for an https control.
    """

    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise ControlError(f"control URL must be http(s)://host[:port]/…, got {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    ips = (
        [connect_ip]
        if connect_ip is not None
        else (await resolve_getaddrinfo(host, timeout=_remaining(deadline))).addresses
    )
    tcp: TCPConn | None = None
    last: NetError | None = None
    for ip in ips:
        try:
            tcp = await connect_tcp(ip, port, timeout=_remaining(deadline))
            break
        except NetError as err:
            last = err
    if tcp is None:
        raise last or NetError(F.DNS_NO_ANSWER, F.RESOLVE)
    conn: TCPConn | TLSConn = tcp
    try:
        if parts.scheme == "https":
            config = TLSConfig(server_name=host, alpn=["http/1.1"], ca_file=ca_file)
            conn = await tls_handshake(tcp, config, timeout=_remaining(deadline))
        spec = HTTPRequestSpec(
            "POST",
            url,
            [
                ("User-Agent", user_agent),
                ("Content-Type", "application/json"),
                ("Accept", "application/json"),
            ],
            orjson.dumps(request),
        )
        response = await http_round_trip(
            conn, spec, timeout=_remaining(deadline), max_body=MAX_RESPONSE
        )
    finally:
        conn.close()
    if response.status != 200:
        detail = response.body[:300].decode("utf-8", errors="replace")
        try:
            decoded = orjson.loads(response.body)
            error = decoded.get("error") if isinstance(decoded, dict) else None
            if isinstance(error, dict):  # censorscope: {"error": {"code", "message"}}
                error = error.get("message")
            if isinstance(error, str):
                detail = error
        except orjson.JSONDecodeError:
            pass
        raise ControlError(f"control answered HTTP {response.status}: {detail}", response.status)
    if response.body_truncated:
        raise ControlError(f"control response larger than {MAX_RESPONSE} bytes", 200)
    try:
        decoded = orjson.loads(response.body)
    except orjson.JSONDecodeError as exc:
        raise ControlError(f"control response is not JSON: {exc}", 200) from exc
    if not isinstance(decoded, dict):
        raise ControlError("control response is not a JSON object", 200)
    return decoded
