"""Collector throughput: sustained submissions/s from a local asyncio load generator, zero loss.

Starts ``censorscope collector serve`` as a child process on loopback (so the server and the
load generator each get a core), opens ``--connections`` keep-alive connections and submits
``--count`` distinct measurements (``POST /report/{id}``) as fast as the acks come back, for at
most ``--seconds``. Then stops the collector (SIGTERM: feed the store, seal the spool) and checks
that every acknowledged uid is in the archive index (and in the store with ``--store``).
Prints one JSON object.

    .venv/bin/python bench/collector.py --count 20000 --connections 64 [--store]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
RID = "20240501T100000Z_webconnectivity_IT_30722_n1_abcdefghijklmnop"


def _measurement(i: int) -> bytes:
    content = {
        "annotations": {"platform": "linux"}, "data_format_version": "0.2.0",
        "input": f"https://site-{i}.example.org/", "measurement_start_time": "2024-05-01 10:00:00",
        "probe_asn": "AS30722", "probe_cc": "IT", "probe_ip": "127.0.0.1", "report_id": RID,
        "software_name": "bench", "software_version": "0", "test_name": "web_connectivity",
        "test_runtime": 0.5, "test_start_time": "2024-05-01 10:00:00", "test_version": "0.5.28",
        "test_keys": {"accessible": True, "blocking": False, "queries": [
            {"answers": [{"answer_type": "A", "ipv4": "93.184.216.34"}], "engine": "system",
             "failure": None, "hostname": f"site-{i}.example.org", "query_type": "A", "t": 0.01}],
            "tcp_connect": [{"ip": "93.184.216.34", "port": 443,
                             "status": {"success": True, "failure": None}, "t": 0.02}]},
    }
    return orjson.dumps({"format": "json", "content": content})


async def _client(port: int, ids: list[int], acked: dict[int, str], errors: list[str],
                  deadline: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for i in ids:
            if time.monotonic() > deadline:
                return
            body = _measurement(i)
            writer.write(
                f"POST /report/{RID} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode() + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
            answer = orjson.loads(await reader.readexactly(length))
            if head.startswith(b"HTTP/1.1 200") and "measurement_uid" in answer:
                acked[i] = answer["measurement_uid"]
            else:
                errors.append(head.split(b"\r\n", 1)[0].decode())
    finally:
        writer.close()
        await writer.wait_closed()


def _start(archive: Path, store: str | None) -> tuple[subprocess.Popen[bytes], int]:
    args = [sys.executable, "-m", "censorscope.collector", "serve", "--archive", str(archive),
            "--port", "0", "--seal-interval", "0"]
    if store:
        args += ["--store", store]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(rb":(\d+)\s*$", line)
    if not match:
        proc.kill()
        raise SystemExit(f"collector did not start: {line!r}")
    return proc, int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--store", action="store_true", help="also feed a DuckDB store")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="censorscope-bench-") as tmp:
        archive = Path(tmp) / "archive"
        store_path = Path(tmp) / "store.duckdb"
        store = f"duckdb://{store_path}" if opts.store else None
        proc, port = _start(archive, store)
        acked: dict[int, str] = {}
        errors: list[str] = []
        try:
            ids = list(range(opts.count))
            chunks = [ids[k:: opts.connections] for k in range(opts.connections)]
            started = time.monotonic()

            async def run() -> None:
                deadline = started + opts.seconds
                await asyncio.gather(*(_client(port, c, acked, errors, deadline) for c in chunks))

            asyncio.run(run())
            elapsed = time.monotonic() - started
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)
            if proc.stdout is not None:
                proc.stdout.close()
        sys.path.insert(0, str(ROOT / "src"))
        from censorscope.archive.index import ArchiveIndex

        index = ArchiveIndex(archive)
        archived = index.uids()
        index.close()
        missing_archive = len(set(acked.values()) - archived)
        missing_store = None
        if opts.store:
            import duckdb

            con = duckdb.connect(str(store_path), read_only=True)
            rows = con.execute("SELECT measurement_uid FROM measurements").fetchall()
            stored = {r[0] for r in rows}
            con.close()
            missing_store = len(set(acked.values()) - stored)
        print(orjson.dumps({
            "bench": "collector", "store": "duckdb" if opts.store else None,
            "connections": opts.connections, "submitted": len(acked) + len(errors),
            "acked": len(acked), "errors": len(errors), "seconds": round(elapsed, 2),
            "submissions_per_s": round(len(acked) / elapsed, 1),
            "missing_in_archive": missing_archive, "missing_in_store": missing_store,
            "archived": len(archived), "cpus": os.cpu_count(),
        }).decode())


if __name__ == "__main__":
    main()
