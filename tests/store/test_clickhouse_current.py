"""censorscope's ClickHouse SQL on a current ClickHouse: every statement of
``ClickHouseStore`` — the migrations' DDL, the inserts, the MAT aggregation, the keyset
search, the point reads of detection (with and without folding), the detection tables —
runs on chDB (an in-process build of a current ClickHouse release, ``tests/store/chdbkit.py``)
and gives what the DuckDB store gives for the same data: the real OONI samples ingested and
scored, and a TikTok blocking case run through detection.

No server is needed (so this runs everywhere the suite runs); the suite's ClickHouse servers
(Debian's 18.16) run the same SQL in the ``clickhouse``-marked tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from chdbkit import chdb_store
from detectkit import tiktok_case
from storekit import SAMPLE_DIRS, SAMPLES

from censorscope.ingest import ingest
from censorscope.ingest.detection import run_detection
from censorscope.store import migrations, open_store, schema
from censorscope.store.base import TIME_KEYS, Store
from censorscope.store.clickhouse_store import ClickHouseStore
from censorscope.store.detections import DETECTION_TABLES, DetectionWindow
from censorscope.store.points import FoldSpec
from censorscope.store.search import Keyset, SearchFilter

Pair = tuple[Store, ClickHouseStore]


def _fill(store: Store) -> None:
    report = ingest([str(SAMPLES / d) for d in SAMPLE_DIRS], store, analyze=True)
    assert report.total("errors") == 0 and report.total("ingested") > 50
    ms, vs = tiktok_case({29049: 20, 41997: 30, 28787: None})
    assert store.write_batch(ms, [], vs) == len(ms)
    run_detection(store, DetectionWindow())


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("chdb")
    duck = open_store(f"duckdb://{tmp / 'same.duckdb'}")
    ch, session = chdb_store(tmp / "chdb")
    try:
        for store in (duck, ch):
            _fill(store)
        yield duck, ch
    finally:
        duck.close()
        ch.close()
        session.close()


def _sql(ch: ClickHouseStore, query: str) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = ch._execute(query)
    return rows


def test_the_engine_is_a_current_release(pair: Pair) -> None:
    (version,), = _sql(pair[1], "SELECT version()")
    assert int(version.split(".")[0]) >= 24, version  # Debian's server is 18.16


def test_migrations_build_the_schema(pair: Pair) -> None:
    _, ch = pair
    assert ch.schema_version() == migrations.LATEST
    assert ch.migrate() == []  # applied once
    for table in schema.TABLES:
        got = _sql(ch, "SELECT name, type FROM system.columns WHERE database = 'censorscope' "
                       f"AND table = '{table}' ORDER BY position")
        want = [(c, schema.clickhouse_type(*k)) for c, k in
                zip(schema.columns(table), schema.kinds(table), strict=True)]
        assert got == want, table
        (engine, key), = _sql(ch, "SELECT engine, sorting_key FROM system.tables WHERE "
                                  f"database = 'censorscope' AND name = '{table}'")
        assert engine == "ReplacingMergeTree"
        assert key.strip("()").split(", ") == list(schema.KEYS[table])
    for table in DETECTION_TABLES:
        (engine,), = _sql(ch, "SELECT engine FROM system.tables WHERE database = "
                              f"'censorscope' AND name = '{table}'")
        assert engine == "ReplacingMergeTree"
    statements = [s for c in ch.chdb_clients for s in c.statements]  # type: ignore[attr-defined]
    assert any(s.startswith("INSERT INTO censorscope.measurements (") for s in statements)
    assert any(" FINAL" in s and "JOIN" in s for s in statements)  # the point read ran here


def test_every_row_equals_duckdb(pair: Pair) -> None:
    duck, ch = pair
    for table in schema.TABLES:
        assert ch.count(table) == duck.count(table) > 0, table
    uids = [u for batch in duck.iter_uids(batch=37) for u in batch]
    assert [u for batch in ch.iter_uids(batch=37) for u in batch] == uids
    assert len(uids) > 190 and ch.has([*uids[:5], "nope"]) == set(uids[:5])
    for uid in uids:
        assert ch.get_measurement(uid) == duck.get_measurement(uid), uid
        assert ch.get_observations(uid) == duck.get_observations(uid), uid
        assert ch.get_verdicts(uid) == duck.get_verdicts(uid), uid
    some = uids[::7]
    assert ch.get_observations_of(some, None) == duck.get_observations_of(some, None)
    assert ch.get_observations_of(some, "control") == duck.get_observations_of(some, "control")


@pytest.mark.parametrize("keys", [
    (), ("probe_cc",), ("probe_cc", "probe_asn", "test_name", "day"), ("domain", "input"),
    ("blocking_type", "platform", "software_name"), *[(k,) for k in TIME_KEYS],
    ("probe_cc", "week"), ("hour", "probe_asn"),
])
def test_mat_equals_duckdb(pair: Pair, keys: tuple[str, ...]) -> None:
    duck, ch = pair
    want = duck.query_aggregate(keys)
    assert ch.query_aggregate(keys) == want and want
    for filters in ({"probe_cc": ["AZ", "IT"]}, {"probe_asn": [29049, 30722]},
                    {"test_name": ["web_connectivity"], "domain": ["www.tiktok.com"]},
                    {"since": "2022-09-01T12:00:00", "until": "2022-09-02T06:30:00"},
                    {"input": ["https://www.tiktok.com/"]}, {"probe_cc": []}):
        kw = dict(filters)
        for bound in ("since", "until"):
            if bound in kw:
                kw[bound] = datetime.fromisoformat(kw[bound])  # type: ignore[arg-type]
        assert ch.query_aggregate(keys, **kw) == duck.query_aggregate(keys, **kw), filters


def _walk(store: Store, where: SearchFilter, order: str, limit: int) -> list[str]:
    out: list[str] = []
    after: Keyset | None = None
    while True:
        page = store.search_measurements(where, order=order, limit=limit, after=after)
        out += [r.measurement_uid for r in page]
        if len(page) < limit:
            return out
        last = page[-1]
        assert last.measurement_start_time is not None
        after = Keyset(last.measurement_start_time, last.measurement_uid)


@pytest.mark.parametrize("where", [
    SearchFilter(), SearchFilter(probe_cc=("AZ",), probe_asn=(29049, 41997)),
    SearchFilter(anomaly=True), SearchFilter(failure=False, confirmed=False),
    SearchFilter(test_name=("web_connectivity",), domain=("www.tiktok.com", "x.org")),
    SearchFilter(input="https://www.tiktok.com/"), SearchFilter(probe_cc=()),
])
def test_search_pages_equal_duckdb(pair: Pair, where: SearchFilter) -> None:
    duck, ch = pair
    for order in ("desc", "asc"):
        want = _walk(duck, where, order, 13)
        assert _walk(ch, where, order, 13) == want
        assert len(set(want)) == len(want)
    first = ch.search_measurements(where, limit=5)
    assert first == duck.search_measurements(where, limit=5)


def test_point_reads_equal_duckdb(pair: Pair) -> None:
    duck, ch = pair
    for kw in ({}, {"cc": "AZ"}, {"fold": FoldSpec()},
               {"fold": FoldSpec(keep_domains=frozenset({"www.tiktok.com"}),
                                 keep_tests=frozenset({"service"})), "cc": "AZ"}):
        want = [r for rows in duck.iter_point_rows(batch=50, **kw) for r in rows]  # type: ignore[arg-type]
        got = [r for rows in ch.iter_point_rows(batch=50, **kw) for r in rows]  # type: ignore[arg-type]
        assert got == want and want, kw
    assert ch.blocked_keys() == duck.blocked_keys() != set()


def test_detections_equal_duckdb(pair: Pair) -> None:
    duck, ch = pair
    for table in DETECTION_TABLES:
        want = duck.read_detections(table)
        assert ch.read_detections(table) == want, table
        for event in want[:3]:
            assert ch.read_detections(table, id=event["id"]) == [event]
        assert ch.read_detections(table, cc="AZ") == duck.read_detections(table, cc="AZ")
    assert [i["target"] for i in ch.read_detections("incidents")] == ["service:tiktok"]
    # detection run again replaces its results: the same rows, nothing doubled
    run_detection(ch, DetectionWindow())
    for table in DETECTION_TABLES:
        assert ch.read_detections(table) == duck.read_detections(table), table


def test_writes_are_idempotent_and_flags_update(pair: Pair) -> None:
    duck, ch = pair
    before = ch.count("measurements")
    report = ingest([str(SAMPLES / d) for d in SAMPLE_DIRS], ch, analyze=True)
    assert report.total("ingested") == 0 and ch.count("measurements") == before
    uid = next(iter(ch.iter_uids()))[0]
    assert ch.write_verdicts(ch.get_verdicts(uid)) == 0
    old = duck.get_measurement(uid)
    assert old is not None
    flip = (uid, not old.anomaly, old.confirmed, old.failure, "tcp_ip")
    try:
        for store in (duck, ch):
            assert store.update_flags([flip]) == 1
        assert ch.get_measurement(uid) == duck.get_measurement(uid) != old
        assert ch.query_aggregate(("blocking_type",)) == duck.query_aggregate(
            ("blocking_type",))
    finally:
        back = (uid, old.anomaly, old.confirmed, old.failure, old.blocking_type)
        for store in (duck, ch):
            store.update_flags([back])
    assert ch.get_measurement(uid) == old
