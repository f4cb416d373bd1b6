"""``probe run --upload`` and ``probe upload`` against a real collector process and DuckDB store.

Real measurements of a loopback web site, a real ``censorscope collector serve`` child process
with ``--store duckdb:…``, the real probe CLI; the store is read back with ``open_store``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from censorscope.cli.main import cli
from censorscope.probe.queue import UploadQueue
from censorscope.store import open_store
from tests.collector.helpers import CollectorProcess
from tests.net.loopback import read_request
from tests.probe.conftest import closed_port

EXE = Path(sys.executable).with_name("censorscope")


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorProcess]:
    proc = CollectorProcess(tmp_path / "archive", "--store",
                            f"duckdb:///{tmp_path / 'store.duckdb'}")
    try:
        yield proc
    finally:
        proc.kill()


def _stored(tmp_path: Path, collector: CollectorProcess) -> tuple[int, dict[str, str | None]]:
    """Stop the collector (it feeds the store) and read back ``(rows, uid → input)``."""

    assert collector.terminate() == 0
    with open_store(f"duckdb:///{tmp_path / 'store.duckdb'}") as store:
        rows = store.count("measurements")
        uids = [a["measurement_uid"] for a in UploadQueue(tmp_path / "queue").acked()]
        found = {}
        for uid in uids:
            row = store.get_measurement(uid)
            found[uid] = row.input if row is not None else None
        return rows, found


def _run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["probe", "run", "--config", str(config), "--no-progress",
                                    "--no-summary", *args])


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_run_uploads_every_measurement_once(
    site: int, config: Path, tmp_path: Path, collector: CollectorProcess
) -> None:
    port = collector.start()
    out, qdir = tmp_path / "out.jsonl", tmp_path / "queue"
    urls = [f"http://localhost:{site}/{i}" for i in range(3)]
    result = _run(config, *(a for u in urls for a in ("-i", u)), "-o", str(out), "--parallel",
                  "2", "--upload", f"http://127.0.0.1:{port}", "--upload-queue", str(qdir))
    assert result.exit_code == 0, result.output
    assert f"3 uploaded, 0 still queued in {qdir}, 0 refused" in result.output
    queue = UploadQueue(qdir)
    assert queue.pending() == [] and queue.refused() == []
    written = _lines(out)
    acked = queue.acked()
    assert len(acked) == 3 and len({a["measurement_uid"] for a in acked}) == 3
    rows, found = _stored(tmp_path, collector)
    assert rows == 3  # exactly once each
    assert sorted(v or "" for v in found.values()) == sorted(m["input"] for m in written)
    assert all(uid.split("_")[1:3] == ["AM", "webconnectivity"] for uid in found)


def test_collector_down_keeps_measurements_queued_then_probe_upload_delivers(
    site: int, config: Path, tmp_path: Path, collector: CollectorProcess
) -> None:
    out, qdir = tmp_path / "out.jsonl", tmp_path / "queue"
    urls = [f"http://localhost:{site}/down/{i}" for i in range(2)]
    result = _run(config, *(a for u in urls for a in ("-i", u)), "-o", str(out),
                  "--upload", f"http://127.0.0.1:{closed_port()}", "--upload-queue", str(qdir),
                  "--upload-within", "1")
    assert result.exit_code == 0, result.output
    assert f"0 uploaded, 2 still queued in {qdir}, 0 refused" in result.output
    assert "connection" in result.output.lower() and "probe upload --queue" in result.output
    assert sorted(m["input"] for m in _lines(out)) == sorted(urls)  # the JSONL is complete
    pending = UploadQueue(qdir).pending()
    assert len(pending) == 2 and all(e.attempts >= 1 for e in pending)
    queued_bodies = sorted(e.body() for e in pending)
    assert queued_bodies == sorted(orjson.dumps(m) for m in _lines(out))

    port = collector.start()
    later = CliRunner().invoke(cli, ["probe", "upload", "--queue", str(qdir),
                                     "--url", f"http://127.0.0.1:{port}", "--within", "20"])
    assert later.exit_code == 0, later.output
    assert f"2 uploaded, 0 still queued in {qdir}, 0 refused" in later.output
    again = CliRunner().invoke(cli, ["probe", "upload", "--queue", str(qdir),
                                     "--url", f"http://127.0.0.1:{port}"])
    assert again.exit_code == 0 and "0 uploaded, 0 still queued" in again.output
    rows, found = _stored(tmp_path, collector)
    assert rows == 2 and sorted(v or "" for v in found.values()) == sorted(urls)


class HoldingProxy:
    """Forwards whole HTTP exchanges to ``upstream``; from exchange ``passing + 1`` on, the
    collector's answer is kept back (the collector has the measurement, the probe never
    hears so)."""

    def __init__(self, upstream: int, passing: int) -> None:
        self.upstream = upstream
        self.passing = passing
        self.held: list[bytes] = []
        self.holding = threading.Event()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._acceptor = threading.Thread(target=self._accept)
        self._acceptor.start()

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._open.append(client)
            thread = threading.Thread(target=self._serve, args=(client,))
            self._threads.append(thread)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        request = read_request(client)
        with socket.create_connection(("127.0.0.1", self.upstream)) as up:
            up.sendall(request)
            answer = b""
            while chunk := up.recv(65536):
                answer += chunk
        with self._lock:
            self.passing -= 1
            hold = self.passing < 0
        if hold:
            self.held.append(answer)
            self.holding.set()
            return  # the client waits for an answer that never comes
        client.sendall(answer)
        client.close()

    def close(self) -> None:
        self._stop.set()
        self._acceptor.join()
        self._listener.close()
        with self._lock:
            for sock in self._open:
                sock.close()
        for thread in self._threads:
            thread.join(10)


def test_killed_uploader_loses_and_duplicates_nothing(
    site: int, config: Path, tmp_path: Path, collector: CollectorProcess
) -> None:
    qdir = tmp_path / "queue"
    urls = [f"http://localhost:{site}/kill/{i}" for i in range(3)]
    queued = _run(config, *(a for u in urls for a in ("-i", u)), "--upload",
                  "http://127.0.0.1:9", "--upload-queue", str(qdir), "--upload-within", "0")
    assert queued.exit_code == 0, queued.output
    assert "kept only in the upload queue" in queued.output  # no --output: the queue is it
    assert f"0 uploaded, 3 still queued in {qdir}" in queued.output
    port = collector.start()
    proxy = HoldingProxy(port, passing=1)
    try:
        proc = subprocess.Popen(
            [str(EXE), "probe", "upload", "--queue", str(qdir),
             "--url", f"http://127.0.0.1:{proxy.port}", "--within", "60"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ),
        )
        try:
            assert proxy.holding.wait(30), "the uploader never sent the second measurement"
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(10) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            assert proc.stderr is not None
            proc.stderr.close()
    finally:
        proxy.close()
    queue = UploadQueue(qdir)
    assert len(queue.acked()) == 1 and len(queue.pending()) == 2  # the held one is still here
    held_uid = json.loads(proxy.held[0].partition(b"\r\n\r\n")[2])["measurement_uid"]

    # restart: the same queue, straight to the collector
    result = CliRunner().invoke(cli, ["probe", "upload", "--queue", str(qdir),
                                      "--url", f"http://127.0.0.1:{port}", "--within", "20"])
    assert result.exit_code == 0, result.output
    assert f"2 uploaded, 0 still queued in {qdir}" in result.output
    uids = [a["measurement_uid"] for a in queue.acked()]
    assert len(uids) == 3 and len(set(uids)) == 3
    assert held_uid in uids  # the resend got the collector's first uid back
    rows, found = _stored(tmp_path, collector)
    assert rows == 3 and sorted(v or "" for v in found.values()) == sorted(urls)


def test_refused_measurement_is_moved_aside_and_not_retried(
    site: int, config: Path, tmp_path: Path, collector: CollectorProcess
) -> None:
    qdir = tmp_path / "queue"
    bad_id = UploadQueue(qdir).put(b'{"probe_cc": "AM", "test_keys": ')  # torn JSON
    port = collector.start()
    url = f"http://127.0.0.1:{port}"
    result = _run(config, "-i", f"http://localhost:{site}/ok", "--upload", url,
                  "--upload-queue", str(qdir), "--upload-within", "20")
    assert result.exit_code == 0, result.output
    assert (f"1 uploaded, 0 still queued in {qdir}, 1 refused (see {qdir / 'refused'})"
            in result.output)
    queue = UploadQueue(qdir)
    [(entry_id, error)] = queue.refused()
    assert entry_id == bad_id
    assert error["status"] == 400 and error["error"]["error"]["code"] == 400
    assert error["error"]["error"]["message"].startswith("malformed JSON")
    assert (queue.refused_dir / f"{bad_id}.json").read_bytes().startswith(b'{"probe_cc"')
    before = (queue.refused_dir / f"{bad_id}.error.json").read_bytes()

    again = CliRunner().invoke(cli, ["probe", "upload", "--queue", str(qdir), "--url", url])
    assert again.exit_code == 0, again.output
    assert "0 uploaded, 0 still queued" in again.output and "0 refused" in again.output
    assert (queue.refused_dir / f"{bad_id}.error.json").read_bytes() == before  # not re-sent
    rows, found = _stored(tmp_path, collector)
    assert rows == 1 and list(found.values()) == [f"http://localhost:{site}/ok"]


def test_upload_options_are_checked(config: Path, tmp_path: Path) -> None:
    no_url = _run(config, "-i", "http://localhost/", "--upload-within", "5")
    assert no_url.exit_code == 2 and "need --upload" in no_url.output
    bad = _run(config, "-i", "http://localhost/", "--upload", "ftp://x/")
    assert bad.exit_code == 2 and "http(s)://" in bad.output
    missing = _run(config, "-i", "http://localhost/", "--upload-from-config")
    assert missing.exit_code == 2 and "no collector_url" in missing.output
    lab = tmp_path / "lab.json"
    lab.write_text(json.dumps({**json.loads(config.read_text()),
                               "collector_urls": ["http://127.0.0.1:9/"]}))
    started = time.monotonic()
    run = _run(lab, "-i", "http://127.0.0.1:9/", "--upload-from-config", "--upload-queue",
               str(tmp_path / "q"), "--upload-within", "0")
    assert run.exit_code == 0, run.output
    assert "--url http://127.0.0.1:9/" in run.output and time.monotonic() - started < 30
    nothing = CliRunner().invoke(cli, ["probe", "upload", "--queue", str(tmp_path / "none"),
                                       "--url", "http://127.0.0.1:9/"])
    assert nothing.exit_code == 0 and "nothing queued" in nothing.output
