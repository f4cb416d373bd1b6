"""The API on the two-shard ClickHouse cluster answers exactly what it answers on DuckDB for
the same ingested samples: page walks, MAT cells at every grain, CSV, single measurements."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apikit import WIDE, client_for
from fastapi.testclient import TestClient
from storekit import SAMPLE_DIRS, SAMPLES, open_test_store

from censorscope.ingest import ingest

pytestmark = pytest.mark.clickhouse


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, TestClient]]:
    tmp = tmp_path_factory.mktemp("api-ch")
    gens = [open_test_store(engine, tmp) for engine in ("duckdb", "clickhouse_cluster")]
    stores = [next(g) for g in gens]
    try:
        for store in stores:
            assert ingest([str(SAMPLES / d) for d in SAMPLE_DIRS], store,
                          analyze=True).total("ingested") > 50
        urls = [s.url for s in stores]
        stores[0].close()  # the API opens the DuckDB file read-only itself
        with client_for(urls[0]) as duck, client_for(urls[1]) as cluster:
            yield duck, cluster
    finally:
        for g in gens:
            for _ in g:
                pass


def _walk(client: TestClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    r = client.get("/api/v1/measurements", params=params)
    while True:
        body = r.json()
        out += body["results"]
        if body["metadata"]["next_url"] is None:
            return out
        r = client.get(body["metadata"]["next_url"])


def test_search_pages_are_equal(pair: tuple[TestClient, TestClient]) -> None:
    duck, cluster = pair
    for params in ({"limit": 9}, {"limit": 9, "order": "asc", "failure": "false"},
                   {"probe_cc": "IT,US", "limit": 4}):
        a, b = _walk(duck, {**WIDE, **params}), _walk(cluster, {**WIDE, **params})
        assert a == b and a


@pytest.mark.parametrize("params", [
    {"axis_x": "measurement_start_day", "time_grain": "month", "axis_y": "probe_cc"},
    {"axis_x": "measurement_start_day", "time_grain": "week"},
    {"axis_x": "measurement_start_day", "since": "2022-08-10", "until": "2022-08-16"},
    {"axis_x": "test_name", "axis_y": "blocking_type"},
    {"axis_x": "probe_asn", "test_name": "web_connectivity"},
    {},
])
def test_mat_is_equal(pair: tuple[TestClient, TestClient], params: dict[str, str]) -> None:
    duck, cluster = pair
    query = {**WIDE, **params}
    a, b = duck.get("/api/v1/aggregation", params=query).json(), cluster.get(
        "/api/v1/aggregation", params=query).json()
    assert a["result"] == b["result"] and a["time_grain"] == b["time_grain"]
    assert a["result"]
    csv = {**query, "format": "CSV"}
    assert duck.get("/api/v1/aggregation", params=csv).text == cluster.get(
        "/api/v1/aggregation", params=csv).text


def test_single_measurements_are_equal(pair: tuple[TestClient, TestClient]) -> None:
    duck, cluster = pair
    for item in _walk(duck, {**WIDE, "limit": 100})[::7]:
        uid = {"measurement_uid": item["measurement_uid"]}
        for path in ("/api/v1/measurement_meta", "/api/v1/verdicts", "/api/v1/observations",
                     "/api/v1/raw_measurement"):
            a, b = duck.get(path, params=uid), cluster.get(path, params=uid)
            assert (a.status_code, a.json()) == (b.status_code, b.json()), path
    assert Path(SAMPLES).is_dir()
