"""Listening sockets for the service programs: bind, accept/receive in threads, reconcile.

Each TCP connection is served by its own thread (slow clients never block others); each UDP
datagram is handled on a small thread pool. A ``ListenerSet`` keeps sockets open across
config reloads: a reload only swaps the handler of a socket that is still wanted, opens the
new ones and closes the ones no longer wanted.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

__all__ = ["ConnHandler", "DatagramHandler", "ListenerSet", "bind_tcp", "bind_udp"]

ConnHandler = Callable[[socket.socket, tuple[str, int]], None]
DatagramHandler = Callable[[bytes, tuple[str, int], socket.socket], None]

_IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)


def _socket(ip: str, kind: socket.SocketKind) -> socket.socket:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Lets a service start before the lab has finished assigning its addresses.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_IP, _IP_FREEBIND, 1)
    return sock


def bind_tcp(ip: str, port: int) -> socket.socket:
    """A listening TCP socket on ``ip``:``port``."""
    sock = _socket(ip, socket.SOCK_STREAM)
    try:
        sock.bind((ip, port))
        sock.listen(512)
    except OSError:
        sock.close()
        raise
    return sock


def bind_udp(ip: str, port: int) -> socket.socket:
    """A bound UDP socket on ``ip``:``port``."""
    sock = _socket(ip, socket.SOCK_DGRAM)
    try:
        sock.bind((ip, port))
    except OSError:
        sock.close()
        raise
    return sock


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class _TCPListener:
    def __init__(self, ip: str, port: int, handler: ConnHandler) -> None:
        self.sock = bind_tcp(ip, port)
        self.handler = handler
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=f"tcp-{ip}:{port}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._closed:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                if self._closed:
                    return
                continue
            if self._closed:
                conn.close()
                return
            worker = threading.Thread(
                target=self._serve, args=(conn, addr, self.handler), daemon=True
            )
            worker.start()

    @staticmethod
    def _serve(conn: socket.socket, addr: tuple[str, int], handler: ConnHandler) -> None:
        try:
            handler(conn, addr)
        except OSError:
            pass
        except Exception as exc:  # a bug must not kill the listener
            _log(f"handler error from {addr}: {exc!r}")
        finally:
            conn.close()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=1)
        self.sock.close()


class _UDPListener:
    def __init__(self, ip: str, port: int, handler: DatagramHandler, pool: ThreadPoolExecutor):
        self.sock = bind_udp(ip, port)
        self.handler = handler
        self._pool = pool
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=f"udp-{ip}:{port}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._closed:
            try:
                data, addr = self.sock.recvfrom(65535)
            except OSError:
                if self._closed:
                    return
                continue
            if self._closed:
                return
            try:
                self._pool.submit(self._serve, data, addr, self.handler)
            except RuntimeError:  # pool shut down: the program is exiting
                return

    def _serve(self, data: bytes, addr: tuple[str, int], handler: DatagramHandler) -> None:
        try:
            handler(data, addr, self.sock)
        except OSError:
            pass
        except Exception as exc:
            _log(f"datagram handler error from {addr}: {exc!r}")

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=1)
        self.sock.close()


Key = tuple[str, str, int]  # (proto "tcp"|"udp", ip, port)


class ListenerSet:
    """The sockets a program listens on, reconciled against the wanted set on each reload."""

    def __init__(self) -> None:
        self._tcp: dict[Key, _TCPListener] = {}
        self._udp: dict[Key, _UDPListener] = {}
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="udp-work")

    def reconcile(
        self, tcp: dict[tuple[str, int], ConnHandler], udp: dict[tuple[str, int], DatagramHandler]
    ) -> None:
        """Listen exactly on ``tcp``/``udp`` (address → handler); keep sockets still wanted."""
        want_tcp = {("tcp", ip, port): h for (ip, port), h in tcp.items()}
        want_udp = {("udp", ip, port): h for (ip, port), h in udp.items()}
        opened_tcp: dict[Key, _TCPListener] = {}
        opened_udp: dict[Key, _UDPListener] = {}
        try:  # open what is new first, so a failed bind leaves the old set intact
            for key, handler in want_tcp.items():
                if key not in self._tcp:
                    opened_tcp[key] = _TCPListener(key[1], key[2], handler)
            for key, uhandler in want_udp.items():
                if key not in self._udp:
                    opened_udp[key] = _UDPListener(key[1], key[2], uhandler, self._pool)
        except OSError:
            for tl in opened_tcp.values():
                tl.close()
            for ul in opened_udp.values():
                ul.close()
            raise
        for key in [k for k in self._tcp if k not in want_tcp]:
            self._tcp.pop(key).close()
        for key in [k for k in self._udp if k not in want_udp]:
            self._udp.pop(key).close()
        self._tcp.update(opened_tcp)
        self._udp.update(opened_udp)
        for key, handler in want_tcp.items():
            self._tcp[key].handler = handler
        for key, uhandler in want_udp.items():
            self._udp[key].handler = uhandler

    def close(self) -> None:
        for tl in self._tcp.values():
            tl.close()
        for ul in self._udp.values():
            ul.close()
        self._tcp.clear()
        self._udp.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
