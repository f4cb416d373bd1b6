"""Test support for net and trace tests: a throwaway PKI and small loopback servers.

Servers run in threads with blocking sockets so they are independent of the asyncio loop
under test; each is a context manager that closes every socket and joins every thread.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.rcode
import dns.rrset
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"


# --- PKI -----------------------------------------------------------------------------------
@dataclass
class Leaf:
    chain_file: str  # leaf (+ intermediate) PEM
    key_file: str
    der_chain: list[bytes]


@dataclass
class PKI:
    ca_file: str
    root_der: bytes
    good: Leaf  # test.example, localhost, 127.0.0.1; served with its intermediate
    expired: Leaf
    wrong_host: Leaf
    unknown_ca: Leaf


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    names: list[str] | None = None,
    ips: list[str] | None = None,
    expired: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    start, end = (now - dt.timedelta(days=30), now - dt.timedelta(days=1)) if expired else (
        now - dt.timedelta(days=1), now + dt.timedelta(days=30)
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.subject if issuer else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
    else:
        import ipaddress

        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names or []]
        sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips or []]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _write_leaf(
    directory: Path, label: str, key: ec.EllipticCurvePrivateKey, chain: list[x509.Certificate]
) -> Leaf:
    chain_file = directory / f"{label}.pem"
    key_file = directory / f"{label}.key"
    chain_file.write_bytes(b"".join(_pem(c) for c in chain))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Leaf(str(chain_file), str(key_file), [_der(c) for c in chain])


def make_pki(directory: Path) -> PKI:
    """A root CA, an intermediate, and leaves: good, expired, wrong-host, unknown-CA."""

    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    root_key, inter_key, other_key = key(), key(), key()
    root = _cert("censorscope test root", root_key, None, root_key, ca=True)
    inter = _cert("censorscope test intermediate", inter_key, root, root_key, ca=True)
    other_root = _cert("unknown test root", other_key, None, other_key, ca=True)
    names = ["test.example", "localhost"]

    def leaf(label: str, issuer: x509.Certificate, issuer_key: ec.EllipticCurvePrivateKey,
             extra: list[x509.Certificate], **kw: object) -> Leaf:
        k = key()
        cert = _cert(label, k, issuer, issuer_key, ca=False, **kw)  # type: ignore[arg-type]
        return _write_leaf(directory, label, k, [cert, *extra])

    ca_file = directory / "ca.pem"
    ca_file.write_bytes(_pem(root))
    return PKI(
        ca_file=str(ca_file),
        root_der=_der(root),
        good=leaf("good", inter, inter_key, [inter], names=names, ips=[HOST]),
        expired=leaf("expired", inter, inter_key, [inter], names=names, ips=[HOST], expired=True),
        wrong_host=leaf("wronghost", inter, inter_key, [inter], names=["other.example"]),
        unknown_ca=leaf("unknownca", other_root, other_key, [], names=names, ips=[HOST]),
    )


def server_context(leaf: Leaf, alpn: list[str] | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(leaf.chain_file, leaf.key_file)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


# --- TCP servers ---------------------------------------------------------------------------
Handler = Callable[[socket.socket, threading.Event], None]


class TCPServer:
    """Accepts on 127.0.0.1:<random>; runs ``handler(sock, stop)`` per connection in a thread."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.stop = threading.Event()
        self.listener = socket.create_server((HOST, 0))
        self.listener.settimeout(0.05)
        self.port: int = self.listener.getsockname()[1]
        self.accepted = 0
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> TCPServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._acceptor.join(5)
        for t in self._threads:
            t.join(5)
        for s in self._socks:
            s.close()
        self.listener.close()

    def _accept_loop(self) -> None:
        while not self.stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            sock.settimeout(5)
            self._socks.append(sock)
            t = threading.Thread(target=self._run, args=(sock,), daemon=True)
            self._threads.append(t)
            t.start()

    def _run(self, sock: socket.socket) -> None:
        try:
            self.handler(sock, self.stop)
        except OSError:
            pass


def read_request(sock: socket.socket | ssl.SSLSocket) -> bytes:
    """Read one HTTP request (head + Content-Length body)."""

    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends a RST."""

    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def http_handler(response: bytes, seen: list[bytes] | None = None) -> Handler:
    def handle(sock: socket.socket, stop: threading.Event) -> None:
        request = read_request(sock)
        if seen is not None:
            seen.append(request)
        sock.sendall(response)
        sock.close()

    return handle


def tls_handler(
    ctx: ssl.SSLContext, then: Callable[[ssl.SSLSocket], None] | None = None
) -> Handler:
    def handle(sock: socket.socket, stop: threading.Event) -> None:
        try:
            tls = ctx.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError):
            sock.close()
            return
        try:
            if then is not None:
                then(tls)
        finally:
            tls.close()

    return handle


def silent_after_first_read(sock: socket.socket, stop: threading.Event) -> None:
    """Read the ClientHello, then never answer until the server stops."""

    sock.recv(65536)
    stop.wait(10)
    sock.close()


def close_after_first_read(sock: socket.socket, stop: threading.Event) -> None:
    sock.recv(65536)
    sock.close()


def reset_after_first_read(sock: socket.socket, stop: threading.Event) -> None:
    sock.recv(65536)
    reset(sock)


# --- UDP DNS server ------------------------------------------------------------------------
DNSBehaviour = Callable[[dns.message.Message], list[bytes]]


class UDPDNSServer:
    """Answers each query on 127.0.0.1:<random> with the datagrams ``behaviour`` returns."""

    def __init__(self, behaviour: DNSBehaviour, gap: float = 0.05) -> None:
        self.behaviour = behaviour
        self.gap = gap
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(0.05)
        self.address = f"{HOST}:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> UDPDNSServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(5)
        self.sock.close()

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            for index, reply in enumerate(self.behaviour(query)):
                if index and self.stop.wait(self.gap):
                    return
                self.sock.sendto(reply, peer)


def dns_reply(
    query: dns.message.Message,
    records: list[tuple[str, str]] | None = None,
    rcode: int = dns.rcode.NOERROR,
    query_id: int | None = None,
) -> bytes:
    """A reply to ``query`` with ``records`` as ``(type, value)`` pairs (ttl 300)."""

    reply = dns.message.make_response(query)
    reply.set_rcode(rcode)
    name = query.question[0].name
    for rtype, value in records or []:
        reply.answer.append(dns.rrset.from_text(name, 300, "IN", rtype, value))
    if query_id is not None:
        reply.id = query_id
    return reply.to_wire()
