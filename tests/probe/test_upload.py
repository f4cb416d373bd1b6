"""The probe's upload queue and uploader against a real collector on loopback."""

from __future__ import annotations

import asyncio
import random
import shutil
import socket
import time
from pathlib import Path

import orjson
import pytest

from censorscope.archive.fetch import fetch_measurement
from censorscope.probe.queue import Backoff, UploadQueue
from censorscope.probe.upload import Uploader
from tests.collector.helpers import measurement, running_collector

FAST = Backoff(base=0.05, cap=0.2)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    backoff = Backoff(base=1.0, cap=30.0, jitter=0.5)
    rng = random.Random(1)
    for attempts, ceiling in [(1, 1), (2, 2), (3, 4), (5, 16), (9, 30), (40, 30)]:
        delays = [backoff.delay(attempts, rng) for _ in range(200)]
        assert all(ceiling * 0.5 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling * 0.3  # jittered, not constant


@pytest.mark.parametrize("protocol", ["submit_measurement", "report"])
def test_queued_while_down_then_delivered_after_restart(tmp_path: Path, protocol: str) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    queue = UploadQueue(tmp_path / "queue")
    sent = [measurement(i) for i in range(5)]
    for msm in sent:
        queue.put(msm)

    async def down() -> None:
        stats = await Uploader(queue, url, protocol=protocol, backoff=FAST,
                               timeout=2).upload_once()
        assert (stats.acked, stats.deferred) == (0, 5)

    asyncio.run(down())
    pending = queue.pending()
    assert len(pending) == 5  # nothing deleted while unacknowledged
    assert all(e.attempts == 1 and e.next_attempt > time.time() - 1 and e.last_error
               for e in pending)

    async def up() -> list[str]:
        async with running_collector(tmp_path / "archive", port=port):
            # a new uploader on the same directory = the probe restarted
            again = Uploader(UploadQueue(tmp_path / "queue"), url, protocol=protocol,
                             backoff=FAST, timeout=5)
            stats = await again.drain(time.monotonic() + 10)
            assert stats.acked == 5 and stats.refused == 0
            return stats.uids

    uids = asyncio.run(up())
    assert queue.pending() == []
    logged = {a["measurement_uid"] for a in queue.acked()}
    assert logged == set(uids) and len(uids) == 5
    stored = {orjson.loads(fetch_measurement(tmp_path / "archive", uid) or b"{}")["input"]
              for uid in uids}
    assert stored == {m["input"] for m in sent}


def test_lost_acknowledgement_is_resent_identically_and_stored_once(tmp_path: Path) -> None:
    queue = UploadQueue(tmp_path / "queue")
    entry_id = queue.put(measurement(1))
    backup = tmp_path / "backup"
    backup.mkdir()

    async def main() -> tuple[str, str]:
        async with running_collector(tmp_path / "archive") as app:
            url = f"http://127.0.0.1:{app.port}"
            uploader = Uploader(queue, url, protocol="report", backoff=FAST)
            # first attempt: the report is opened and pinned, then we "crash" before the ack
            entry = queue.pending()[0]
            shutil.copy(entry.path, backup / entry.path.name)
            first = await uploader.upload_once()
            pinned = queue.acked()[0]["report_id"]
            assert pinned and pinned.split("_")[1] == "webconnectivity"
            state = {"attempts": 0, "next_attempt": 0, "last_error": None, "report_id": pinned}
            shutil.copy(backup / entry.path.name, queue.pending_dir / entry.path.name)
            (queue.pending_dir / f"{entry_id}.state").write_bytes(orjson.dumps(state))
            second = await Uploader(UploadQueue(tmp_path / "queue"), url,
                                    protocol="report").upload_once()
            assert app.archive is not None and app.archive.accepted == 1
            assert app.archive.duplicates == 1
            return first.uids[0], second.uids[0]

    first_uid, second_uid = asyncio.run(main())
    assert first_uid == second_uid


def test_refused_measurement_is_moved_aside_not_retried(tmp_path: Path) -> None:
    queue = UploadQueue(tmp_path / "queue")
    queue.put(measurement(1, test_name="no_such_test"))
    queue.put(measurement(2))

    async def main() -> None:
        async with running_collector(tmp_path / "archive") as app:
            uploader = Uploader(queue, f"http://127.0.0.1:{app.port}", backoff=FAST)
            stats = await uploader.upload_once()
            assert (stats.acked, stats.refused, stats.deferred) == (1, 1, 0)
            again = await uploader.upload_once()
            assert (again.acked, again.refused, again.deferred) == (0, 0, 0)

    asyncio.run(main())
    assert queue.pending() == []
    [(entry_id, error)] = queue.refused()
    assert error["status"] == 400 and error["error"]["error"] == {
        "code": 400, "message": "unknown test name 'no_such_test'"}
    kept = orjson.loads((queue.refused_dir / f"{entry_id}.json").read_bytes())
    assert kept["test_name"] == "no_such_test"  # the measurement itself is kept


def test_server_errors_are_retried_not_refused(tmp_path: Path) -> None:
    queue = UploadQueue(tmp_path / "queue")
    queue.put(measurement(1))
    hits = 0

    async def overloaded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal hits
        hits += 1
        await reader.readuntil(b"\r\n\r\n")
        body = b'{"error":{"code":503,"message":"try later"}}'
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main() -> None:
        server = await asyncio.start_server(overloaded, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            uploader = Uploader(queue, f"http://127.0.0.1:{port}", backoff=FAST)
            stats = await uploader.drain(time.monotonic() + 0.6)
            assert stats.acked == 0 and stats.refused == 0 and stats.deferred >= 2
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())
    [entry] = queue.pending()
    assert entry.attempts >= 2 and "503" in (entry.last_error or "")
    assert hits >= 2 and queue.refused() == []
