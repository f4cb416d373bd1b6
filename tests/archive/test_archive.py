"""Spool framing and recovery, group commit, sealing into cans, the index and fetch-by-uid."""

from __future__ import annotations

import asyncio
import gzip
import os
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from censorscope.archive.cans import read_member, with_uid
from censorscope.archive.fetch import fetch_measurement
from censorscope.archive.index import ArchiveIndex
from censorscope.archive.live import ArchiveBusyError, LiveArchive
from censorscope.archive.records import SpoolRecord, encode_record
from censorscope.archive.seal import recover, seal_segment
from censorscope.archive.spool import SpoolDir, SpoolWriter
from censorscope.model.ids import body_digest, submission_uid


def _record(i: int, cc: str = "IT", test: str = "web_connectivity") -> SpoolRecord:
    body = orjson.dumps({"probe_cc": cc, "test_name": test, "n": i})
    digest = body_digest(body)
    when = datetime(2024, 5, 1, 10, i % 60, tzinfo=UTC)
    return SpoolRecord(submission_uid(when, cc, test, digest), digest, cc, 1, test,
                       "rid", when.isoformat(timespec="microseconds"), body)


def test_torn_tail_is_cut_on_recovery(tmp_path: Path) -> None:
    spool = SpoolDir(tmp_path)
    writer = SpoolWriter(spool)
    writer.append([encode_record(_record(i)) for i in range(3)])
    good_end = writer.end
    writer.close()
    path = spool.segment_path(1)
    with path.open("ab") as handle:  # half a record, as a crash mid-write leaves it
        handle.write(encode_record(_record(99))[:30])
    reopened = SpoolWriter(spool)
    assert reopened.end == good_end and path.stat().st_size == good_end
    reopened.append([encode_record(_record(4))])
    reopened.close()
    assert [r.body for _o, _e, r in spool.read(1)] == [_record(i).body for i in (0, 1, 2, 4)]


def test_corrupt_record_stops_reading(tmp_path: Path) -> None:
    spool = SpoolDir(tmp_path)
    writer = SpoolWriter(spool)
    writer.append([encode_record(_record(i)) for i in range(2)])
    writer.close()
    data = bytearray(spool.segment_path(1).read_bytes())
    data[-3] ^= 0xFF  # CRC no longer matches
    spool.segment_path(1).write_bytes(bytes(data))
    assert len(list(spool.read(1))) == 1


def test_group_commit_batches_concurrent_appends(tmp_path: Path) -> None:
    async def main() -> None:
        live = LiveArchive(tmp_path)
        live.start()
        try:
            recs = [_record(i) for i in range(500)]
            results = await asyncio.gather(*(
                live.put(r.body, r.digest, r.uid, cc=r.cc, asn=1, test_name=r.test_name,
                         report_id="rid", received=datetime.now(UTC)) for r in recs))
            assert all(new for _uid, new in results)
            assert live.group.batches < 100  # far fewer fsyncs than measurements
            assert len(list(live.spool.read(1))) == 500
        finally:
            await live.close()
    asyncio.run(main())


def test_second_writer_is_refused(tmp_path: Path) -> None:
    async def main() -> None:
        live = LiveArchive(tmp_path)
        try:
            with pytest.raises(ArchiveBusyError):
                LiveArchive(tmp_path)
        finally:
            live.start()
            await live.close()
    asyncio.run(main())


