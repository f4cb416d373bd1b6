"""``HTTPServer`` on a loopback socket: handler errors keep the connection, unexpected ones are a
500 in the envelope, the connection cap answers 503, the access log has one JSON line each."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import orjson
import pytest

from censorscope.serve import HTTPError, HTTPServer, Limits, Request, Response, json_response


async def _handler(request: Request) -> Response:
    if request.path == "/boom":
        raise RuntimeError("a bug")
    if request.path == "/refuse":
        raise HTTPError(403, "not you", headers=(("X-Why", "test"),))
    return json_response(200, {"path": request.path, "body": request.body.decode()})


async def _exchange(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        async with asyncio.timeout(10):
            return await reader.read(-1)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def _answers(raw: bytes) -> list[tuple[int, dict[str, str], object]]:
    out = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
        length = int(headers["content-length"])
        out.append((int(lines[0].split()[1]), headers, orjson.loads(rest[:length])))
        raw = rest[length:]
    return out


def test_keep_alive_errors_and_500(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("tests.serve.access")

    async def main() -> bytes:
        server = HTTPServer(_handler, server_name="t/1", limits=Limits(), access_log=log,
                            access_level=logging.INFO, access_extra=lambda: {"extra": 1})
        _host, port = await server.start("127.0.0.1", 0)
        try:
            return await _exchange(
                port,
                b"GET /refuse HTTP/1.1\r\nHost: t\r\n\r\n"
                b"POST /echo HTTP/1.1\r\nHost: t\r\nUser-Agent: ua/1\r\nContent-Length: 2\r\n\r\nhi"
                b"GET /boom HTTP/1.1\r\nHost: t\r\n\r\n"
                b"GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
            )
        finally:
            await server.close()

    with caplog.at_level(logging.INFO, logger="tests.serve.access"):
        raw = asyncio.run(main())
    answers = _answers(raw)
    assert [a[0] for a in answers] == [403, 200, 500, 200]
    assert answers[0][2] == {"error": {"code": 403, "message": "not you"}}
    assert answers[0][1]["x-why"] == "test" and answers[0][1]["connection"] == "keep-alive"
    assert answers[1][2] == {"path": "/echo", "body": "hi"}
    assert answers[2][2] == {"error": {"code": 500, "message": "internal error"}}
    assert answers[3][1]["connection"] == "close"
    lines = [orjson.loads(r.getMessage()) for r in caplog.records if r.name == "tests.serve.access"]
    assert [line["status"] for line in lines] == [403, 200, 500, 200]
    assert lines[1]["ua"] == "ua/1" and lines[1]["bytes_in"] == 2 and lines[1]["extra"] == 1
    assert lines[0]["error"] == "not you" and lines[1]["error"] is None


def test_one_request_per_connection_and_the_connection_cap() -> None:
    async def main() -> tuple[bytes, bytes, bytes]:
        entered, release = asyncio.Event(), asyncio.Event()

        async def handler(request: Request) -> Response:
            if request.path == "/hold":
                entered.set()
                await release.wait()
            return await _handler(request)

        server = HTTPServer(handler, server_name="t/1", limits=Limits(max_connections=1),
                            keep_alive=False)
        _host, port = await server.start("127.0.0.1", 0)
        try:
            one = await _exchange(port, b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
                                        b"GET /b HTTP/1.1\r\nHost: t\r\n\r\n")
            held = asyncio.create_task(
                _exchange(port, b"GET /hold HTTP/1.1\r\nHost: t\r\n\r\n"))
            async with asyncio.timeout(5):
                await entered.wait()  # the only slot is taken
            assert server.active == 1
            busy = await _exchange(port, b"GET /c HTTP/1.1\r\nHost: t\r\n\r\n")
            release.set()
            return one, busy, await held
        finally:
            await server.close()

    one, busy, held = asyncio.run(main())
    assert [a[0] for a in _answers(one)] == [200]  # Connection: close after the first
    [(status, headers, body)] = _answers(busy)
    assert status == 503 and headers["connection"] == "close"
    assert body == {"error": {"code": 503, "message": "too many connections; retry later"}}
    assert _answers(held)[0][0] == 200
