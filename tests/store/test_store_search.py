"""The API's store queries on every engine: keyset search pages and the MAT's time grains.

Each result is checked against a Python oracle over the same rows, and (``clickhouse``) the
two-shard cluster gives exactly what DuckDB gives."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from storekit import dataset, open_test_store, reference_aggregate

from censorscope.model.rows import MeasurementRow
from censorscope.store.base import Store
from censorscope.store.search import Keyset, SearchFilter

Rows = tuple[list[Any], list[Any], list[Any]]


@pytest.fixture(scope="module")
def rows() -> Rows:
    return dataset(copies=3)


def _fill(store: Store, rows: Rows) -> list[MeasurementRow]:
    ms, obs, vs = rows
    store.write_batch(ms, obs, vs)
    return ms


def _walk(store: Store, where: SearchFilter, order: str, limit: int) -> list[list[str]]:
    """Every page of a search, following the keyset of each page's last row."""
    pages: list[list[str]] = []
    after: Keyset | None = None
    while True:
        page = store.search_measurements(where, order=order, limit=limit, after=after)
        if page:
            pages.append([m.measurement_uid for m in page])
        if len(page) < limit:
            return pages
        last = page[-1]
        assert last.measurement_start_time is not None
        after = Keyset(last.measurement_start_time, last.measurement_uid)


def _expected(ms: list[MeasurementRow], keep: Callable[[MeasurementRow], bool],
              order: str) -> list[str]:
    chosen = [m for m in ms if m.measurement_start_time is not None and keep(m)]
    chosen.sort(key=lambda m: (m.measurement_start_time, m.measurement_uid),
                reverse=order == "desc")
    return [m.measurement_uid for m in chosen]


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_search_pages_walk_every_match_once_in_order(store: Store, rows: Rows,
                                                     order: str) -> None:
    ms = _fill(store, rows)
    pages = _walk(store, SearchFilter(), order, 7)
    flat = [uid for page in pages for uid in page]
    assert flat == _expected(ms, lambda m: True, order)
    assert len(flat) == len(set(flat)) > 7 * 3
    assert all(len(p) == 7 for p in pages[:-1])
    # rows without a start time are never returned
    assert any(m.measurement_start_time is None for m in ms)


def test_search_filters(store: Store, rows: Rows) -> None:
    ms = _fill(store, rows)
    since, until = datetime(2019, 1, 1), datetime(2023, 1, 1)
    where = SearchFilter(since=since, until=until, probe_cc=("IT", "IR", "US"),
                         anomaly=True, failure=False)
    got = [m.measurement_uid for m in store.search_measurements(where, limit=1000)]
    want = _expected(ms, lambda m: since <= m.measurement_start_time < until  # type: ignore[operator]
                     and m.probe_cc in ("IT", "IR", "US") and m.anomaly and not m.failure,
                     "desc")
    assert got == want and want
    web = next(m for m in ms if m.test_name == "web_connectivity" and m.input)
    for where, keep in (
        (SearchFilter(input=web.input), lambda m: m.input == web.input),
        (SearchFilter(domain=(web.domain or "",), test_name=("web_connectivity",)),
         lambda m: m.domain == web.domain and m.test_name == "web_connectivity"),
        (SearchFilter(probe_asn=(web.probe_asn,), confirmed=False),
         lambda m: m.probe_asn == web.probe_asn and not m.confirmed),
        (SearchFilter(report_id=web.report_id), lambda m: m.report_id == web.report_id),
        (SearchFilter(confirmed=True), lambda m: m.confirmed),
    ):
        found = store.search_measurements(where, order="asc", limit=1000)
        assert [m.measurement_uid for m in found] == _expected(ms, keep, "asc"), where
        assert found
    # whole rows come back, field for field
    first = store.search_measurements(SearchFilter(input=web.input), limit=1)[0]
    assert first == next(m for m in ms if m.measurement_uid == first.measurement_uid)
    assert store.search_measurements(SearchFilter(probe_cc=()), limit=10) == []
    with pytest.raises(ValueError, match="order"):
        store.search_measurements(SearchFilter(), order="sideways")
    with pytest.raises(ValueError, match="limit"):
        store.search_measurements(SearchFilter(), limit=0)


def _bucket(grain: str, t: datetime | None) -> Any:
    if t is None:
        return None
    if grain == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    d = t.date()
    if grain == "week":  # weeks start on Sunday, as OONI's
        return d - timedelta(days=(d.weekday() + 1) % 7)
    if grain == "month":
        return d.replace(day=1)
    if grain == "year":
        return date(d.year, 1, 1)
    return d


