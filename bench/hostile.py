"""Hostile clients against a real collector process on loopback; prints JSON figures.

Three attacks, each against a fresh ``censorscope collector serve`` child process:

- ``slow-bodies``: ``--clients`` connections from 127.0.0.1 each send 15 MiB of a 16 MiB body
  and stall. Figures: the collector's resident memory before and its peak (``VmHWM`` from
  ``/proc``) during the attack, and the share of a normal client's submissions (from
  127.0.0.2, one every 50 ms) that succeed meanwhile.
- ``idle``: 1,100 idle sockets from 127.0.0.1, plus slow-header clients from 127.0.0.1 that
  reopen as soon as they are closed, for ``--seconds``; the share of normal requests (fresh
  connection each, from 127.0.0.2) that succeed.
- ``disk-full`` (root only: mounts a 2 MiB tmpfs as the archive): submissions until the spool
  refuses (503); how long ``/health`` takes to report the failure, the exit status of SIGTERM
  and whether it printed a traceback, then a restart with space (the tmpfs grown) and a check
  that every acknowledged measurement is in the archive exactly once.

    .venv/bin/python bench/hostile.py [--attack slow-bodies|idle|disk-full|all] [--seconds 30]

Every loop is bounded in count and time; only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
RID = "20240501T100000Z_webconnectivity_IT_30722_n1_abcdefghijklmnop"
ATTACKER = "127.0.0.1"
NORMAL = "127.0.0.2"
MIB = 1024 * 1024


def measurement(i: int, pad: int = 0) -> bytes:
    content = {
        "annotations": {"platform": "linux"}, "data_format_version": "0.2.0",
        "input": f"https://site-{i}.example.org/", "measurement_start_time": "2024-05-01 10:00:00",
        "probe_asn": "AS30722", "probe_cc": "IT", "probe_ip": "127.0.0.1", "report_id": RID,
        "software_name": "hostile", "software_version": "0", "test_name": "web_connectivity",
        "test_runtime": 0.5, "test_start_time": "2024-05-01 10:00:00", "test_version": "0.5.28",
        "test_keys": {"accessible": True, "blocking": False, "n": i, "pad": "x" * pad},
    }
    return orjson.dumps({"format": "json", "content": content})


def raise_file_limit(want: int = 8192) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


@dataclass
class Collector:
    """A collector child process; its stderr goes to ``log``."""

    archive: Path
    extra: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0
    log: Path = field(default_factory=Path)

    def start(self, timeout: float = 20.0) -> int:
        self.log = self.archive.parent / f"{self.archive.name}.collector.log"
        args = [sys.executable, "-m", "censorscope.collector", "serve", "--archive",
                str(self.archive), "--host", "127.0.0.1", "--port", "0",
                "--seal-interval", "0", *self.extra]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log,
                                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            match = re.search(rb":(\d+)\s*$", line)
            if match:
                self.port = int(match.group(1))
                return self.port
            if not line and self.proc.poll() is not None:
                break
        self.kill()
        raise RuntimeError("collector did not start: " + self.log.read_text()[-2000:])

    def status(self, key: str) -> int:
        """A ``kB`` field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``), in bytes."""

        assert self.proc is not None
        text = Path(f"/proc/{self.proc.pid}/status").read_text()
        match = re.search(rf"^{key}:\s+(\d+) kB", text, re.M)
        return int(match.group(1)) * 1024 if match else 0

    def terminate(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            if self.proc.stdout is not None:
                self.proc.stdout.close()

    def traceback(self) -> bool:
        return "Traceback" in self.log.read_text(errors="replace")


async def http(port: int, method: str, path: str, body: bytes = b"", *, source: str = NORMAL,
               timeout: float = 5.0) -> tuple[int, dict[str, Any], Any]:  # noqa: ASYNC109
    """One request on a fresh connection from ``source``: ``(status, headers, JSON)``;
    status 0 when the connection failed or timed out."""

    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port,
                                                          local_addr=(source, 0))
            writer.write(f"{method} {path} HTTP/1.1\r\nHost: c\r\nContent-Type: application/json"
                         f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                         .encode() + body)
            raw = await reader.read(-1)
    except (OSError, TimeoutError):
        return 0, {}, None
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    head, _, data = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ")[1])
        payload = orjson.loads(data) if data else None
    except (IndexError, ValueError, orjson.JSONDecodeError):
        return 0, {}, None
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    return status, headers, payload


async def normal_client(port: int, until: float, stop: asyncio.Event, base: int,
                        interval: float = 0.05, max_requests: int = 100_000) -> tuple[int, int]:
    """Submit distinct measurements from 127.0.0.2 until ``until`` / ``stop``: (ok, sent)."""

    ok = sent = 0
    while time.monotonic() < until and not stop.is_set() and sent < max_requests:
        status, _h, payload = await http(port, "POST", f"/report/{RID}",
                                         measurement(base + sent))
        sent += 1
        if status == 200 and isinstance(payload, dict) and "measurement_uid" in payload:
            ok += 1
        await asyncio.sleep(interval)
    return ok, sent


# ---------------------------------------------------------------------------- slow bodies

async def _slow_body(port: int, until: float, declared: int, send: int) -> str:
    """Send ``send`` bytes of a ``declared``-byte body and stall until ``until``."""

    writer: asyncio.StreamWriter | None = None
    chunk = b"x" * MIB
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port,
                                                      local_addr=(ATTACKER, 0))
        writer.write(f"POST /report/{RID} HTTP/1.1\r\nHost: c\r\nContent-Type: "
                     f"application/json\r\nContent-Length: {declared}\r\n\r\n".encode())
        sent = 0
        while sent < send and time.monotonic() < until:
            part = chunk[: min(MIB, send - sent)]
            writer.write(part)
            async with asyncio.timeout(max(0.1, until - time.monotonic())):
                await writer.drain()
            sent += len(part)
        left = until - time.monotonic()
        if left > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    answer = await reader.read(64)
                    return "answered" if answer else "closed"
        return "held"
    except (OSError, TimeoutError):
        return "reset"
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def slow_bodies(clients: int = 100, seconds: float = 20.0, extra: tuple[str, ...] = ()
                ) -> dict[str, Any]:
    raise_file_limit()
    with tempfile.TemporaryDirectory(prefix="censorscope-hostile-") as tmp:
        app = Collector(Path(tmp) / "archive", extra)
        port = app.start()
        try:
            async def warm() -> int:  # a few normal submissions first: a realistic baseline
                ok, _ = await normal_client(port, time.monotonic() + 2, asyncio.Event(), 0,
                                            interval=0.0, max_requests=200)
                return ok

            asyncio.run(warm())
            before = app.status("VmRSS")

            async def attack() -> tuple[list[str], tuple[int, int]]:
                until = time.monotonic() + seconds
                stop = asyncio.Event()
                attackers = [asyncio.create_task(_slow_body(port, until, 16 * MIB, 15 * MIB))
                             for _ in range(clients)]
                await asyncio.sleep(min(2.0, seconds / 4))  # let the bodies arrive first
                normal = await normal_client(port, until, stop, 1_000_000)
                return list(await asyncio.gather(*attackers)), normal

            outcomes, (ok, sent) = asyncio.run(attack())
            peak = app.status("VmHWM")
            code = app.terminate()
        finally:
            app.kill()
        return {
            "attack": "slow-bodies", "clients": clients, "seconds": seconds,
            "rss_before_mib": round(before / MIB, 1), "peak_rss_mib": round(peak / MIB, 1),
            "attackers": {k: outcomes.count(k) for k in sorted(set(outcomes))},
            "normal_ok": ok, "normal_sent": sent,
            "normal_success_pct": round(100 * ok / max(sent, 1), 2), "exit_status": code,
            "traceback": app.traceback(),
        }


# ------------------------------------------------------------------ idle and slow headers

async def _slow_header(port: int, until: float, max_reopen: int) -> int:
    """A client that sends its head a byte per second and reopens when closed; connections."""

    opened = 0
    while time.monotonic() < until and opened < max_reopen:
        opened += 1
        writer: asyncio.StreamWriter | None = None
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port,
                                                          local_addr=(ATTACKER, 0))
            for byte in b"POST /report HTTP/1.1\r\nHost: c\r\nX-Slow: " + b"a" * 4000:
                if time.monotonic() >= until or reader.at_eof():
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        if not await reader.read(256):
                            break
        except (OSError, TimeoutError):
            pass
        finally:
            if writer is not None:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
        await asyncio.sleep(0.02)
    return opened


def idle_sockets(idle: int = 1100, slow: int = 200, seconds: float = 30.0,
                 extra: tuple[str, ...] = ()) -> dict[str, Any]:
    import socket

    raise_file_limit(idle + slow + 1024)
    with tempfile.TemporaryDirectory(prefix="censorscope-hostile-") as tmp:
        app = Collector(Path(tmp) / "archive", extra)
        port = app.start()
        socks: list[socket.socket] = []
        try:
            deadline = time.monotonic() + 20
            for _ in range(idle):
                if time.monotonic() > deadline:
                    break
                sock = socket.socket()
                sock.bind((ATTACKER, 0))
                sock.settimeout(5)
                try:
                    sock.connect(("127.0.0.1", port))
                except OSError:
                    sock.close()
                    continue
                socks.append(sock)

            async def attack() -> tuple[list[int], tuple[int, int]]:
                until = time.monotonic() + seconds
                slows = [asyncio.create_task(_slow_header(port, until, 10_000))
                         for _ in range(slow)]
                normal = await normal_client(port, until, asyncio.Event(), 0, interval=0.02)
                return list(await asyncio.gather(*slows)), normal

            reopened, (ok, sent) = asyncio.run(attack())
            code = app.terminate()
        finally:
            for sock in socks:
                sock.close()
            app.kill()
        return {
            "attack": "idle+slow-headers", "idle_sockets": len(socks), "slow_clients": slow,
            "slow_connections_opened": sum(reopened), "seconds": seconds,
            "normal_ok": ok, "normal_sent": sent,
            "normal_success_pct": round(100 * ok / max(sent, 1), 2), "exit_status": code,
            "traceback": app.traceback(),
        }


# ---------------------------------------------------------------------------- disk full

def archived_uids(archive: Path) -> list[str]:
    """Every uid in the archive index (sealed cans), with repeats if any."""

    con = sqlite3.connect(archive / "index.sqlite")
    try:
        return [row[0] for row in con.execute("SELECT uid FROM measurements")]
    finally:
        con.close()


def disk_full(size: str = "2m", max_submissions: int = 5000,
              extra: tuple[str, ...] = ()) -> dict[str, Any]:
    if os.geteuid() != 0:
        return {"attack": "disk-full", "skipped": "needs root (mount -t tmpfs)"}
    with tempfile.TemporaryDirectory(prefix="censorscope-hostile-") as tmp:
        archive = Path(tmp) / "archive"
        archive.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(archive)],
                       check=True)
        try:
            return _disk_full(archive, max_submissions, extra)
        finally:
            subprocess.run(["umount", "-l", str(archive)], check=False)


def _disk_full(archive: Path, max_submissions: int, extra: tuple[str, ...]) -> dict[str, Any]:
    app = Collector(archive, extra)
    port = app.start()
    acked: list[str] = []
    try:
        async def fill() -> dict[str, Any]:
            status = 0
            health_before, _h, _p = await http(port, "GET", "/health")
            for i in range(max_submissions):
                status, headers, payload = await http(port, "POST", f"/report/{RID}",
                                                      measurement(i, pad=20_000))
                if status == 200 and isinstance(payload, dict):
                    acked.append(payload["measurement_uid"])
                elif status == 503:
                    break
            failed_at = time.monotonic()
            health, health_body, seen = 0, None, None
            while time.monotonic() - failed_at < 5:
                health, _h, health_body = await http(port, "GET", "/health")
                if health == 503:
                    seen = time.monotonic() - failed_at
                    break
                await asyncio.sleep(0.05)
            return {"health_before": health_before, "first_refusal": status,
                    "refusal_retry_after": headers.get("retry-after"),
                    "health_status": health, "health_latency_s":
                    None if seen is None else round(seen, 3), "health": health_body}

        figures = asyncio.run(fill())
        code = app.terminate()
        traceback = app.traceback()
    finally:
        app.kill()
    subprocess.run(["mount", "-o", "remount,size=256m", str(archive)], check=True)
    again = Collector(archive, extra)
    again.start()
    restart_code = again.terminate()
    uids = archived_uids(archive)
    counted: dict[str, int] = {}
    for uid in uids:
        counted[uid] = counted.get(uid, 0) + 1
    return {
        "attack": "disk-full", **figures, "acked": len(acked), "exit_status": code,
        "traceback": traceback, "restart_exit_status": restart_code,
        "acked_missing": sum(1 for uid in acked if uid not in counted),
        "acked_repeated": sum(1 for uid in acked if counted.get(uid, 0) > 1),
        "archived": len(uids), "restart_traceback": again.traceback(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attack", default="all",
                        choices=["all", "slow-bodies", "idle", "disk-full"])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=100)
    opts = parser.parse_args()
    if opts.attack in ("all", "slow-bodies"):
        print(orjson.dumps(slow_bodies(opts.clients, opts.seconds)).decode(), flush=True)
    if opts.attack in ("all", "idle"):
        print(orjson.dumps(idle_sockets(seconds=opts.seconds)).decode(), flush=True)
    if opts.attack in ("all", "disk-full"):
        print(orjson.dumps(disk_full()).decode(), flush=True)


if __name__ == "__main__":
    main()
