"""TLS client handshakes driven over a ``TCPConn`` through ``ssl.MemoryBIO``.

Because OpenSSL only talks to memory buffers and every byte goes through ``TCPConn.read`` /
``TCPConn.write``, the ClientHello write and each record read are seen by the TCP
connection's observers: a handshake that times out after the ClientHello shows up as
"connect, write, read failed with generic_timeout_error".
"""

# The API takes explicit per-operation timeouts (classified as generic_timeout_error).

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from censorscope.model import failures as F
from censorscope.net.conn import ConnObserver, TCPConn
from censorscope.net.errors import NetError, classify_error

__all__ = ["TLSConfig", "TLSConn", "TLSState", "tls_handshake"]

_ENCODING_DER = 2  # _ssl.ENCODING_DER, for the private Certificate.public_bytes

# OpenSSL cipher names -> IANA names (as Go's tls.CipherSuiteName prints them).
_IANA_CIPHERS: dict[str, str] = {
    "ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "ECDHE-RSA-CHACHA20-POLY1305": "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-AES128-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "ECDHE-RSA-AES128-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "ECDHE-ECDSA-AES128-SHA": "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "ECDHE-RSA-AES128-SHA": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "ECDHE-ECDSA-AES256-SHA": "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "ECDHE-RSA-AES256-SHA": "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "AES128-GCM-SHA256": "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "AES256-GCM-SHA384": "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "AES128-SHA256": "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "AES128-SHA": "TLS_RSA_WITH_AES_128_CBC_SHA",
    "AES256-SHA": "TLS_RSA_WITH_AES_256_CBC_SHA",
    "DES-CBC3-SHA": "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
}


@dataclass
class TLSConfig:
    """What the client offers: SNI (``None`` or an IP literal → no SNI), ALPN, trust, checks.

    ``extra_ca_files`` are trusted on top of ``ca_file`` (or the system's store), as OONI's
    signal test adds Signal's own CA to the usual roots."""

    server_name: str | None
    alpn: list[str] = field(default_factory=lambda: ["h2", "http/1.1"])
    ca_file: str | None = None
    verify: bool = True
    extra_ca_files: tuple[str, ...] = ()


@dataclass
class TLSState:
    """What was negotiated. ``peer_certificates`` are DER, leaf first."""

    version: str
    cipher_suite: str
    negotiated_protocol: str
    peer_certificates: list[bytes]


def _make_context(config: TLSConfig) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if config.verify:
        if config.ca_file is not None:
            ctx.load_verify_locations(cafile=config.ca_file)
        else:
            ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
        for extra in config.extra_ca_files:
            ctx.load_verify_locations(cafile=extra)
        ctx.check_hostname = config.server_name is not None
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if config.alpn:
        ctx.set_alpn_protocols(config.alpn)
    return ctx


def _cipher_suite(ctx: ssl.SSLContext, obj: ssl.SSLObject) -> str:
    cipher = obj.cipher()
    if cipher is None:
        return ""
    name = cipher[0]
    if name.startswith("TLS_"):
        return name  # TLS 1.3 suites already carry their IANA names
    if name in _IANA_CIPHERS:
        return _IANA_CIPHERS[name]
    for info in ctx.get_ciphers():
        if info.get("name") == name and isinstance(info.get("id"), int):
            return f"0x{info['id'] & 0xFFFF:04X}"
    return name


def _peer_chain(obj: ssl.SSLObject) -> list[bytes]:
    """DER certificates the peer sent, leaf first, even after a failed verification."""

    inner: Any = getattr(obj, "_sslobj", None)
    getter = getattr(inner, "get_unverified_chain", None)
    if getter is not None:
        try:
            chain = getter()
        except (ssl.SSLError, ValueError):
            chain = None
        if chain:
            return [cert.public_bytes(_ENCODING_DER) for cert in chain]
    try:
        leaf = obj.getpeercert(binary_form=True)
    except (ssl.SSLError, ValueError):
        leaf = None
    return [leaf] if leaf else []