@pytest.mark.parametrize("grain", ["hour", "day", "week", "month", "year"])
def test_aggregate_time_grains(store: Store, rows: Rows, grain: str) -> None:
    ms = _fill(store, rows)
    got = store.query_aggregate([grain, "probe_cc"])
    groups: dict[tuple[Any, str], dict[str, Any]] = {}
    for m in ms:
        key = (_bucket(grain, m.measurement_start_time), m.probe_cc)
        g = groups.setdefault(key, {grain: key[0], "probe_cc": key[1], "anomaly_count": 0,
                                    "confirmed_count": 0, "failure_count": 0, "ok_count": 0,
                                    "measurement_count": 0})
        g["measurement_count"] += 1
        cls = ("failure_count" if m.failure else "confirmed_count" if m.confirmed
               else "anomaly_count" if m.anomaly else "ok_count")
        g[cls] += 1
    want = sorted(groups.values(), key=lambda g: (
        (g[grain] is not None, g[grain] or 0), (True, g["probe_cc"])))
    assert got == want
    if grain == "week":
        assert all(r["week"] is None or r["week"].weekday() == 6 for r in got)


def test_aggregate_input_filter(store: Store, rows: Rows) -> None:
    ms = _fill(store, rows)
    inputs = sorted({m.input for m in ms if m.input})[:3]
    got = store.query_aggregate(["input", "day"], input=inputs)
    assert got == reference_aggregate([m for m in ms if m.input in inputs], ["input", "day"])
    assert store.query_aggregate(["input"], input=[]) == []
    zeros = {"anomaly_count": 0, "confirmed_count": 0, "failure_count": 0, "ok_count": 0,
             "measurement_count": 0}
    assert store.query_aggregate([], input=[]) == [zeros]
    assert store.query_aggregate([], probe_cc=["XX"]) == [zeros]


def test_a_measurement_twice_in_a_batch_keeps_its_observations_once(store: Store,
                                                                     rows: Rows) -> None:
    """The same record in two input files of one ingest batch: its rows come twice."""
    ms, obs, vs = rows
    uid = next(o.measurement_uid for o in obs)
    mine = [o for o in obs if o.measurement_uid == uid]
    m = next(x for x in ms if x.measurement_uid == uid)
    v = next(x for x in vs if x.measurement_uid == uid)
    assert store.write_batch([m, m], mine + mine, [v, v]) == 1
    assert store.get_observations(uid) == mine
    assert store.count("observations") == len(mine)
    assert store.get_verdicts(uid) == [v]


def test_read_detections_by_id(store: Store) -> None:
    from detectkit import tiktok_case

    from censorscope.ingest.detection import run_detection
    from censorscope.store.detections import DetectionWindow

    ms, vs = tiktok_case({29049: 20, 41997: None})
    store.write_batch(ms, [], vs)
    run_detection(store, DetectionWindow())
    incidents = store.read_detections("incidents")
    assert incidents
    one = incidents[0]
    assert store.read_detections("incidents", id=one["id"]) == [one]
    assert store.read_detections("incidents", cc="AZ", id=one["id"]) == [one]
    assert store.read_detections("incidents", id="inc-none") == []
    assert store.read_detections("incidents", cc="AM", id=one["id"]) == []


@pytest.mark.clickhouse
def test_cluster_search_and_grains_equal_duckdb(tmp_path: Path, rows: Rows) -> None:
    duck_gen = open_test_store("duckdb", tmp_path)
    cluster_gen = open_test_store("clickhouse_cluster", tmp_path)
    duck, cluster = next(duck_gen), next(cluster_gen)
    try:
        for s in (duck, cluster):
            _fill(s, rows)
        for order in ("desc", "asc"):
            assert _walk(cluster, SearchFilter(), order, 11) == _walk(
                duck, SearchFilter(), order, 11)
        where = SearchFilter(since=datetime(2018, 1, 1), until=datetime(2024, 1, 1),
                             failure=False)
        assert cluster.search_measurements(where, limit=500) == duck.search_measurements(
            where, limit=500)
        for keys in (["hour"], ["week", "test_name"], ["month", "probe_asn"], ["year"]):
            assert cluster.query_aggregate(keys) == duck.query_aggregate(keys)
    finally:
        for gen in (duck_gen, cluster_gen):
            for _ in gen:
                pass
