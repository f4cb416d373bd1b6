"""``censorscope serve`` for real: uvicorn in a subprocess on a free port (one worker, and
two worker processes through the import-string factory), and its one-line refusals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import duckdb
import pytest
from apikit import ApiStore

SERVE = [sys.executable, "-m", "censorscope.cli.main", "serve"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, dict[str, str], Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        with e:
            return e.code, dict(e.headers), json.loads(e.read())


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_and_stops(api_store: ApiStore, workers: int) -> None:
    port = _free_port()
    with subprocess.Popen([*SERVE, "--store", api_store.url, "--port", str(port),
                           "--workers", str(workers), "--log-level", "warning"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True) as server:
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    status, headers, body = _get(
                        f"http://127.0.0.1:{port}/api/v1/aggregation?since=2022-09-01"
                        "&until=2022-09-03&probe_cc=AZ")
                    break
                except (urllib.error.URLError, ConnectionError):
                    assert server.poll() is None, server.stderr.read() if server.stderr else ""
                    assert time.monotonic() < deadline, "serve did not answer in 30 s"
                    time.sleep(0.2)
            assert status == 200
            assert body["result"]["measurement_count"] == 3 * 48
            assert float(headers["x-ratelimit-remaining"]) <= 30.0
            status, _, body = _get(f"http://127.0.0.1:{port}/api/v1/measurement_meta"
                                   "?measurement_uid=nope")
            assert (status, body["error"]["code"]) == (404, 404)
        finally:
            os.kill(server.pid, signal.SIGINT)
            server.wait(timeout=30)
        stderr = server.stderr.read() if server.stderr else ""
    assert f"serve: http://127.0.0.1:{port}/api/v1/ on {api_store.url}" in stderr
    assert "Traceback" not in stderr


def test_serve_refuses_what_it_cannot_serve(tmp_path: Path, api_store: ApiStore) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    for url, status, words in (
            (f"duckdb://{tmp_path / 'missing.duckdb'}", 2, "cannot open the store"),
            (f"duckdb://{empty}", 2, "is not a censorscope store")):
        r = subprocess.run([*SERVE, "--store", url, "--port", "1"], capture_output=True,
                           text=True, timeout=60, check=False)
        assert r.returncode == status, r.stderr
        assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1
    held = tmp_path / "held.duckdb"
    held.write_bytes(api_store.path.read_bytes())
    with subprocess.Popen([sys.executable, "-c", "import duckdb, time\n"
                           f"con = duckdb.connect({str(held)!r})\nprint('held', flush=True)\n"
                           "time.sleep(60)"], stdout=subprocess.PIPE, text=True) as writer:
        try:
            assert writer.stdout is not None and writer.stdout.readline() == "held\n"
            r = subprocess.run([*SERVE, "--store", f"duckdb://{held}", "--port", "1"],
                               capture_output=True, text=True, timeout=60, check=False)
        finally:
            os.kill(writer.pid, signal.SIGTERM)
            writer.wait(timeout=10)
    assert r.returncode == 3
    assert f"PID {writer.pid}" in r.stderr and len(r.stderr.strip().splitlines()) == 1
