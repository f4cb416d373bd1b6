"""Real loopback servers for the control's tests: a throwaway CA, HTTP(S) sites, a UDP DNS
server (dnslib), and the control itself run as a subprocess (``censorscope control serve``).

The sites and the DNS server run on an event loop in a background thread, so the control
process (and synchronous tests) can reach them while the test thread blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import select
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from dnslib import AAAA, QTYPE, RCODE, RR, A, DNSRecord

from censorscope.lab.services.ca import ensure_ca, issue

OK_TITLE = "Censorscope OK"
OK_BODY = (
    b"<html><head><title>" + OK_TITLE.encode() + b"</title></head><body>"
    + b"hello from the loopback site " * 20 + b"</body></html>"
)


# --- PKI ---------------------------------------------------------------------------------------


@dataclass
class CA:
    """A throwaway CA in ``directory`` (the lab's own CA code); ``issue`` writes leaf PEMs."""

    directory: Path

    @property
    def ca_file(self) -> str:
        return str(self.directory / "ca.pem")

    @classmethod
    def create(cls, directory: Path) -> CA:
        ensure_ca(directory)
        return cls(directory)

    def issue(self, label: str, names: list[str], *, expired: bool = False) -> tuple[str, str]:
        """Cert and key paths for ``names`` (``label`` is kept for call-site readability)."""
        del label
        cert, key = issue(self.directory, names, "expired" if expired else "valid")
        return str(cert), str(key)


def server_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


# --- background event loop ---------------------------------------------------------------------


class LoopThread:
    """An asyncio loop running in a daemon thread; ``run(coro)`` waits for a result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 20.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        async def _cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(_cancel_all())
        self.run(self.loop.shutdown_asyncgens())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


# --- HTTP(S) site --------------------------------------------------------------------------------


def ok_response() -> tuple[int, list[tuple[str, str]], bytes]:
    return (
        200,
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Alt-Svc", 'h3=":443"; ma=86400'),
            ("x-dup", "first"),
            ("X-Dup", "second"),
        ],
        OK_BODY,
    )


def default_app(path: str) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """Routes: ``/`` ok page; ``/r/N`` redirect chain of N hops to ``/``; ``/loop/N`` endless
    redirects; ``/go?to=URL`` one redirect to URL; ``/hang`` never answers (None)."""

    parts = urlsplit(path)
    if parts.path.startswith("/r/"):
        n = int(parts.path.removeprefix("/r/"))
        target = "/" if n <= 0 else f"/r/{n - 1}"
        return 302, [("Location", target), ("Content-Length", "0")], b""
    if parts.path.startswith("/loop/"):
        n = int(parts.path.removeprefix("/loop/"))
        return 302, [("Location", f"/loop/{n + 1}"), ("Content-Length", "0")], b""
    if parts.path == "/go":
        target = parse_qs(parts.query)["to"][0]
        return 302, [("Location", target), ("Content-Length", "0")], b""
    if parts.path == "/hang":
        return None
    return ok_response()


@dataclass
class SeenRequest:
    host: str
    path: str
    headers: dict[str, str]


@dataclass
class Site:
    """One HTTP or HTTPS server on ``ip:port``; ``requests`` logs what it was asked."""

    ip: str
    port: int
    tls: bool
    server: asyncio.Server
    requests: list[SeenRequest] = field(default_factory=list)
    connections: int = 0
    hanging: threading.Event = field(default_factory=threading.Event)

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def url(self, host: str, path: str = "/") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"


async def start_site(
    ip: str,
    port: int = 0,
    *,
    ctx: ssl.SSLContext | None = None,
    app: Callable[[str], tuple[int, list[tuple[str, str]], bytes] | None] = default_app,
) -> Site:
    site: Site | None = None

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert site is not None
        site.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers.setdefault(name.strip().lower(), value.strip())
            if headers.get("content-length", "0").isdigit():
                await reader.readexactly(int(headers.get("content-length", "0")))
            site.requests.append(SeenRequest(headers.get("host", ""), path, headers))
            answer = app(path)
            if answer is None:
                site.hanging.set()
                await asyncio.sleep(3600)
                return
            status, headers, body = answer
            out = [f"HTTP/1.1 {status} X"]
            out += [f"{k}: {v}" for k, v in headers]
            if not any(k.lower() == "content-length" for k, _ in headers):
                out.append(f"Content-Length: {len(body)}")
            out.append("Connection: close")
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, ip, port, ssl=ctx)
    bound = server.sockets[0].getsockname()
    site = Site(ip, int(bound[1]), ctx is not None, server)
    return site


async def stop_sites(sites: list[Site]) -> None:
    """Close the listeners, cancel handlers still running (``/hang``), then wait."""

    for site in sites:
        site.server.close()
    current = asyncio.current_task()
    handlers = [t for t in asyncio.all_tasks() if t is not current]
    for task in handlers:
        task.cancel()
    await asyncio.gather(*handlers, return_exceptions=True)
    for site in sites:
        await site.server.wait_closed()


# --- DNS -----------------------------------------------------------------------------------------


class DNSZone(asyncio.DatagramProtocol):
    """Answers A/AAAA from ``records`` (name → list of IPs); ``rcodes`` forces an rcode;
    unknown names get ``default`` addresses if set, else NXDOMAIN."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.rcodes: dict[str, int] = {}
        self.default: list[str] | None = None
        self.queries: list[tuple[str, str]] = []
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        request = DNSRecord.parse(data)
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        self.queries.append((qname, qtype))
        reply = request.reply()
        if qname in self.rcodes:
            reply.header.rcode = self.rcodes[qname]
        elif qname in self.records or self.default is not None:
            ips = self.records.get(qname, self.default or [])
            for ip in ips:
                version = ipaddress.ip_address(ip).version
                if qtype == "A" and version == 4:
                    reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(ip), ttl=60))
                elif qtype == "AAAA" and version == 6:
                    reply.add_answer(RR(request.q.qname, QTYPE.AAAA, rdata=AAAA(ip), ttl=60))
        else:
            reply.header.rcode = RCODE.NXDOMAIN
        assert self.transport is not None
        self.transport.sendto(reply.pack(), addr)


