"""The API's test store: the real OONI samples ingested with verdicts, a TikTok blocking
case run through detection (real incidents), and outages written through the store's own
path; a FastAPI TestClient on it, and a read-only DuckDB connection for direct SQL."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "store"))

from apikit import OUTAGES, UNANALYSED_UID, ApiStore, client_for
from detectkit import T0, measurement, tiktok_case
from storekit import SAMPLE_DIRS, SAMPLES

from censorscope.ingest import ingest
from censorscope.ingest.detection import run_detection
from censorscope.store import open_store
from censorscope.store.detections import DetectionWindow, result_rows


@pytest.fixture(scope="session")
def api_store(tmp_path_factory: pytest.TempPathFactory) -> ApiStore:
    path = tmp_path_factory.mktemp("api") / "api.duckdb"
    with open_store(f"duckdb://{path}") as store:
        report = ingest([str(SAMPLES / d) for d in SAMPLE_DIRS], store, analyze=True)
        assert report.total("errors") == 0 and report.total("ingested") > 50
        ms, vs = tiktok_case({29049: 20, 41997: 30, 28787: None})
        store.write_batch(ms, [], vs)
        run_detection(store, DetectionWindow())
        store.replace_detections(DetectionWindow(cc="RU"), result_rows([], [], OUTAGES))
        store.write_batch([measurement(UNANALYSED_UID, T0, cc="AM", asn=44395)])
    return ApiStore(path)


@pytest.fixture(scope="session")
def client(api_store: ApiStore) -> Iterator[TestClient]:
    with client_for(api_store.url) as c:
        yield c


@pytest.fixture(scope="session")
def sql(api_store: ApiStore) -> Iterator[duckdb.DuckDBPyConnection]:
    """The store's file read directly (read-only, as the API opens it)."""
    con = duckdb.connect(str(api_store.path), read_only=True)
    yield con
    con.close()