class TLSConn:
    """A TLS session over a ``TCPConn``; same ``read``/``write``/``close`` interface."""

    def __init__(
        self,
        tcp: TCPConn,
        obj: ssl.SSLObject,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        state: TLSState,
    ) -> None:
        self.tcp: TCPConn = tcp
        self.state: TLSState = state
        self._obj = obj
        self._incoming = incoming
        self._outgoing = outgoing

    @property
    def address(self) -> str:
        return self.tcp.address

    @property
    def ip(self) -> str:
        return self.tcp.ip

    @property
    def port(self) -> int:
        return self.tcp.port

    @property
    def observers(self) -> list[ConnObserver]:
        return self.tcp.observers

    def set_deadline(self, deadline: float | None) -> None:
        self.tcp.set_deadline(deadline)

    async def _flush(self) -> None:
        pending = self._outgoing.read()
        if pending:
            await self.tcp.write(pending)

    async def read(self, max_bytes: int = 65536) -> bytes:
        """Read decrypted bytes; ``b""`` when the peer closed (with or without close_notify)."""

        while True:
            try:
                data = self._obj.read(max_bytes)
            except ssl.SSLWantReadError:
                await self._flush()
                raw = await self.tcp.read()
                if raw:
                    self._incoming.write(raw)
                else:
                    self._incoming.write_eof()
                continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""
            except ssl.SSLError as exc:
                raise classify_error(exc, F.READ) from exc
            await self._flush()
            return data

    async def write(self, data: bytes) -> None:
        """Encrypt and send all of ``data``."""

        try:
            self._obj.write(data)
        except ssl.SSLError as exc:
            raise classify_error(exc, F.WRITE) from exc
        await self._flush()

    def close(self) -> None:
        """Close the underlying TCP connection (no close_notify is sent)."""

        self.tcp.close()


async def tls_handshake(conn: TCPConn, config: TLSConfig, *, timeout: float) -> TLSConn:
    """Run a TLS client handshake on ``conn``; ``NetError`` op ``tls_handshake`` on failure,
    with ``err.peer_certificates`` set to whatever certificates the server sent."""

    try:
        ctx = _make_context(config)
    except (OSError, ValueError) as exc:
        raise classify_error(exc, F.TLS_HANDSHAKE) from exc
    incoming = ssl.MemoryBIO()
    outgoing = ssl.MemoryBIO()
    server_hostname = config.server_name or None
    obj = ctx.wrap_bio(incoming, outgoing, server_side=False, server_hostname=server_hostname)
    conn.set_deadline(time.monotonic() + timeout)
    try:
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                pending = outgoing.read()
                if pending:
                    await conn.write(pending)
                raw = await conn.read()
                if raw:
                    incoming.write(raw)
                else:
                    incoming.write_eof()
        pending = outgoing.read()
        if pending:
            await conn.write(pending)
    except Exception as exc:
        err = classify_error(exc, F.TLS_HANDSHAKE)
        if err.operation != F.TLS_HANDSHAKE:
            err = NetError(err.failure, F.TLS_HANDSHAKE, err.cause or err)
        err.peer_certificates = _peer_chain(obj)
        if isinstance(exc, ssl.SSLError) and not isinstance(
            exc, ssl.SSLEOFError | ssl.SSLZeroReturnError
        ):
            try:  # best effort: let the server see our alert
                pending = outgoing.read()
                if pending:
                    await conn.write(pending)
            except NetError:
                pass
        raise err from exc
    finally:
        conn.set_deadline(None)
    state = TLSState(
        version=obj.version() or "",
        cipher_suite=_cipher_suite(ctx, obj),
        negotiated_protocol=obj.selected_alpn_protocol() or "",
        peer_certificates=_peer_chain(obj),
    )
    return TLSConn(conn, obj, incoming, outgoing, state)
