"""The lab DNS server: authoritative zones, ISP/public resolvers (forwarders), DoH.

Run as ``python -m censorscope.lab.services.dns --config FILE.json`` (``DNSServerConfig``).
Serves UDP and TCP on every ``listen`` IP, optionally DNS over HTTPS (RFC 8484, GET ``?dns=`` and
POST ``application/dns-message``) answered by the same logic.

Answer logic for a name (``answer_query``): ``overrides`` (the censor's lies) → ``whoami`` names
(answered with the asking client's own address) → ``records``
(CNAME chains followed inside ``records``; a CNAME whose target has no address yields NOERROR with
just the CNAME) → ``upstream`` (the query is relayed and the reply returned) → NXDOMAIN.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import socket
import ssl
import struct
import sys
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, A, DNSRecord

from censorscope.lab.services._listeners import ConnHandler, DatagramHandler, ListenerSet
from censorscope.lab.services._runtime import run
from censorscope.lab.services.config import (
    DNSOverride,
    DNSRecordValue,
    DNSServerConfig,
    normalize_name,
    split_hostport,
)

__all__ = ["DNSServer", "Resolver", "main"]

_MAX_CHAIN = 8


def _lookup(table: dict[str, object], name: str) -> object | None:
    """Exact name, else the closest ``*.zone`` wildcard."""
    if name in table:
        return table[name]
    labels = name.split(".")
    for i in range(1, len(labels)):
        hit = table.get("*." + ".".join(labels[i:]))
        if hit is not None:
            return hit
    return None


def _rr(owner: str, value: DNSRecordValue) -> RR:
    rtype = getattr(QTYPE, value.type)
    rdata = {"A": A, "AAAA": AAAA, "CNAME": CNAME}[value.type](value.value)
    return RR(owner, rtype, rdata=rdata, ttl=value.ttl)


def _override_values(ov: DNSOverride) -> list[DNSRecordValue]:
    out = []
    for item in ov.answer:
        kind: Literal["A", "AAAA", "CNAME"]
        try:
            kind = "A" if ipaddress.ip_address(item).version == 4 else "AAAA"
        except ValueError:
            kind = "CNAME"
        out.append(DNSRecordValue(type=kind, value=item, ttl=ov.ttl))
    return out


@dataclass(frozen=True)
class Resolver:
    """The pure answer logic of one config (plus upstream forwarding)."""

    config: DNSServerConfig

    def answer_query(self, raw: bytes, client: str | None = None) -> bytes | None:
        """The reply to the DNS message ``raw`` (wire format) from ``client`` (its IP, for the
        ``whoami`` names); None means: do not reply."""
        try:
            request = DNSRecord.parse(raw)
        except Exception:
            return None
        if not request.questions:
            return _rcode(request, RCODE.FORMERR)
        question = request.q
        name = normalize_name(str(question.qname))
        qtype = QTYPE.get(question.qtype)
        override = _lookup(self.config.overrides, name)  # type: ignore[arg-type]
        if isinstance(override, DNSOverride):
            if override.action == "drop":
                return None
            if override.action in ("nxdomain", "remove"):
                return _rcode(request, RCODE.NXDOMAIN)
            if override.action == "refused":
                return _rcode(request, RCODE.REFUSED)
            if override.action == "answer":
                reply = request.reply()
                self._chain(reply, str(question.qname), _override_values(override), qtype)
                return bytes(reply.pack())
        if name in self.config.whoami and client is not None:
            return _whoami(request, client, qtype)
        reply_bytes = self._normal(request, raw, name, qtype)
        if isinstance(override, DNSOverride) and override.action == "add" and reply_bytes:
            reply = DNSRecord.parse(reply_bytes)
            reply.header.rcode = RCODE.NOERROR
            self._chain(reply, str(question.qname), _override_values(override), qtype)
            return bytes(reply.pack())
        return reply_bytes

    def _normal(self, request: DNSRecord, raw: bytes, name: str, qtype: str) -> bytes | None:
        values = _lookup(self.config.records, name)  # type: ignore[arg-type]
        if isinstance(values, list):
            reply = request.reply()
            self._chain(reply, str(request.q.qname), values, qtype)
            return bytes(reply.pack())
        if self.config.upstream:
            return self._forward(request, raw)
        return _rcode(request, RCODE.NXDOMAIN)

    def _chain(
        self, reply: DNSRecord, owner: str, values: list[DNSRecordValue], qtype: str
    ) -> None:
        """Add ``values`` of ``owner`` for ``qtype``, following CNAMEs through ``records``."""
        for _ in range(_MAX_CHAIN):
            cname = next((v for v in values if v.type == "CNAME"), None)
            if cname is not None and qtype != "CNAME":
                reply.add_answer(_rr(owner, cname))
                owner = cname.value
                nxt = _lookup(self.config.records, owner)  # type: ignore[arg-type]
                if not isinstance(nxt, list):
                    return  # CNAME to a name without addresses: NOERROR, CNAME only
                values = nxt
                continue
            for value in values:
                if qtype in (value.type, "ANY"):
                    reply.add_answer(_rr(owner, value))
            return

    def _forward(self, request: DNSRecord, raw: bytes) -> bytes:
        assert self.config.upstream is not None
        host, port = split_hostport(self.config.upstream)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.settimeout(self.config.upstream_timeout)
            try:
                sock.connect((host, port))
                sock.send(raw)
                while True:
                    data = sock.recv(65535)
                    if data[:2] == raw[:2]:
                        return data
            except OSError:
                return _rcode(request, RCODE.SERVFAIL)


def _whoami(request: DNSRecord, client: str, qtype: str) -> bytes:
    """The reply naming ``client``: its address as an A (IPv4) or AAAA (IPv6) record, when
    that is the type asked for (or ANY); NOERROR without answers otherwise."""
    reply = request.reply()
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return bytes(reply.pack())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    rtype: Literal["A", "AAAA"] = "A" if address.version == 4 else "AAAA"
    if qtype in (rtype, "ANY"):
        reply.add_answer(_rr(str(request.q.qname), DNSRecordValue(type=rtype, value=str(address),
                                                                  ttl=0)))
    return bytes(reply.pack())


def _rcode(request: DNSRecord, rcode: int) -> bytes:
    reply = request.reply()
    reply.header.rcode = rcode
    return bytes(reply.pack())


def _udp_handler(resolver: Resolver) -> DatagramHandler:
    def handle(data: bytes, addr: tuple[str, int], sock: socket.socket) -> None:
        reply = resolver.answer_query(data, addr[0])
        if reply is not None:
            sock.sendto(reply, addr)

    return handle


def _recv_exact(conn: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _tcp_handler(resolver: Resolver) -> ConnHandler:
    def handle(conn: socket.socket, addr: tuple[str, int]) -> None:
        conn.settimeout(10)
        while True:
            head = _recv_exact(conn, 2)
            if head is None:
                return
            data = _recv_exact(conn, struct.unpack("!H", head)[0])
            if data is None:
                return
            reply = resolver.answer_query(data, addr[0])
            if reply is None:
                continue  # "drop": the client times out
            conn.sendall(struct.pack("!H", len(reply)) + reply)

    return handle


class _DoHHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "censorscope-lab-doh"
    timeout = 30
    resolver: Resolver
    path_prefix: str

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, query: bytes | None) -> None:
        if query is None:
            self._send(400, "text/plain", b"bad request\n")
            return
        answer = self.resolver.answer_query(query, str(self.client_address[0]))
        if answer is None:  # "drop": no answer at all
            self.close_connection = True
            return
        self._send(200, "application/dns-message", answer)

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=0")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != self.path_prefix:
            self._send(404, "text/plain", b"not found\n")
            return
        values = parse_qs(parts.query).get("dns")
        query = None
        if values:
            encoded = values[0]
            with contextlib.suppress(ValueError):
                query = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        self._reply(query)

    def do_POST(self) -> None:
        if urlsplit(self.path).path != self.path_prefix:
            self._send(404, "text/plain", b"not found\n")
            return
        length = int(self.headers.get("Content-Length") or 0)
        ctype = self.headers.get("Content-Type", "")
        if ctype != "application/dns-message" or not 0 < length <= 65535:
            self._send(415 if ctype != "application/dns-message" else 400, "text/plain", b"bad\n")
            return
        self._reply(self.rfile.read(length))


def _doh_handler(resolver: Resolver, ctx: ssl.SSLContext, path: str) -> ConnHandler:
    handler_cls = type("DoH", (_DoHHandler,), {"resolver": resolver, "path_prefix": path})

    def handle(conn: socket.socket, addr: tuple[str, int]) -> None:
        conn.settimeout(10)
        try:
            tls = ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with tls:
            handler_cls(tls, addr, None)

    return handle


def _doh_context(config: DNSServerConfig) -> ssl.SSLContext:
    doh = config.doh
    assert doh is not None
    cert_file, key_file = doh.cert_file, doh.key_file
    if not (cert_file and key_file):
        if not (doh.cert_dir and doh.names):
            raise ValueError("doh needs cert_file+key_file, or cert_dir+names")
        from censorscope.lab.services.ca import issue

        cert, key = issue(doh.cert_dir, [normalize_name(n) for n in doh.names], "valid")  # type: ignore[arg-type]
        cert_file, key_file = str(cert), str(key)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class DNSServer:
    """The DNS program's sockets and current config."""

    def __init__(self) -> None:
        self.listeners = ListenerSet()

    def apply(self, config: DNSServerConfig) -> None:
        resolver = Resolver(config)
        udp: dict[tuple[str, int], DatagramHandler] = {}
        tcp: dict[tuple[str, int], ConnHandler] = {}
        for ip in config.listen:
            udp[(ip, config.port)] = _udp_handler(resolver)
            if config.tcp:
                tcp[(ip, config.port)] = _tcp_handler(resolver)
        if config.doh is not None:
            ctx = _doh_context(config)
            for ip in config.doh.listen:
                tcp[(ip, config.doh.port)] = _doh_handler(resolver, ctx, config.doh.path)
        self.listeners.reconcile(tcp, udp)

    def close(self) -> None:
        self.listeners.close()


def main(argv: list[str] | None = None) -> int:
    return run("censorscope.lab.services.dns", DNSServerConfig, DNSServer, argv)


if __name__ == "__main__":
    sys.exit(main())