async def start_dns(ip: str = "127.0.0.1") -> tuple[DNSZone, str]:
    loop = asyncio.get_running_loop()
    transport, zone = await loop.create_datagram_endpoint(DNSZone, local_addr=(ip, 0))
    port = transport.get_extra_info("sockname")[1]
    return zone, f"{ip}:{port}"


async def stop_dns(zone: DNSZone) -> None:
    if zone.transport is not None:
        zone.transport.close()


# --- the control, as a real process ------------------------------------------------------------


class ControlProcess:
    """``censorscope control serve`` in a subprocess; ``url`` once it printed its address."""

    def __init__(self, args: list[str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "w", encoding="utf-8")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "censorscope.cli.main", "control", "serve", *args],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline() if ready else ""
        if "listening on" not in line:
            self.close()
            raise RuntimeError(f"control did not start: {line!r}\n{log_path.read_text()}")
        self.url = line.rsplit(" ", 1)[1].strip() + "/"
        hostport = self.url.split("://", 1)[1].rstrip("/")
        host, _, port = hostport.rpartition(":")
        self.host, self.port = host.strip("[]"), int(port)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


def raw_http(host: str, port: int, data: bytes, timeout: float = 10.0, *,
             source: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes to the control (from the address ``source``, if set) and parse its
    (Connection: close) answer."""

    bind = (source, 0) if source is not None else None
    with socket.create_connection((host, port), timeout=timeout, source_address=bind) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def quiet_listener(ip: str, port: int = 0) -> socket.socket:
    """A listening TCP socket that nobody should connect to."""

    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((ip, port))
    sock.listen(16)
    sock.setblocking(False)
    return sock


def saw_connection(sock: socket.socket, wait: float = 0.3) -> bool:
    ready, _, _ = select.select([sock], [], [], wait)
    if not ready:
        return False
    with contextlib.suppress(BlockingIOError):
        conn, _ = sock.accept()
        conn.close()
    return True


@pytest.fixture
def start_control(tmp_path: Path) -> Iterator[Callable[..., ControlProcess]]:
    """Start ``censorscope control serve`` processes with the given arguments; all are
    stopped at the end of the test (shared by the control and security conftests)."""
    started: list[ControlProcess] = []

    def start(*args: str) -> ControlProcess:
        proc = ControlProcess(list(args), tmp_path / f"control-{len(started)}.log")
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            proc.close()
