"""Real ``service`` measurements on loopback for tests: a user's endpoint file on
``localhost``/``127.0.0.1`` measured by the real measurer (allowed to dial loopback)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from censorscope.experiments.interface import ExperimentSettings, ProbeMetadata, Timeouts
from censorscope.experiments.service.experiment import make_measurer
from tests.net.loopback import read_request

NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
PROBE = ProbeMetadata(probe_cc="AZ", probe_asn=29049, probe_network_name="Delta Telecom Ltd")


def answer(response: bytes) -> Callable[[ssl.SSLSocket], None]:
    """A TLS server's reply to one request."""
    def then(tls: ssl.SSLSocket) -> None:
        read_request(tls)
        tls.sendall(response)
    return then


def closed_port() -> int:
    """A loopback port nobody listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def _measurer(tmp_path: Path, rows: list[str], ca_file: str | None, concurrency: int) -> Any:
    f = tmp_path / "endpoints.csv"
    f.write_text("service,host,port,protocol,path\n" + "".join(r + "\n" for r in rows))
    return make_measurer(ExperimentSettings(
        ca_file=ca_file, allow_loopback=True, timeouts=Timeouts(dns=2, tcp=1, tls=0.6, http=2),
        options={"endpoints_file": str(f), "concurrency": str(concurrency)}))


def measure_keys(tmp_path: Path, rows: list[str], *, ca_file: str | None = None,
                 concurrency: int = 8) -> dict[str, Any]:
    """The test keys of measuring the ``tiktok`` endpoints ``rows`` (CSV lines)."""
    measurer = _measurer(tmp_path, rows, ca_file, concurrency)
    keys: dict[str, Any] = asyncio.run(measurer.measure("tiktok"))
    return keys


def measurement(tmp_path: Path, rows: list[str], *, ca_file: str | None = None
                ) -> dict[str, Any]:
    """A complete measurement (envelope and keys) of the ``tiktok`` endpoints ``rows``."""
    measurer = _measurer(tmp_path, rows, ca_file, 8)
    msm: dict[str, Any] = asyncio.run(measurer.run(
        "tiktok", "tiktok", probe=PROBE, report_id="20221015T000000Z_service_AZ_29049_n1_x",
        test_start_time=datetime.now(UTC)))
    return msm
