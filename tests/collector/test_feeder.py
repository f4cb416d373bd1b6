"""The feeder: the store is fed from the spool and caught up at start (crash replay)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import orjson
import pytest

from censorscope.archive.index import ArchiveIndex
from censorscope.collector.sink import open_sink
from tests.collector.helpers import measurement, request, running_collector
from tests.store.storekit import drop_database, ensure_clickhouse, store_url

RID = "20240501T100000Z_webconnectivity_IT_30722_n1_abcdefghijklmnop"


async def _submit(port: int, i: int) -> str:
    status, body = await request(port, "POST", f"/report/{RID}",
                                 {"format": "json", "content": measurement(i)})
    assert status == 200, body
    return str(body["measurement_uid"])


def test_store_fed_then_sealed_at_stop(tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'store.duckdb'}"

    async def main() -> list[str]:
        async with running_collector(tmp_path / "a", sink=open_sink(url),
                                     seal_interval=0) as app:
            uids = await asyncio.gather(*(_submit(app.port, i) for i in range(50)))
            status, _ = await request(app.port, "POST", f"/report/{RID}",
                                      {"content": measurement(99, cc="FR")})
            assert status == 400
            return list(uids)

    uids = asyncio.run(main())
    sink = open_sink(url)
    try:
        assert sink.store.has(uids) == set(uids)
        assert sink.store.get_measurement(uids[0]).probe_cc == "IT"
        assert sink.store.count("measurements") == 50
    finally:
        sink.close()
    index = ArchiveIndex(tmp_path / "a")
    try:
        assert index.uids() == set(uids)  # sealed at stop, after the store had it all
    finally:
        index.close()
    # the cans are OONI-style JSONL.gz carrying the uids: importing them again adds nothing
    from censorscope.ingest import ingest

    cans = sorted(str(p) for p in (tmp_path / "a").glob("cans/*/*.jsonl.gz"))
    assert cans
    sink = open_sink(url)
    try:
        report = ingest(cans, sink.store)
        assert report.total("records") == 50 and report.total("ingested") == 0
        assert sink.store.count("measurements") == 50
    finally:
        sink.close()


def test_spool_not_yet_in_store_is_replayed_at_start(tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'store.duckdb'}"
    archive = tmp_path / "a"

    async def without_store() -> list[str]:  # as if the collector died before feeding
        async with running_collector(archive, seal_interval=0, seal_at_stop=False) as app:
            return list(await asyncio.gather(*(_submit(app.port, i) for i in range(20))))

    async def with_store() -> None:
        async with running_collector(archive, sink=open_sink(url), seal_interval=0):
            pass

    uids = asyncio.run(without_store())
    assert not (archive / "feeder.json").exists()
    asyncio.run(with_store())
    sink = open_sink(url)
    try:
        assert sink.store.has(uids) == set(uids)
        assert sink.store.count("measurements") == 20
    finally:
        sink.close()
    mark = orjson.loads((archive / "feeder.json").read_bytes())
    assert mark["segment"] >= 2  # moved past the sealed segment


@pytest.mark.clickhouse
@pytest.mark.parametrize("engine", ["clickhouse", "clickhouse_cluster"])
def test_store_fed_into_clickhouse(tmp_path: Path, engine: str) -> None:
    """``--store clickhouse://…`` works: the feeder writes the collector's measurements into a
    real ClickHouse store (one server, and two shards behind Distributed tables)."""
    ensure_clickhouse()
    database = f"cs_feeder_{uuid.uuid4().hex[:12]}"
    url = store_url(engine, database, tmp_path)
    try:
        async def main() -> list[str]:
            async with running_collector(tmp_path / "a", sink=open_sink(url),
                                         seal_interval=0) as app:
                return list(await asyncio.gather(*(_submit(app.port, i) for i in range(30))))

        uids = asyncio.run(main())
        sink = open_sink(url)
        try:
            assert type(sink.store).__name__ == "ClickHouseStore"
            assert sink.store.has(uids) == set(uids)
            assert sink.store.count("measurements") == 30
            from censorscope.ingest import rows_of

            for i in (0, 17, 29):  # the very row ingest makes of that measurement
                expected = rows_of({**measurement(i), "measurement_uid": uids[i]})[0]
                assert sink.store.get_measurement(uids[i]) == expected
        finally:
            sink.close()
    finally:
        drop_database(engine, database)
