"""The API on a ClickHouse store run by a current ClickHouse (chDB in process, see
tests/store/chdbkit.py) answers what it answers on the DuckDB store of the same data: search
walks, MAT cells at every grain, services, reports, costs of a stored incident."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from apikit import WIDE, WIDE_SETTINGS, client_for
from chdbkit import chdb_store
from detectkit import tiktok_case
from fastapi.testclient import TestClient
from storekit import SAMPLE_DIRS, SAMPLES

from censorscope.api import create_app
from censorscope.ingest import ingest
from censorscope.ingest.detection import run_detection
from censorscope.store import open_store
from censorscope.store.base import Store
from censorscope.store.detections import DetectionWindow


def _fill(store: Store) -> None:
    assert ingest([str(SAMPLES / d) for d in SAMPLE_DIRS], store,
                  analyze=True).total("ingested") > 50
    ms, vs = tiktok_case({29049: 20, 41997: 30, 28787: None})
    store.write_batch(ms, [], vs)
    run_detection(store, DetectionWindow())


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, TestClient]]:
    tmp: Path = tmp_path_factory.mktemp("api-chdb")
    url = f"duckdb://{tmp / 'same.duckdb'}"
    with open_store(url) as duck:
        _fill(duck)
    ch, session = chdb_store(tmp / "chdb")
    _fill(ch)
    settings = WIDE_SETTINGS
    app = create_app(ch.url, settings=settings, opener=lambda: ch)
    try:
        with client_for(url) as d, TestClient(app) as c:
            yield d, c
    finally:
        ch.close()
        session.close()


def _walk(client: TestClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    r = client.get("/api/v1/measurements", params=params)
    while True:
        body = r.json()
        out += body["results"]
        if body["metadata"]["next_url"] is None:
            return out
        r = client.get(body["metadata"]["next_url"])


def _same(pair: tuple[TestClient, TestClient], path: str, params: dict[str, Any]) -> Any:
    duck, ch = pair
    a, b = duck.get(path, params=params), ch.get(path, params=params)
    assert a.status_code == b.status_code == 200, (a.text[:300], b.text[:300])
    # what names the store (a cost's event source) is the only text that may differ
    left, right = (orjson.loads(r.text.replace(c.app.state.store_url, "<store>"))  # type: ignore[attr-defined]
                   for r, c in ((a, duck), (b, ch)))
    for body in (left, right):  # timings differ, nothing else may
        for key in ("metadata", "db_stats"):
            if isinstance(body.get(key), dict):
                body[key].pop("query_time", None)
                body[key].pop("elapsed_seconds", None)
    assert left == right
    return left


def test_search_walks_are_equal(pair: tuple[TestClient, TestClient]) -> None:
    for params in ({"limit": 11}, {"limit": 7, "order": "asc", "probe_cc": "AZ,IT"},
                   {"limit": 5, "anomaly": "true"}):
        a, b = _walk(pair[0], {**WIDE, **params}), _walk(pair[1], {**WIDE, **params})
        assert a == b and a


@pytest.mark.parametrize("grain", ["hour", "day", "week", "month", "year"])
def test_mat_cells_are_equal(pair: tuple[TestClient, TestClient], grain: str) -> None:
    window = ({"since": "2022-09-01", "until": "2022-09-04"} if grain == "hour" else WIDE)
    body = _same(pair, "/api/v1/aggregation", {**window, "axis_x": "measurement_start_day",
                                               "axis_y": "probe_cc", "time_grain": grain})
    assert body["result"]


def test_services_reports_and_costs_are_equal(pair: tuple[TestClient, TestClient]) -> None:
    services = _same(pair, "/api/v1/services", WIDE)
    assert any(s["networks"] for s in services["services"])
    report = _same(pair, "/api/v1/reports", {"probe_cc": "AZ", "target": "tiktok"})
    assert [i["target"] for i in report["incidents"]] == ["service:tiktok"]
    incident = report["incidents"][0]["id"]
    cost = _same(pair, "/api/v1/cost", {"incident": incident})
    assert cost["inputs"]["event"]["source"] == f"<store>: incident {incident}"
    assert cost["low"] <= cost["central"] <= cost["high"]
