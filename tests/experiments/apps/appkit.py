"""Loopback servers for the messaging experiments' tests (no root): the names are
``localhost`` (answered from ``/etc/hosts``), the ports random, TLS from ``tests/net/loopback``'s
throwaway PKI. ``run_app`` runs one registered experiment the way the probe does (its factory
with the given options, then ``Measurer.run``)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from censorscope.experiments.interface import ExperimentSettings, ProbeMetadata, Timeouts
from censorscope.experiments.registry import get_experiment
from censorscope.model.ipinfo import ASNTable

sys.path.insert(0, str(Path(__file__).parents[2] / "net"))

from loopback import (
    PKI,
    TCPServer,
    http_handler,
    make_pki,
    read_request,
    reset,
    server_context,
    tls_handler,
)

__all__ = ["PKI", "TCPServer", "closed_port", "http_handler", "https_server", "make_pki",
           "reset_after_request", "response", "run_app", "table"]

TIMEOUTS = Timeouts(dns=2, tcp=2, tls=2, http=2)


def response(status: int = 200, body: bytes = b"ok") -> bytes:
    return (f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            .encode() + body)


def https_server(pki: PKI, status: int = 200, seen: list[bytes] | None = None,
                 leaf: str = "good") -> TCPServer:
    """An HTTPS server answering every request with ``status``."""

    def answer(tls: ssl.SSLSocket) -> None:
        request = read_request(tls)
        if seen is not None:
            seen.append(request)
        tls.sendall(response(status))

    return TCPServer(tls_handler(server_context(getattr(pki, leaf), ["http/1.1"]), answer))


def reset_after_request() -> TCPServer:
    """Accepts, reads the request, answers with a RST."""

    def handle(sock: socket.socket, stop: object) -> None:
        read_request(sock)
        reset(sock)

    return TCPServer(handle)  # type: ignore[arg-type]


def closed_port() -> int:
    """A loopback port nobody listens on (connects are refused)."""

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def table(asn: int) -> ASNTable:
    """Loopback (both families) in AS ``asn``."""

    return ASNTable.from_tsv(f"127.0.0.0/8\t{asn}\tLoopback AS\n::1/128\t{asn}\tLoopback AS\n")


def run_app(name: str, options: dict[str, str], *, ca_file: str | None = None,
            asn_table: ASNTable | None = None) -> dict[str, Any]:
    """One measurement of experiment ``name`` with ``options``."""

    exp = get_experiment(name)
    settings = ExperimentSettings(ca_file=ca_file, asn_table=asn_table, timeouts=TIMEOUTS,
                                  options=options)
    measurer = exp.factory(settings)
    return asyncio.run(measurer.run(
        None, None, probe=ProbeMetadata(probe_cc="ZZ", probe_asn=64500),
        report_id="20261204T000000Z_x_ZZ_64500_n1_abcdefghijklmnop",
        test_start_time=datetime.now(UTC)))
