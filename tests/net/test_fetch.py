"""Redirect-following fetches over loopback (censorscope.net.fetch)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable

from loopback import HOST, PKI, TCPServer, read_request, server_context, tls_handler

from censorscope.model import failures as F
from censorscope.net.fetch import FetchResult, fetch


def _router(routes: dict[str, bytes], seen: list[bytes]) -> Callable[..., None]:
    def handle(sock: socket.socket, stop: threading.Event) -> None:
        request = read_request(sock)
        seen.append(request)
        path = request.split(b" ", 2)[1].decode()
        sock.sendall(routes.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
        sock.close()

    return handle


async def _resolve_local(host: str) -> list[str]:
    return [HOST]


def _fetch(url: str, **kw: object) -> FetchResult:
    args: dict[str, object] = {
        "resolve": _resolve_local, "tls_ca_file": None, "headers": [], "timeout": 2
    }
    args.update(kw)
    return asyncio.run(fetch(url, **args))  # type: ignore[arg-type]


def test_follows_redirects_with_cookies() -> None:
    seen: list[bytes] = []
    routes = {
        "/a": b"HTTP/1.1 302 Found\r\nLocation: /b\r\nSet-Cookie: sid=42; Path=/\r\n"
              b"Content-Length: 0\r\n\r\n",
        "/b": b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone",
    }
    with TCPServer(_router(routes, seen)) as server:
        url = f"http://site.example:{server.port}/a"
        result = _fetch(url, headers=[("Accept", "*/*")])
    assert result.failure is None and result.response is not None
    assert result.response.body == b"done"
    assert result.chain == [url, url.replace("/a", "/b")]
    assert b"Cookie: sid=42" in seen[1] and b"Cookie" not in seen[0]


def test_too_many_redirects() -> None:
    seen: list[bytes] = []
    loop = b"HTTP/1.1 301 Moved\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n"
    with TCPServer(_router({"/loop": loop}, seen)) as server:
        result = _fetch(f"http://site.example:{server.port}/loop", max_redirects=3)
    assert result.failure == F.TOO_MANY_REDIRECTS
    assert len(result.chain) == 4 and len(seen) == 4


def test_redirect_without_host_is_invalid() -> None:
    seen: list[bytes] = []
    bad = b"HTTP/1.1 302 Found\r\nLocation: http:///nohost\r\nContent-Length: 0\r\n\r\n"
    with TCPServer(_router({"/": bad}, seen)) as server:
        result = _fetch(f"http://site.example:{server.port}/")
    assert result.failure == F.HTTP_INVALID_REDIRECT_LOCATION_HOST


def test_refused_addresses_are_never_dialled() -> None:
    seen: list[bytes] = []
    with TCPServer(_router({}, seen)) as server:
        result = _fetch(f"http://site.example:{server.port}/", refuse_ip=lambda ip: True)
        assert server.accepted == 0
    assert result.failure == "unknown_failure: refused address"
    assert result.response is None


def test_tries_addresses_in_order_until_one_connects() -> None:
    seen: list[bytes] = []
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    async def two(host: str) -> list[str]:
        return ["127.0.0.3", HOST]  # nothing listens on 127.0.0.3: refused, then next

    with TCPServer(_router({"/": ok}, seen)) as server:
        result = _fetch(f"http://site.example:{server.port}/", resolve=two)
    assert result.failure is None and result.response is not None
    assert result.response.body == b"ok"


def test_connect_failure_is_reported_with_operation() -> None:
    closed = socket.socket()
    closed.bind((HOST, 0))
    port = closed.getsockname()[1]
    closed.close()
    result = _fetch(f"http://site.example:{port}/")
    assert (result.failure, result.operation) == (F.CONNECTION_REFUSED, F.CONNECT)


def test_https_fetch_uses_the_given_ca(pki: PKI) -> None:
    def answer(tls: object) -> None:
        import ssl

        assert isinstance(tls, ssl.SSLSocket)
        read_request(tls)
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure")

    ctx = server_context(pki.good, ["h2", "http/1.1"])
    with TCPServer(tls_handler(ctx, answer)) as server:
        url = f"https://test.example:{server.port}/"
        good = _fetch(url, tls_ca_file=pki.ca_file)
        bad = _fetch(url)
    assert good.failure is None and good.response is not None
    assert good.response.body == b"secure"
    assert (bad.failure, bad.operation) == (F.SSL_UNKNOWN_AUTHORITY, F.TLS_HANDSHAKE)