def test_seal_writes_cans_by_hour_cc_test_and_index_fetches_one_member(tmp_path: Path) -> None:
    spool = SpoolDir(tmp_path)
    writer = SpoolWriter(spool)
    recs = [_record(i, cc=cc, test=t) for i, (cc, t) in enumerate(
        [("IT", "web_connectivity"), ("AZ", "web_connectivity"), ("IT", "telegram")] * 10)]
    writer.append([encode_record(r) for r in recs])
    writer.rotate()
    writer.close()
    index = ArchiveIndex(tmp_path)
    assert seal_segment(tmp_path, index, 1) == 30
    assert not spool.segment_path(1).exists()
    cans = sorted(p.name for p in tmp_path.glob("cans/20240501/*.jsonl.gz"))
    assert cans == ["2024050110_AZ_web_connectivity.s0000000001.jsonl.gz",
                    "2024050110_IT_telegram.s0000000001.jsonl.gz",
                    "2024050110_IT_web_connectivity.s0000000001.jsonl.gz"]
    for path in tmp_path.glob("cans/*/*.gz"):  # each can is a normal JSONL.gz
        lines = gzip.decompress(path.read_bytes()).splitlines()
        assert len(lines) == 10 and all(orjson.loads(line)["n"] >= 0 for line in lines)
    for rec in recs:
        loc = index.locate(rec.uid)
        assert loc is not None
        line = read_member(tmp_path, loc.can, loc.offset, loc.length)
        assert orjson.loads(line) == {"measurement_uid": rec.uid, **orjson.loads(rec.body)}
        assert fetch_measurement(tmp_path, rec.uid, index) == line
        assert index.uid_for_digest(rec.digest) == rec.uid
    assert index.count() == 30 and index.max_sealed() == 1
    index.close()
    # a new writer never reuses a sealed segment number
    index = ArchiveIndex(tmp_path)
    writer = SpoolWriter(spool, min_segment=index.max_sealed() + 1)
    assert writer.segment >= 2
    writer.close()
    index.close()


def test_interrupted_seal_is_finished_or_undone(tmp_path: Path) -> None:
    spool = SpoolDir(tmp_path)
    writer = SpoolWriter(spool)
    recs = [_record(i) for i in range(5)]
    writer.append([encode_record(r) for r in recs])
    writer.rotate()
    writer.close()
    index = ArchiveIndex(tmp_path)
    # crash before the index commit: a leftover temporary can, segment still there
    stale = tmp_path / "cans/20240501/2024050110_IT_web_connectivity.s0000000001.jsonl.gz.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"partial")
    recover(tmp_path, index)
    assert not stale.exists() and spool.segment_path(1).exists()
    assert seal_segment(tmp_path, index, 1) == 5
    # crash after the commit but before the rename and the segment deletion
    can = next(tmp_path.glob("cans/*/*.jsonl.gz"))
    os.replace(can, can.with_name(can.name + ".tmp"))
    spool.segment_path(1).write_bytes(b"")  # the segment had not been deleted yet
    recover(tmp_path, index)
    assert can.exists() and not spool.segment_path(1).exists()
    assert all(fetch_measurement(tmp_path, r.uid) == with_uid(r.body, r.uid) for r in recs)
    assert index.count() == 5
    index.close()


def test_with_uid_puts_the_uid_first() -> None:
    assert orjson.loads(with_uid(b'{"a": 1}', "U")) == {"measurement_uid": "U", "a": 1}
    assert with_uid(b"{}", "U") == b'{"measurement_uid":"U"}'
    assert list(orjson.loads(with_uid(b'{"z":1,"a":2}', "U"))) == ["measurement_uid", "z", "a"]


def test_fetch_finds_spooled_measurements_and_misses_unknown(tmp_path: Path) -> None:
    spool = SpoolDir(tmp_path)
    writer = SpoolWriter(spool)
    rec = _record(1)
    writer.append([encode_record(rec)])
    writer.close()
    assert fetch_measurement(tmp_path, rec.uid) == with_uid(rec.body, rec.uid)
    assert fetch_measurement(tmp_path, "20240501100000.000000_IT_x_0000000000000000") is None


def test_cancelled_caller_waits_for_the_thread_to_finish() -> None:
    import threading
    import time

    from censorscope.archive.threads import finish_in_thread

    started = threading.Event()
    finished = threading.Event()

    def work() -> None:
        started.set()
        time.sleep(0.2)
        finished.set()

    async def main() -> None:
        task = asyncio.create_task(finish_in_thread(work))
        assert await asyncio.to_thread(started.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert finished.is_set()  # the cancellation did not cut the work loose

    asyncio.run(main())
