"""TLS handshakes over MemoryBIO against loopback servers (censorscope.net.tls)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

import pytest
from loopback import (
    HOST,
    PKI,
    TCPServer,
    close_after_first_read,
    reset_after_first_read,
    server_context,
    silent_after_first_read,
    tls_handler,
)

from censorscope.model import failures as F
from censorscope.net.conn import connect_tcp
from censorscope.net.errors import NetError
from censorscope.net.tls import TLSConfig, TLSConn, TLSState, tls_handshake


class Writes:
    def __init__(self) -> None:
        self.reads: list[tuple[int, str | None]] = []
        self.writes: list[tuple[int, str | None]] = []

    def on_read(self, num_bytes: int, failure: str | None, t0: float, t: float) -> None:
        self.reads.append((num_bytes, failure))

    def on_write(self, num_bytes: int, failure: str | None, t0: float, t: float) -> None:
        self.writes.append((num_bytes, failure))

    def on_close(self, t: float) -> None:
        pass


async def _handshake(
    port: int, config: TLSConfig, limit: float = 3
) -> tuple[TLSState | NetError, Writes]:
    conn = await connect_tcp(HOST, port, timeout=2)
    seen = Writes()
    conn.observers.append(seen)
    try:
        tls = await tls_handshake(conn, config, timeout=limit)
    except NetError as err:
        return err, seen
    finally:
        conn.close()
    return tls.state, seen


def test_success_records_version_cipher_alpn_and_chain(pki: PKI) -> None:
    ctx = server_context(pki.good, ["h2", "http/1.1"])
    with TCPServer(tls_handler(ctx)) as server:
        state, seen = asyncio.run(
            _handshake(server.port, TLSConfig("test.example", ca_file=pki.ca_file))
        )
    assert isinstance(state, TLSState)
    assert state.version == "TLSv1.3"
    assert state.cipher_suite.startswith("TLS_") and "_WITH_" not in state.cipher_suite
    assert state.negotiated_protocol == "h2"
    assert state.peer_certificates == pki.good.der_chain  # leaf, then intermediate
    assert seen.writes[0][0] > 0 and seen.reads[0][0] > 0


def test_tls12_cipher_is_iana_named_and_alpn_follows_offer(pki: PKI) -> None:
    ctx = server_context(pki.good, ["http/1.1"])
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with TCPServer(tls_handler(ctx)) as server:
        state, _ = asyncio.run(
            _handshake(server.port, TLSConfig("test.example", ca_file=pki.ca_file))
        )
    assert isinstance(state, TLSState)
    assert state.version == "TLSv1.2"
    assert state.cipher_suite.startswith("TLS_ECDHE_ECDSA_WITH_")
    assert state.negotiated_protocol == "http/1.1"


@pytest.mark.parametrize(
    ("leaf", "server_name", "failure"),
    [
        ("expired", "test.example", F.SSL_INVALID_CERTIFICATE),
        ("wrong_host", "test.example", F.SSL_INVALID_HOSTNAME),
        ("unknown_ca", "test.example", F.SSL_UNKNOWN_AUTHORITY),
        ("good", "blocked.example", F.SSL_INVALID_HOSTNAME),
    ],
)
def test_certificate_failures(pki: PKI, leaf: str, server_name: str, failure: str) -> None:
    served = getattr(pki, leaf)
    with TCPServer(tls_handler(server_context(served))) as server:
        err, _ = asyncio.run(
            _handshake(server.port, TLSConfig(server_name, ca_file=pki.ca_file))
        )
    assert isinstance(err, NetError)
    assert (err.failure, err.operation) == (failure, F.TLS_HANDSHAKE)
    assert err.peer_certificates == served.der_chain


def test_no_verify_accepts_bad_certificates_and_keeps_them(pki: PKI) -> None:
    with TCPServer(tls_handler(server_context(pki.expired))) as server:
        state, _ = asyncio.run(
            _handshake(server.port, TLSConfig("wrong.example", verify=False))
        )
    assert isinstance(state, TLSState)
    assert state.peer_certificates == pki.expired.der_chain


def test_system_store_does_not_trust_the_test_ca(pki: PKI) -> None:
    with TCPServer(tls_handler(server_context(pki.good))) as server:
        err, _ = asyncio.run(_handshake(server.port, TLSConfig("test.example")))
    assert isinstance(err, NetError) and err.failure == F.SSL_UNKNOWN_AUTHORITY


def test_sni_is_sent_for_names_and_not_for_ips(pki: PKI) -> None:
    names: list[str | None] = []
    ctx = server_context(pki.good)

    def remember(sock: ssl.SSLSocket, name: str | None, _ctx: ssl.SSLContext) -> None:
        names.append(name)

    ctx.set_servername_callback(remember)
    with TCPServer(tls_handler(ctx)) as server:
        by_name = TLSConfig("test.example", ca_file=pki.ca_file)
        first, _ = asyncio.run(_handshake(server.port, by_name))
        second, _ = asyncio.run(_handshake(server.port, TLSConfig(HOST, ca_file=pki.ca_file)))
    assert isinstance(first, TLSState) and isinstance(second, TLSState)
    assert names == ["test.example", None]


@pytest.mark.parametrize(
    ("handler", "failure"),
    [
        (close_after_first_read, F.EOF_ERROR),
        (reset_after_first_read, F.CONNECTION_RESET),
        (silent_after_first_read, F.GENERIC_TIMEOUT_ERROR),
    ],
)
def test_interference_after_the_client_hello(
    handler: Callable[..., None], failure: str
) -> None:
    with TCPServer(handler) as server:
        err, seen = asyncio.run(
            _handshake(server.port, TLSConfig("www.tiktok.com"), limit=0.5)
        )
    assert isinstance(err, NetError)
    assert (err.failure, err.operation) == (failure, F.TLS_HANDSHAKE)
    assert err.peer_certificates == []
    assert len(seen.writes) == 1 and seen.writes[0][0] > 0  # the ClientHello
    assert seen.reads == [(0, failure)]


def test_tls_conn_reads_and_writes_application_data(pki: PKI) -> None:
    def echo(tls: ssl.SSLSocket) -> None:
        tls.sendall(tls.recv(100)[::-1])

    async def main(port: int) -> bytes:
        conn = await connect_tcp(HOST, port, timeout=2)
        tls: TLSConn = await tls_handshake(
            conn, TLSConfig("test.example", ca_file=pki.ca_file), timeout=2
        )
        try:
            assert tls.address == conn.address and tls.observers is conn.observers
            await tls.write(b"abc")
            data = await tls.read()
            assert await tls.read() == b""
            return data
        finally:
            tls.close()

    with TCPServer(tls_handler(server_context(pki.good), echo)) as server:
        assert asyncio.run(main(server.port)) == b"cba"
