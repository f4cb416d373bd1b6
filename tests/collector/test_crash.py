"""Acceptance: SIGKILL the collector several times under concurrent load, restart it; every
acknowledged measurement ends up in the store (DuckDB) and in the archive exactly once, and
no refused one does."""

from __future__ import annotations

import asyncio
import random
import socket
from pathlib import Path

import duckdb
import orjson
import pytest

from censorscope.archive.fetch import fetch_measurement
from censorscope.archive.index import ArchiveIndex
from censorscope.archive.spool import SpoolDir
from tests.collector.helpers import CollectorProcess, measurement, request

pytestmark = pytest.mark.slow

RID = "20240501T100000Z_webconnectivity_IT_30722_n1_abcdefghijklmnop"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_acknowledged_measurements_survive_sigkill(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    store = tmp_path / "store.duckdb"
    port = _free_port()
    proc = CollectorProcess(archive, "--store", f"duckdb://{store}", "--seal-interval", "1",
                            port=port)
    acked: dict[str, str] = {}  # input -> uid
    refused: set[str] = set()
    mismatched: list[tuple[str, str, str]] = []
    stop = asyncio.Event()
    counter = iter(range(10**9))

    async def worker(wid: int) -> None:
        rng = random.Random(wid)
        while not stop.is_set():
            n = next(counter)
            if rng.random() < 0.1 and acked:  # re-send something already acknowledged
                inp = rng.choice(list(acked))
                content = measurement(int(inp.split("-")[1].split(".")[0]))
            elif rng.random() < 0.1:  # refused: inconsistent with the report id
                content = measurement(n, cc="FR")
            else:
                content = measurement(n)
            try:
                status, body = await request(port, "POST", f"/report/{RID}",
                                             {"format": "json", "content": content})
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError,
                    IndexError):
                await asyncio.sleep(0.02)  # down: outcome unknown, neither acked nor refused
                continue
            inp = content["input"]
            if status == 200:
                uid = body["measurement_uid"]
                if inp in acked and acked[inp] != uid:
                    mismatched.append((inp, acked[inp], uid))
                acked.setdefault(inp, uid)
            elif 400 <= status < 500:
                refused.add(inp)
            else:
                await asyncio.sleep(0.02)

    async def main() -> None:
        await asyncio.to_thread(proc.start)
        workers = [asyncio.create_task(worker(i)) for i in range(16)]
        for _ in range(4):
            await asyncio.sleep(1.5)
            await asyncio.to_thread(proc.kill)
            await asyncio.sleep(0.2)
            await asyncio.to_thread(proc.start)
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*workers)
        code = await asyncio.to_thread(proc.terminate)
        assert code == 0, proc.log.read_text()[-3000:]

    asyncio.run(main())
    print(f"acked={len(acked)} refused={len(refused)}")
    assert len(acked) > 200, len(acked)
    assert refused and not (refused & set(acked))
    assert not mismatched, mismatched[:3]

    # archive: every acked uid is there, fetchable, exactly once; nothing refused is there
    index = ArchiveIndex(archive)
    try:
        sealed = index.uids()
        spooled = [r.uid for s in SpoolDir(archive).segments()
                   for _o, _e, r in SpoolDir(archive).read(s)]
        everything = list(sealed) + spooled
        assert sealed  # seals ran (and were interrupted) during the load
        assert len(everything) == len(set(everything))
        assert set(acked.values()) <= set(everything)
        for inp, uid in list(acked.items())[:: max(1, len(acked) // 50)]:
            body = fetch_measurement(archive, uid, index)
            assert body is not None and orjson.loads(body)["input"] == inp
    finally:
        index.close()

    # store: every acked uid exactly once, no duplicate content, nothing refused
    con = duckdb.connect(str(store), read_only=True)
    try:
        rows = con.execute("SELECT measurement_uid, input FROM measurements").fetchall()
    finally:
        con.close()
    uids = [uid for uid, _ in rows]
    inputs = [inp for _, inp in rows]
    assert len(uids) == len(set(uids)) and len(inputs) == len(set(inputs))
    assert set(acked.values()) <= set(uids)
    assert not (refused & set(inputs))
    assert set(uids) == set(everything)  # the store holds exactly what the archive holds
