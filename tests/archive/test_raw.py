"""The raw body of a stored row read back (``censorscope.archive.raw.read_raw``): from the
collector's archive by uid (spooled, then sealed into a can), and from a file ingest read
(plain and gzip); a changed file or a row of another measurement gives None."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest

from censorscope.archive.raw import ARCHIVE_PREFIX, read_raw
from censorscope.collector.sink import open_sink
from censorscope.ingest import ingest
from censorscope.store import open_store
from tests.collector.helpers import measurement, request, running_collector

RID = "20240501T100000Z_webconnectivity_IT_30722_n1_abcdefghijklmnop"


def _collect(archive: Path, url: str, count: int) -> list[tuple[str, dict[str, Any]]]:
    """``count`` measurements submitted to a real collector feeding ``url`` (sealed at stop)."""

    async def main() -> list[tuple[str, dict[str, Any]]]:
        async with running_collector(archive, sink=open_sink(url, archive),
                                     seal_interval=0) as app:
            sent = []
            for i in range(count):
                body = measurement(i)
                status, answer = await request(app.port, "POST", f"/report/{RID}",
                                               {"format": "json", "content": body})
                assert status == 200, answer
                sent.append((str(answer["measurement_uid"]), body))
            return sent

    return asyncio.run(main())


def test_rows_fed_by_the_collector_read_their_bodies_from_the_archive(tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'store.duckdb'}"
    sent = _collect(tmp_path / "archive", url, 5)
    with open_store(url, read_only=True) as store:
        for uid, body in sent:
            row = store.get_measurement(uid)
            assert row is not None
            assert row.archive_file == ARCHIVE_PREFIX + str((tmp_path / "archive").resolve())
            raw = read_raw(row)
            assert raw is not None
            assert raw.pop("measurement_uid") == uid  # the archive adds the uid, first
            assert raw == body
    # sealed: the bodies come from the cans the index names
    assert list((tmp_path / "archive").glob("cans/*/*.jsonl.gz"))


def test_an_archive_that_moved_gives_none(tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'store.duckdb'}"
    sent = _collect(tmp_path / "archive", url, 2)
    (tmp_path / "archive").rename(tmp_path / "elsewhere")
    with open_store(url, read_only=True) as store:
        row = store.get_measurement(sent[0][0])
        assert row is not None and read_raw(row) is None
        # pointed at another measurement's location, the body is not this row's
        other = store.get_measurement(sent[1][0])
        assert other is not None
    moved = row._replace(archive_file=ARCHIVE_PREFIX + str(tmp_path / "elsewhere"))
    assert read_raw(moved) is not None
    assert read_raw(moved._replace(measurement_uid=sent[1][0] + "x")) is None


def test_rows_of_ingested_files_plain_and_gzip(tmp_path: Path) -> None:
    bodies = [measurement(i) for i in range(3)]
    plain = tmp_path / "m.jsonl"
    plain.write_bytes(b"".join(orjson.dumps(b) + b"\n" for b in bodies))
    packed = tmp_path / "g.jsonl.gz"
    packed.write_bytes(gzip.compress(b"".join(
        orjson.dumps({**b, "probe_asn": "AS3269"}) + b"\n" for b in bodies)))
    url = f"duckdb://{tmp_path / 'store.duckdb'}"
    with open_store(url) as store:
        report = ingest([str(plain), str(packed)], store, analyze=False)
        assert report.total("ingested") == 6
    with open_store(url, read_only=True) as store:
        rows = [store.get_measurement(u) for batch in store.iter_uids() for u in batch]
    got = sorted((r.archive_file, r.probe_asn, read_raw(r)["probe_asn"]) for r in rows
                 if r is not None and read_raw(r) is not None)
    assert got == sorted([(str(plain), 30722, "AS30722")] * 3
                         + [(str(packed), 3269, "AS3269")] * 3)
    # the file changed since: the bytes at the offset are no longer the measurement
    plain.write_bytes(b" " + plain.read_bytes())
    row = next(r for r in rows if r is not None and r.archive_file == str(plain))
    assert read_raw(row) is None


def test_a_file_ingested_by_a_relative_path_is_read_from_anywhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "m.jsonl").write_bytes(orjson.dumps(measurement(7)) + b"\n")
    url = f"duckdb://{tmp_path / 'store.duckdb'}"
    monkeypatch.chdir(tmp_path / "in")
    with open_store(url) as store:
        assert ingest(["m.jsonl"], store, analyze=False).total("ingested") == 1
    monkeypatch.chdir(tmp_path)
    with open_store(url, read_only=True) as store:
        (row,) = [store.get_measurement(u) for batch in store.iter_uids() for u in batch]
    assert row is not None and row.archive_file == str(tmp_path / "in" / "m.jsonl")
    raw = read_raw(row)
    assert raw is not None and raw["test_keys"]["n"] == 7


def test_a_gzip_file_rewritten_since_the_last_read_is_read_again(tmp_path: Path) -> None:
    """The decompressed file kept for the next read is dropped when the file changes."""
    packed = tmp_path / "g.jsonl.gz"
    packed.write_bytes(gzip.compress(b"".join(orjson.dumps(measurement(i)) + b"\n"
                                              for i in range(3))))
    url = f"duckdb://{tmp_path / 'store.duckdb'}"
    with open_store(url) as store:
        assert ingest([str(packed)], store, analyze=False).total("ingested") == 3
        rows = [store.get_measurement(u) for batch in store.iter_uids() for u in batch]
    assert all(r is not None and read_raw(r) is not None for r in rows)
    packed.write_bytes(gzip.compress(b"\n" + b"".join(orjson.dumps(measurement(i)) + b"\n"
                                                      for i in range(3))))
    assert [read_raw(r) for r in rows if r is not None] == [None, None, None]
