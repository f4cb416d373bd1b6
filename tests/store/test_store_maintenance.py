"""Maintenance API of the store, on every engine: ``iter_uids`` streams every stored uid in
bounded sorted batches, ``update_flags`` rewrites only the MAT flags of stored measurements, and
reads can follow one another (and a suspended ``iter_uids``) on the one connection."""

from __future__ import annotations

import pytest
from storekit import dataset, reference_aggregate

from censorscope.pipeline.observe import MeasurementRow
from censorscope.store.base import Store


@pytest.fixture(scope="module")
def rows():  # type: ignore[no-untyped-def]
    return dataset(copies=2)


def _all_uids(store: Store, batch: int = 10_000) -> list[str]:
    return [uid for chunk in store.iter_uids(batch) for uid in chunk]


def test_iter_uids_streams_sorted_bounded_batches(store: Store, rows) -> None:  # type: ignore[no-untyped-def]
    assert list(store.iter_uids()) == []
    ms, obs, vs = rows
    store.write_batch(ms, obs, vs)
    batches = list(store.iter_uids(batch=7))
    expected = sorted({m.measurement_uid for m in ms})
    assert [uid for b in batches for uid in b] == expected
    assert all(len(b) == 7 for b in batches[:-1]) and 1 <= len(batches[-1]) <= 7
    assert len(batches) == -(-len(expected) // 7)
    assert _all_uids(store) == expected  # default batch: one batch here
    with pytest.raises(ValueError, match="batch"):
        list(store.iter_uids(0))


def test_reads_interleave_on_one_connection(store: Store, rows) -> None:  # type: ignore[no-untyped-def]
    """count() then has() (the collector's reported ResourceInUseException on DuckDB), and
    queries while an iter_uids generator is suspended between batches."""
    ms, obs, vs = rows
    store.write_batch(ms, obs, vs)
    uids = [m.measurement_uid for m in ms]
    assert store.count("measurements") == len(ms)
    assert store.has(uids) == set(uids)
    assert store.count("verdicts") == len(vs)
    assert store.get_measurement(uids[0]) == ms[0]
    assert store.has([uids[1], "missing"]) == {uids[1]}
    it = store.iter_uids(batch=5)
    first = next(it)
    assert store.has(first) == set(first)  # a query between two batches
    assert store.count("measurements") == len(ms)
    store.update_flags([(first[0], True, True, False, "dns")])
    rest = [uid for b in it for uid in b]
    assert first + rest == sorted(uids)


def _flipped(m: MeasurementRow) -> MeasurementRow:
    anomaly = not m.anomaly
    return m._replace(anomaly=anomaly, confirmed=anomaly and not m.confirmed,
                      failure=not m.failure, blocking_type="tcp_ip" if anomaly else None)


def _flags(m: MeasurementRow) -> tuple[str, bool, bool, bool, str | None]:
    return (m.measurement_uid, m.anomaly, m.confirmed, m.failure, m.blocking_type)


def test_update_flags_rewrites_only_the_flags(store: Store, rows) -> None:  # type: ignore[no-untyped-def]
    ms, obs, vs = rows
    store.write_batch(ms, obs, vs)
    chosen = ms[::3]
    changed = [_flipped(m) for m in chosen]
    assert store.update_flags([_flags(m) for m in changed] + [
        ("no-such-uid", True, False, False, None)]) == len(changed)
    expected = {m.measurement_uid: m for m in ms} | {m.measurement_uid: m for m in changed}
    for m in changed[:5] + ms[1:6]:
        assert store.get_measurement(m.measurement_uid) == expected[m.measurement_uid]
    assert store.get_measurement("no-such-uid") is None
    assert store.count("measurements") == len(ms)
    assert _all_uids(store) == sorted(expected)
    final = list(expected.values())
    for keys in ([], ["probe_cc", "test_name"], ["blocking_type"]):
        assert store.query_aggregate(keys) == reference_aggregate(final, keys)
    # again with the same flags: nothing changes; a repeated uid in one call: the last wins
    store.update_flags([_flags(m) for m in changed])
    back = chosen[0]
    store.update_flags([_flags(changed[0]), _flags(back)])
    assert store.get_measurement(back.measurement_uid) == back
    assert store.count("measurements") == len(ms)
    assert store.query_aggregate(["probe_cc"]) == reference_aggregate(
        final[:0] + [expected[u] if u != back.measurement_uid else back for u in expected],
        ["probe_cc"])
    assert store.get_observations(back.measurement_uid) == [
        o for o in obs if o.measurement_uid == back.measurement_uid]
    assert store.update_flags([]) == 0
