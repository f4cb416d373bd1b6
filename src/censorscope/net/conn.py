"""TCP connections over raw non-blocking sockets, where every read and write is observable.

``TCPConn`` calls its ``observers`` after each socket read, write and on close, so the
recording layer can turn them into network events without the network layer recording
anything itself. Reads and writes honour an optional deadline (``set_deadline``), and a
missed deadline is a ``NetError`` with ``generic_timeout_error``, observed like any error.
"""

# The API takes explicit per-operation timeouts (classified as generic_timeout_error).

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from typing import Protocol

from censorscope.model import failures as F
from censorscope.model.endpoint import join_host_port
from censorscope.net.errors import NetError, classify_error

__all__ = ["ConnObserver", "TCPConn", "connect_tcp"]


class ConnObserver(Protocol):
    """Receives every I/O on a connection. Times are ``time.monotonic()`` values."""

    def on_read(self, num_bytes: int, failure: str | None, t0: float, t: float) -> None: ...

    def on_write(self, num_bytes: int, failure: str | None, t0: float, t: float) -> None: ...

    def on_close(self, t: float) -> None: ...


class TCPConn:
    """A connected TCP socket. ``read`` returns ``b""`` at EOF (observed as ``eof_error``)."""

    def __init__(self, sock: socket.socket, ip: str, port: int) -> None:
        self._sock = sock
        self.ip: str = ip
        self.port: int = port
        self.address: str = join_host_port(ip, port)
        self.observers: list[ConnObserver] = []
        self._deadline: float | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def set_deadline(self, deadline: float | None) -> None:
        """Make later reads/writes fail with ``generic_timeout_error`` after ``deadline``
        (a ``time.monotonic()`` value); ``None`` removes the deadline."""

        self._deadline = deadline

    def _remaining(self) -> float | None:
        if self._deadline is None:
            return None
        return self._deadline - time.monotonic()

    async def read(self, max_bytes: int = 65536) -> bytes:
        """Read at most ``max_bytes`` (one ``recv``); ``b""`` on EOF."""

        loop = asyncio.get_running_loop()
        t0 = time.monotonic()
        try:
            if self._closed:
                raise NetError(F.CONNECTION_ALREADY_CLOSED, F.READ)
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                raise TimeoutError()
            async with asyncio.timeout(remaining):
                data = await loop.sock_recv(self._sock, max_bytes)
        except asyncio.CancelledError:
            self._notify_read(0, F.INTERRUPTED, t0)
            raise
        except Exception as exc:
            err = classify_error(exc, F.READ)
            self._notify_read(0, err.failure, t0)
            raise err from exc
        self._notify_read(len(data), None if data else F.EOF_ERROR, t0)
        return data

    async def write(self, data: bytes) -> None:
        """Write all of ``data``."""

        loop = asyncio.get_running_loop()
        t0 = time.monotonic()
        try:
            if self._closed:
                raise NetError(F.CONNECTION_ALREADY_CLOSED, F.WRITE)
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                raise TimeoutError()
            async with asyncio.timeout(remaining):
                await loop.sock_sendall(self._sock, data)
        except asyncio.CancelledError:
            self._notify_write(0, F.INTERRUPTED, t0)
            raise
        except Exception as exc:
            err = classify_error(exc, F.WRITE)
            self._notify_write(0, err.failure, t0)
            raise err from exc
        self._notify_write(len(data), None, t0)

    def close(self) -> None:
        """Close the socket (idempotent; observers hear about the first close only)."""

        if self._closed:
            return
        self._closed = True
        self._sock.close()
        t = time.monotonic()
        for observer in list(self.observers):
            observer.on_close(t)

    def _notify_read(self, num_bytes: int, failure: str | None, t0: float) -> None:
        t = time.monotonic()
        for observer in list(self.observers):
            observer.on_read(num_bytes, failure, t0, t)

    def _notify_write(self, num_bytes: int, failure: str | None, t0: float) -> None:
        t = time.monotonic()
        for observer in list(self.observers):
            observer.on_write(num_bytes, failure, t0, t)


async def connect_tcp(ip: str, port: int, *, timeout: float) -> TCPConn:
    """Connect to ``ip``:``port`` (an IP literal, no resolution); ``NetError`` op ``connect``."""

    try:
        family = socket.AF_INET6 if ipaddress.ip_address(ip).version == 6 else socket.AF_INET
    except ValueError as exc:
        raise NetError(F.UNKNOWN_FAILURE_PREFIX + "not an IP address", F.CONNECT, exc) from exc
    loop = asyncio.get_running_loop()
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, (ip, port))
    except BaseException as exc:
        sock.close()
        if not isinstance(exc, Exception):
            raise
        raise classify_error(exc, F.CONNECT) from exc
    return TCPConn(sock, ip, port)
