"""TCP connect/read/write over loopback and their classified failures (censorscope.net.conn)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from loopback import HOST, TCPServer, reset

from censorscope.model import failures as F
from censorscope.net.conn import TCPConn, connect_tcp
from censorscope.net.errors import NetError


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, int, str | None]] = []

    def on_read(self, num_bytes: int, failure: str | None, t0: float, t: float) -> None:
        assert t >= t0
        self.events.append(("read", num_bytes, failure))

    def on_write(self, num_bytes: int, failure: str | None, t0: float, t: float) -> None:
        self.events.append(("write", num_bytes, failure))

    def on_close(self, t: float) -> None:
        self.events.append(("close", 0, None))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def test_connect_refused() -> None:
    port = _free_port()
    with pytest.raises(NetError) as info:
        asyncio.run(connect_tcp(HOST, port, timeout=2))
    assert info.value.failure == F.CONNECTION_REFUSED
    assert info.value.operation == F.CONNECT


def test_echo_reads_writes_and_eof_are_observed() -> None:
    def echo(sock: socket.socket, stop: threading.Event) -> None:
        sock.sendall(sock.recv(100).upper())
        sock.close()

    async def main(port: int) -> list[tuple[str, int, str | None]]:
        conn = await connect_tcp(HOST, port, timeout=2)
        rec = Recorder()
        conn.observers.append(rec)
        assert conn.address == f"{HOST}:{port}"
        await conn.write(b"hello")
        assert await conn.read() == b"HELLO"
        assert await conn.read() == b""
        conn.close()
        conn.close()
        return rec.events

    with TCPServer(echo) as server:
        events = asyncio.run(main(server.port))
    assert events == [
        ("write", 5, None),
        ("read", 5, None),
        ("read", 0, F.EOF_ERROR),
        ("close", 0, None),
    ]


def test_reset_by_peer_is_connection_reset() -> None:
    def rst(sock: socket.socket, stop: threading.Event) -> None:
        sock.recv(100)
        reset(sock)

    async def main(port: int) -> tuple[NetError, list[tuple[str, int, str | None]]]:
        conn = await connect_tcp(HOST, port, timeout=2)
        rec = Recorder()
        conn.observers.append(rec)
        try:
            await conn.write(b"x")
            with pytest.raises(NetError) as info:
                await conn.read()
            return info.value, rec.events
        finally:
            conn.close()

    with TCPServer(rst) as server:
        err, events = asyncio.run(main(server.port))
    assert (err.failure, err.operation) == (F.CONNECTION_RESET, F.READ)
    assert events[-2] == ("read", 0, F.CONNECTION_RESET)


def test_read_deadline_is_generic_timeout_and_observed() -> None:
    def silent(sock: socket.socket, stop: threading.Event) -> None:
        stop.wait(5)
        sock.close()

    async def main(port: int) -> tuple[NetError, list[tuple[str, int, str | None]], TCPConn]:
        conn = await connect_tcp(HOST, port, timeout=2)
        rec = Recorder()
        conn.observers.append(rec)
        conn.set_deadline(time.monotonic() + 0.2)
        try:
            with pytest.raises(NetError) as info:
                await conn.read()
            return info.value, rec.events, conn
        finally:
            conn.close()

    with TCPServer(silent) as server:
        err, events, conn = asyncio.run(main(server.port))
    assert (err.failure, err.operation) == (F.GENERIC_TIMEOUT_ERROR, F.READ)
    assert events[0] == ("read", 0, F.GENERIC_TIMEOUT_ERROR)
    assert conn.closed


def test_connect_rejects_names() -> None:
    with pytest.raises(NetError) as info:
        asyncio.run(connect_tcp("localhost", 80, timeout=1))
    assert info.value.operation == F.CONNECT
    assert info.value.failure.startswith(F.UNKNOWN_FAILURE_PREFIX)
