"""Caps against hostile clients: request bytes held per source and in total (429/503 with
``Retry-After``, early), connections per source (429), timeouts that shrink near the cap."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from censorscope.serve import BodyBudget, HTTPError, HTTPServer, Limits, Request, Response
from tests.serve.test_server import _answers, _handler


async def _send(port: int, data: bytes, *, source: str = "127.0.0.1", hold: float = 0.0,
                tail: bytes = b"") -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        writer.write(data)
        await writer.drain()
        if hold:
            await asyncio.sleep(hold)
        if tail:
            writer.write(tail)
        async with asyncio.timeout(10):
            return await reader.read(-1)
    except ConnectionResetError:
        return b""
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def _post(length: int, body: bytes = b"") -> bytes:
    return (f"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: {length}\r\n"
            "Connection: close\r\n\r\n".encode() + body)


def test_budget_accounts_and_refuses() -> None:
    budget = BodyBudget(total=100, per_source=60, retry_after=7)
    budget.charge("a", 50)
    with pytest.raises(HTTPError) as per_source:
        budget.charge("a", 11)
    assert per_source.value.status == 429
    assert ("Retry-After", "7") in per_source.value.headers
    budget.charge("b", 45)
    with pytest.raises(HTTPError) as total:
        budget.check("c", 6)
    assert total.value.status == 503 and ("Retry-After", "7") in total.value.headers
    budget.release("a", 50)
    budget.release("b", 45)
    assert budget.held == 0 and budget.source_held("a") == 0 and budget.peak == 95


def test_timeouts_shrink_near_the_connection_cap() -> None:
    limits = Limits(max_connections=100, pressure=0.5, min_timeout=1.0)
    assert limits.shrink(10.0, 10) == 10.0
    assert limits.shrink(10.0, 50) == 10.0
    assert limits.shrink(10.0, 75) == pytest.approx(5.5)
    assert limits.shrink(10.0, 100) == pytest.approx(1.0)
    assert limits.shrink(0.5, 100) == 0.5  # never longer than asked


def test_bodies_over_the_source_or_server_budget_are_refused_early() -> None:
    limits = Limits(max_body=1 << 20, max_buffered=300_000, max_buffered_per_source=200_000,
                    retry_after=3, linger_timeout=0.5)

    async def main() -> tuple[bytes, bytes, bytes, bytes, int]:
        server = HTTPServer(_handler, server_name="t/1", limits=limits)
        _host, port = await server.start("127.0.0.1", 0)
        try:
            # declared length beyond the source's share: refused before any body byte
            early = await _send(port, _post(250_000))
            # two bodies of 150 kB from one source: the second passes the source's share as
            # its bytes arrive
            first = asyncio.create_task(_send(port, _post(150_000, b"a" * 140_000), hold=1.0,
                                              tail=b"a" * 10_000))
            await asyncio.sleep(0.3)
            second = await _send(port, _post(150_000, b"b" * 150_000))
            # another source: its own share, but the server's total (300 kB) is near
            other = await _send(port, _post(200_000, b"c" * 200_000), source="127.0.0.2")
            held = server.budget.held
            return early, second, other, await first, held
        finally:
            await server.close()

    early, second, other, first, held = asyncio.run(main())
    [(status, headers, body)] = _answers(early)
    assert status == 429 and headers["retry-after"] == "3" and headers["connection"] == "close"
    assert body == {"error": {"code": 429, "message": "too many request bytes in flight from "
                              "your address; retry later"}}
    assert _answers(second)[0][0] == 429
    [(status, headers, _body)] = _answers(other)
    assert status == 503 and headers["retry-after"] == "3"
    assert _answers(first)[0][0] == 200
    assert held == 140_000  # only the stalled first body is held


def test_connections_per_source() -> None:
    limits = Limits(max_connections_per_source=2, head_timeout=5)

    async def main() -> tuple[bytes, bytes, int]:
        server = HTTPServer(_handler, server_name="t/1", limits=limits)
        _host, port = await server.start("127.0.0.1", 0)
        idle = [await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.1", 0))
                for _ in range(2)]
        try:
            await asyncio.sleep(0.2)
            from_same = server.connections_from("127.0.0.1")
            refused = await _send(port, b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n")
            other = await _send(port, b"GET /a HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                                source="127.0.0.2")
            return refused, other, from_same
        finally:
            for _reader, writer in idle:
                writer.close()
            await server.close()

    refused, other, from_same = asyncio.run(main())
    assert from_same == 2
    [(status, headers, body)] = _answers(refused)
    assert status == 429 and headers["retry-after"] == "5"
    assert body == {"error": {"code": 429, "message": "too many connections from your address; "
                              "retry later"}}
    assert _answers(other)[0][0] == 200


def test_budget_released_after_each_request_and_on_handler_errors() -> None:
    async def handler(request: Request) -> Response:
        if request.path == "/boom":
            raise RuntimeError("bug")
        return await _handler(request)

    async def main() -> int:
        server = HTTPServer(handler, server_name="t/1", limits=Limits())
        _host, port = await server.start("127.0.0.1", 0)
        try:
            body = b"z" * 100_000
            raw = await _send(port, f"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: "
                              f"{len(body)}\r\n\r\n".encode() + body +
                              f"POST /boom HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n"
                              "Connection: close\r\n\r\n".encode() + body)
            assert [a[0] for a in _answers(raw)] == [200, 500]
            return server.budget.held
        finally:
            await server.close()

    assert asyncio.run(main()) == 0
