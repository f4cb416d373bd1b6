"""Helpers for collector tests: measurements, raw HTTP over loopback, a collector process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson

from censorscope.collector.server import Collector, CollectorConfig

SRC = Path(__file__).resolve().parents[2] / "src"


def measurement(i: int, cc: str = "IT", asn: int = 30722,
                test_name: str = "web_connectivity", **extra: Any) -> dict[str, Any]:
    """A small but well-formed OONI measurement, distinct for every ``i``."""

    return {
        "annotations": {"platform": "linux"}, "data_format_version": "0.2.0",
        "input": f"https://site-{i}.example.org/", "measurement_start_time": "2024-05-01 10:00:00",
        "probe_asn": f"AS{asn}", "probe_cc": cc, "probe_ip": "127.0.0.1",
        "report_id": "", "software_name": "censorscope", "software_version": "0.1.0",
        "test_keys": {"blocking": False, "accessible": True, "n": i},
        "test_name": test_name, "test_runtime": 0.5, "test_start_time": "2024-05-01 10:00:00",
        "test_version": "0.5.28", **extra,
    }


async def request(
    port: int, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
    raw_body: bytes | None = None,
) -> tuple[int, Any]:
    """One request on a fresh connection; ``(status, parsed JSON)``."""

    data = raw_body if raw_body is not None else (b"" if body is None else orjson.dumps(body))
    hdrs = {"Host": "127.0.0.1", "Content-Type": "application/json",
            "Content-Length": str(len(data)), "Connection": "close", **(headers or {})}
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
    raw = await exchange(port, head.encode() + b"\r\n" + data)
    return parse_response(raw)


async def exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:  # noqa: ASYNC109
    """Send ``data``, read until the server closes."""

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(timeout):
            return await reader.read(-1)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def parse_response(raw: bytes) -> tuple[int, Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, (orjson.loads(body) if body else None)


@contextlib.asynccontextmanager
async def running_collector(archive: Path, **kwargs: Any) -> AsyncIterator[Collector]:
    """An in-process collector on a free loopback port."""

    sink = kwargs.pop("sink", None)
    kwargs.setdefault("port", 0)
    app = Collector(CollectorConfig(archive=archive, **kwargs), sink)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


class CollectorProcess:
    """``python -m censorscope.collector serve`` as a child process (killable)."""

    def __init__(self, archive: Path, *extra: str, port: int = 0) -> None:
        self.archive = archive
        self.extra = extra
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> int:
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        self.log = self.archive.parent / "collector.log"
        with self.log.open("ab") as log:
            self.proc = self._spawn(env, log)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            match = re.search(rb"listening on http://[^:]+:(\d+)", line)
            if match:
                self.port = int(match.group(1))
                return self.port
            if not line and self.proc.poll() is not None:
                break
        raise RuntimeError("the collector did not start: " + self.log.read_text()[-2000:])

    def _spawn(self, env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "censorscope.collector", "serve", "--archive",
             str(self.archive), "--port", str(self.port), *self.extra],
            stdout=subprocess.PIPE, stderr=log, env=env,
        )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._close()

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(30)
        self._close()
        return code

    def _close(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
