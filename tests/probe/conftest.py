"""Shared fixtures of the probe tests: a loopback web site and a probe configuration whose
control is a closed port (so measurements complete with ``control_failure``)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

PAGE = b"<html><head><title>Loopback site</title></head><body>hello</body></html>"


class _Site(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[int]:
    """Port of a real HTTP server on 127.0.0.1 serving ``PAGE`` for every path."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def closed_port() -> int:
    """A loopback port nobody listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A probe config (Ucom, AM) with short timeouts and an unreachable control."""
    path = tmp_path / "probe.json"
    path.write_text(json.dumps({
        "probe_cc": "AM", "probe_asn": "AS44395", "probe_network_name": "Ucom",
        "control_url": f"http://127.0.0.1:{closed_port()}/", "allow_loopback": True,
        "timeouts": {"dns": 1, "tcp": 1, "tls": 1, "http": 2, "control": 2,
                     "priority_window": 0.05},
    }))
    return path
