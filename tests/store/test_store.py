"""The store suite, run on every engine: DuckDB, one ClickHouse server, a two-shard cluster."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from storekit import dataset, open_test_store, reference_aggregate

from censorscope.store import migrations, open_store
from censorscope.store.base import AGGREGATE_KEYS, Store


@pytest.fixture(scope="module")
def rows():  # type: ignore[no-untyped-def]
    return dataset(copies=3)


def test_migrate_is_versioned_and_idempotent(store: Store) -> None:
    assert store.schema_version() == migrations.LATEST
    assert store.migrate() == []
    assert store.schema_version() == migrations.LATEST


def test_write_batch_round_trips_every_field(store: Store, rows) -> None:  # type: ignore[no-untyped-def]
    ms, obs, vs = rows
    assert store.write_batch(ms, obs, vs) == len(ms)
    assert store.count("measurements") == len(ms)
    assert store.count("observations") == len(obs)
    assert store.count("verdicts") == len(vs)
    by_uid: dict[str, list] = {}
    for o in obs:
        by_uid.setdefault(o.measurement_uid, []).append(o)
    for m in ms[::7]:
        assert store.get_measurement(m.measurement_uid) == m
        assert store.get_observations(m.measurement_uid) == by_uid.get(m.measurement_uid, [])
    v = vs[5]
    assert store.get_verdicts(v.measurement_uid) == [v]
    assert store.get_measurement("no-such-uid") is None


def test_write_batch_is_idempotent(store: Store, rows) -> None:  # type: ignore[no-untyped-def]
    ms, obs, vs = rows
    half = len(ms) // 2
    half_uids = {m.measurement_uid for m in ms[:half]}
    assert store.write_batch(ms[:half], [o for o in obs if o.measurement_uid in half_uids],
                             [v for v in vs if v.measurement_uid in half_uids]) == half
    # the whole set again, plus in-batch repeats: only the second half is new
    assert store.write_batch(ms + ms[:3], obs, vs) == len(ms) - half
    assert store.write_batch(ms, obs, vs) == 0
    assert store.count("measurements") == len(ms)
    assert store.count("observations") == len(obs)
    assert store.count("verdicts") == len(vs)
    assert store.has([ms[0].measurement_uid, "missing"]) == {ms[0].measurement_uid}
    assert store.query_aggregate(()) == reference_aggregate(ms, [])


def test_orphan_rows_are_refused(store: Store, rows) -> None:  # type: ignore[no-untyped-def]
    ms, obs, _ = rows
    with pytest.raises(ValueError, match="without its measurement"):
        other = [o for o in obs if o.measurement_uid != ms[0].measurement_uid]
        store.write_batch(ms[:1], other[:1])
    assert store.count("measurements") == 0


def test_write_verdicts_adds_new_rules_versions_once(store: Store, rows) -> None:  # type: ignore[no-untyped-def]
    ms, obs, vs = rows
    store.write_batch(ms[:10], [o for o in obs if o.measurement_uid in
                                {m.measurement_uid for m in ms[:10]}], vs[:10])
    newer = [v._replace(rules_version="test-2", rule_id="new") for v in vs[:10]]
    assert store.write_verdicts(newer + newer[:2]) == 10
    assert store.write_verdicts(newer) == 0
    assert store.count("verdicts") == 20
    got = store.get_verdicts(vs[0].measurement_uid)
    assert [g.rules_version for g in got] == ["test-1", "test-2"]
    assert got[1] == newer[0]


@pytest.mark.parametrize("keys", [
    ["probe_cc", "probe_asn", "test_name", "day"],
    ["test_name"],
    ["day", "blocking_type"],
    ["domain", "platform", "software_name"],
    [],
])
def test_query_aggregate_matches_reference(store: Store, rows, keys) -> None:  # type: ignore[no-untyped-def]
    ms, obs, vs = rows
    store.write_batch(ms, obs, vs)
    assert store.query_aggregate(keys) == reference_aggregate(ms, keys)


def test_query_aggregate_filters(store: Store, rows) -> None:  # type: ignore[no-untyped-def]
    ms, obs, vs = rows
    store.write_batch(ms, obs, vs)
    since, until = datetime(2022, 1, 1), date(2024, 1, 1)
    chosen = [m for m in ms if m.measurement_start_time is not None
              and since <= m.measurement_start_time < datetime(2024, 1, 1)
              and m.probe_cc in ("IT", "IR", "AM") and m.test_name != "signal"]
    assert chosen
    got = store.query_aggregate(["probe_cc", "test_name"], since=since, until=until,
                                probe_cc=["IT", "IR", "AM"],
                                test_name=sorted({m.test_name for m in ms} - {"signal"}))
    assert got == reference_aggregate(chosen, ["probe_cc", "test_name"])
    asn = ms[0].probe_asn
    assert store.query_aggregate(["probe_asn"], probe_asn=[asn]) == reference_aggregate(
        [m for m in ms if m.probe_asn == asn], ["probe_asn"])
    assert store.query_aggregate(["probe_cc"], probe_cc=[]) == []
    with pytest.raises(ValueError, match="cannot group by"):
        store.query_aggregate(["probe_ip"])
    assert "day" in AGGREGATE_KEYS


def test_store_survives_reopen(tmp_path: Path, rows) -> None:  # type: ignore[no-untyped-def]
    ms, obs, vs = rows
    url = f"duckdb://{tmp_path / 'reopen.duckdb'}"
    with open_store(url) as first:
        first.write_batch(ms[:20], [o for o in obs if o.measurement_uid in
                                    {m.measurement_uid for m in ms[:20]}], vs[:20])
    with open_store(url) as second:
        assert second.migrate() == []
        assert second.count("measurements") == 20
        assert second.get_measurement(ms[3].measurement_uid) == ms[3]


@pytest.mark.clickhouse
def test_cluster_aggregates_equal_duckdb(tmp_path: Path, rows) -> None:  # type: ignore[no-untyped-def]
    """The same data in DuckDB and in two ClickHouse shards behind Distributed tables gives
    equal aggregates, and the rows really are spread over both shards."""
    ms, obs, vs = rows
    duck_gen = open_test_store("duckdb", tmp_path)
    cluster_gen = open_test_store("clickhouse_cluster", tmp_path)
    duck, cluster = next(duck_gen), next(cluster_gen)
    try:
        for s in (duck, cluster):
            for i in range(0, len(ms), 40):  # several batches, one repeated
                chunk = ms[i:i + 40]
                uids = {m.measurement_uid for m in chunk}
                args = (chunk, [o for o in obs if o.measurement_uid in uids],
                        [v for v in vs if v.measurement_uid in uids])
                s.write_batch(*args)
                if i == 40:
                    s.write_batch(*args)
        for keys in (["probe_cc", "probe_asn", "test_name", "day"], ["day"], ["test_name"]):
            assert cluster.query_aggregate(keys) == duck.query_aggregate(keys)
        assert cluster.count("observations") == duck.count("observations") == len(obs)
        from clickhouse_driver import Client
        from storekit import CH_HOST, CH_PORT
        per_shard = []
        for port in (CH_PORT, CH_PORT + 1):
            client = Client(CH_HOST, port=port)
            try:
                db = cluster.database  # type: ignore[attr-defined]
                per_shard.append(client.execute(
                    f"SELECT count() FROM {db}.measurements_local FINAL")[0][0])
            finally:
                client.disconnect()
        assert sum(per_shard) == len(ms) and min(per_shard) > 0
    finally:
        for gen in (duck_gen, cluster_gen):
            gen.close()
