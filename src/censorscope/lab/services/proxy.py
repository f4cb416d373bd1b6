"""The transparent ISP proxy of QA cases 14/15/20: forwards to the real host, TLS untouched.

On ``ProxyConfig.ip``: port ``http_port`` reads the request head, resolves its ``Host`` through
the configured ``resolver`` and relays the connection to the real host's ``upstream_http_port``;
port ``https_port`` reads the TLS ClientHello, resolves its SNI and splices the raw TCP stream to
the real host's ``upstream_https_port`` (so the client gets the real certificate and page).

It runs inside the web server's process (``WebServerConfig.proxies``) or on its own:
``python -m censorscope.lab.services.proxy --config FILE.json`` (``ProxyServerConfig``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import sys
import threading

from dnslib import QTYPE, RCODE, DNSRecord

from censorscope.lab.services._listeners import ConnHandler, ListenerSet
from censorscope.lab.services._runtime import run
from censorscope.lab.services.config import (
    ProxyConfig,
    ProxyServerConfig,
    normalize_name,
    split_hostport,
)

__all__ = ["ProxyServer", "handlers", "main", "parse_sni", "resolve"]

_MAX_HEAD = 64 * 1024
_TIMEOUT = 10.0
_BAD_GATEWAY = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def resolve(name: str, resolver: str, timeout: float = 2.0) -> str | None:
    """The first IPv4 address of ``name`` according to ``resolver`` (``"ip:port"``)."""
    host, port = split_hostport(resolver)
    query = DNSRecord.question(normalize_name(name), "A")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
            sock.send(query.pack())
            while True:
                reply = DNSRecord.parse(sock.recv(65535))
                if reply.header.id == query.header.id:
                    break
        except (OSError, ValueError):
            return None
    if reply.header.rcode != RCODE.NOERROR:
        return None
    for rr in reply.rr:
        if rr.rtype == QTYPE.A:
            return str(rr.rdata)
    return None


def parse_sni(record: bytes) -> str | None:
    """The server_name of a TLS record holding a ClientHello, or None."""
    try:
        if record[0] != 22 or record[5] != 1:
            return None
        pos = 5 + 4 + 2 + 32  # record header, handshake header, version, random
        pos += 1 + record[pos]  # session id
        pos += 2 + struct.unpack_from("!H", record, pos)[0]  # cipher suites
        pos += 1 + record[pos]  # compression methods
        end = pos + 2 + struct.unpack_from("!H", record, pos)[0]
        pos += 2
        while pos + 4 <= end:
            ext_type, ext_len = struct.unpack_from("!HH", record, pos)
            pos += 4
            if ext_type == 0:  # server_name: list length, type, name length, name
                name_len = struct.unpack_from("!H", record, pos + 3)[0]
                return record[pos + 5 : pos + 5 + name_len].decode("ascii")
            pos += ext_len
    except (IndexError, struct.error, UnicodeDecodeError):
        return None
    return None


def _recv_until(sock: socket.socket, done: bytes | None, want: int = 0) -> bytes:
    buf = b""
    while len(buf) < _MAX_HEAD:
        if done is not None and done in buf:
            break
        if done is None and len(buf) >= want:
            break
        chunk = sock.recv(_MAX_HEAD)
        if not chunk:
            break
        buf += chunk
    return buf


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def _splice(client: socket.socket, first: bytes, target: tuple[str, int]) -> None:
    with socket.create_connection(target, timeout=_TIMEOUT) as upstream:
        upstream.settimeout(None)
        client.settimeout(None)
        upstream.sendall(first)
        back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
        back.start()
        _pipe(client, upstream)
        back.join()


def _host_header(head: bytes) -> str | None:
    for line in head.split(b"\r\n")[1:]:
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == b"host":
            host = value.strip().decode("latin-1")
            return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return None


def _target(config: ProxyConfig, name: str | None, port: int) -> tuple[str, int] | None:
    if not name:
        return None
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(name)
        return None if name == config.ip else (name, port)
    ip = resolve(name, config.resolver)
    if ip is None or ip == config.ip:  # unresolvable, or a loop back to ourselves
        return None
    return ip, port


def handlers(config: ProxyConfig) -> dict[tuple[str, int], ConnHandler]:
    """The proxy's listeners: (ip, port) → connection handler."""

    def http(conn: socket.socket, addr: tuple[str, int]) -> None:
        conn.settimeout(_TIMEOUT)
        head = _recv_until(conn, b"\r\n\r\n")
        target = _target(config, _host_header(head), config.upstream_http_port)
        if target is None:
            conn.sendall(_BAD_GATEWAY)
            return
        _splice(conn, head, target)

    def tls(conn: socket.socket, addr: tuple[str, int]) -> None:
        conn.settimeout(_TIMEOUT)
        first = _recv_until(conn, None, 5)
        if len(first) < 5:
            return
        length = struct.unpack_from("!H", first, 3)[0]
        if len(first) < 5 + length:
            first += _recv_until(conn, None, 5 + length - len(first))
        target = _target(config, parse_sni(first), config.upstream_https_port)
        if target is not None:
            _splice(conn, first, target)

    return {(config.ip, config.http_port): http, (config.ip, config.https_port): tls}


class ProxyServer:
    """The proxy program on its own."""

    def __init__(self) -> None:
        self.listeners = ListenerSet()

    def apply(self, config: ProxyServerConfig) -> None:
        tcp: dict[tuple[str, int], ConnHandler] = {}
        for px in config.proxies:
            tcp.update(handlers(px))
        self.listeners.reconcile(tcp, {})

    def close(self) -> None:
        self.listeners.close()


def main(argv: list[str] | None = None) -> int:
    return run("censorscope.lab.services.proxy", ProxyServerConfig, ProxyServer, argv)


if __name__ == "__main__":
    sys.exit(main())
