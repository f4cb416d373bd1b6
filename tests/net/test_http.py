"""HTTP/1.1 round trips over loopback connections (censorscope.net.http)."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
from loopback import HOST, PKI, TCPServer, http_handler, read_request, server_context, tls_handler

from censorscope.model import failures as F
from censorscope.net.conn import connect_tcp
from censorscope.net.errors import NetError
from censorscope.net.http import HTTPRequestSpec, HTTPResponseData, http_round_trip
from censorscope.net.tls import TLSConfig, tls_handshake


async def _get(port: int, max_body: int = 524288, url: str = "") -> HTTPResponseData:
    conn = await connect_tcp(HOST, port, timeout=2)
    try:
        request = HTTPRequestSpec("GET", url or f"http://test.example:{port}/p?q=1",
                                  [("User-Agent", "censorscope-test")])
        return await http_round_trip(conn, request, timeout=2, max_body=max_body)
    finally:
        conn.close()


def _serve(response: bytes, max_body: int = 524288) -> tuple[HTTPResponseData, bytes]:
    seen: list[bytes] = []
    with TCPServer(http_handler(response, seen)) as server:
        result = asyncio.run(_get(server.port, max_body))
        return result, seen[0]


def test_content_length_body_and_request_line() -> None:
    response, request = _serve(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhelloEXTRA"
    )
    assert (response.status, response.reason, response.body) == (200, "OK", b"hello")
    assert response.headers == [("Content-Length", "5"), ("X-A", "1"), ("x-a", "2")]
    assert not response.body_truncated
    lines = request.split(b"\r\n")
    assert lines[0] == b"GET /p?q=1 HTTP/1.1"
    assert b"Connection: close" in lines and b"User-Agent: censorscope-test" in lines
    assert any(line.startswith(b"Host: test.example:") for line in lines)


def test_chunked_body() -> None:
    response, _ = _serve(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\n\r\n"
    )
    assert response.body == b"Wikipedia in \r\n\r\nchunks."
    assert not response.body_truncated


def test_close_delimited_body() -> None:
    response, _ = _serve(b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\n" + b"z" * 100000)
    assert response.body == b"z" * 100000 and not response.body_truncated


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"a" * 100,
        b"HTTP/1.1 200 OK\r\n\r\n" + b"a" * 100,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n"
        + b"a" * 100
        + b"\r\n0\r\n\r\n",
    ],
)
def test_body_cap_truncates(raw: bytes) -> None:
    response, _ = _serve(raw, max_body=10)
    assert response.body == b"a" * 10 and response.body_truncated


def test_body_exactly_at_cap_is_not_truncated() -> None:
    response, _ = _serve(b"HTTP/1.1 200 OK\r\n\r\n" + b"a" * 10, max_body=10)
    assert response.body == b"a" * 10 and not response.body_truncated


def test_eof_before_status_line_is_eof_error() -> None:
    with pytest.raises(NetError) as info:
        _serve(b"HTTP/1.1 20")
    assert (info.value.failure, info.value.operation) == (F.EOF_ERROR, F.HTTP_ROUND_TRIP)


def test_short_body_is_eof_error_with_partial_response() -> None:
    with pytest.raises(NetError) as info:
        _serve(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nonly this")
    assert info.value.failure == F.EOF_ERROR
    partial = info.value.response
    assert isinstance(partial, HTTPResponseData)
    assert (partial.status, partial.body) == (200, b"only this")


def test_reset_mid_response_is_connection_reset() -> None:
    def rst(sock: socket.socket, stop: threading.Event) -> None:
        from loopback import reset

        read_request(sock)
        reset(sock)

    with TCPServer(rst) as server, pytest.raises(NetError) as info:
        asyncio.run(_get(server.port))
    assert (info.value.failure, info.value.operation) == (F.CONNECTION_RESET, F.HTTP_ROUND_TRIP)


def test_no_response_is_generic_timeout() -> None:
    def silent(sock: socket.socket, stop: threading.Event) -> None:
        read_request(sock)
        stop.wait(5)

    async def main(port: int) -> None:
        conn = await connect_tcp(HOST, port, timeout=2)
        try:
            await http_round_trip(conn, HTTPRequestSpec("GET", "http://x/", []), timeout=0.3)
        finally:
            conn.close()

    with TCPServer(silent) as server, pytest.raises(NetError) as info:
        asyncio.run(main(server.port))
    assert (info.value.failure, info.value.operation) == (
        F.GENERIC_TIMEOUT_ERROR,
        F.HTTP_ROUND_TRIP,
    )


def test_https_round_trip_and_h2_refusal(pki: PKI) -> None:
    def answer(tls: object) -> None:
        import ssl

        assert isinstance(tls, ssl.SSLSocket)
        read_request(tls)
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    async def main(port: int, alpn: list[str]) -> HTTPResponseData:
        conn = await connect_tcp(HOST, port, timeout=2)
        try:
            tls = await tls_handshake(
                conn, TLSConfig("test.example", alpn=alpn, ca_file=pki.ca_file), timeout=2
            )
            request = HTTPRequestSpec("GET", "https://test.example/", [])
            return await http_round_trip(tls, request, timeout=2)
        finally:
            conn.close()

    ctx = server_context(pki.good, ["h2", "http/1.1"])
    with TCPServer(tls_handler(ctx, answer)) as server:
        assert asyncio.run(main(server.port, ["http/1.1"])).body == b"ok"
        with pytest.raises(NetError) as info:
            asyncio.run(main(server.port, ["h2", "http/1.1"]))
    assert info.value.failure == "unknown_failure: HTTP/2 is not supported"
