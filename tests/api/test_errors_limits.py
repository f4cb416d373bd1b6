"""What every answer shares: the error envelope (404, 405, 422, 400, 429, 503 — never a
traceback), the quota headers, ``nosniff``, the limits of the default settings, and the
OpenAPI document."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
from apikit import WIDE, ApiStore, client_for
from fastapi.testclient import TestClient

from censorscope.api import Settings
from censorscope.api.errors import ErrorEnvelope
from censorscope.api.settings import Quota

ENDPOINTS = ("/api/v1/measurements", "/api/v1/measurement_meta", "/api/v1/raw_measurement",
             "/api/v1/aggregation", "/api/v1/verdicts", "/api/v1/observations",
             "/api/v1/incidents", "/api/v1/incidents/{incident_id}", "/api/v1/outages")


def _envelope(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body: dict[str, Any] = dict(r.json())
    ErrorEnvelope.model_validate(body)
    assert set(body) == {"error"} and body["error"]["code"] == status
    assert "Traceback" not in r.text and 'File "' not in r.text
    error: dict[str, Any] = body["error"]
    return error


def test_unknown_paths_and_methods(client: TestClient) -> None:
    assert _envelope(client.get("/api/v1/nothing"), 404)["message"] == (
        "no such endpoint: /api/v1/nothing")
    assert _envelope(client.get("/docs"), 404)  # no docs page (it would load a CDN)
    assert _envelope(client.delete("/api/v1/incidents"), 405)["message"] == (
        "method DELETE not allowed on /api/v1/incidents")


def test_default_limits(api_store: ApiStore) -> None:
    with client_for(api_store.url, Settings(quotas=())) as c:
        error = _envelope(c.get("/api/v1/measurements", params=WIDE), 400)
        assert error["detail"]["parameter"] == "until"
        assert "180 days" in error["message"]
        ok = c.get("/api/v1/measurements", params={"since": "2022-08-15", "until": "2022-09-30",
                                                   "limit": 1000})
        assert ok.status_code == 200
        assert ok.json()["metadata"]["count"] == len(ok.json()["results"]) > 100
        error = _envelope(c.get("/api/v1/measurements", params={"limit": 1001}), 400)
        assert error["detail"] == {"parameter": "limit", "value": 1001,
                                   "problem": "at most 1000 per page; page on with next_cursor"}
        assert _envelope(c.get("/api/v1/measurements", params={"offset": 100}), 400)[
            "detail"]["parameter"] == "offset"
        assert _envelope(c.get("/api/v1/measurements", params={"order_by": "probe_cc"}), 422)[
            "detail"][0]["parameter"] == "order_by"
        assert _envelope(c.get("/api/v1/measurements", params={"anomaly": "maybe"}), 422)[
            "detail"][0]["parameter"] == "anomaly"
        assert c.get("/api/v1/measurements", params={"probe_asn": "AS1,,"}).status_code == 200
        many = ",".join(f"AS{i}" for i in range(1, 102))
        assert _envelope(c.get("/api/v1/measurements", params={"probe_asn": many}), 400)[
            "detail"]["problem"] == "more than 100 values"


def test_quota_gives_429_with_retry_after_per_client(api_store: ApiStore) -> None:
    settings = Settings(quotas=(Quota(60.0, 0.05),), min_request_cost=0.02,
                        trust_forwarded_for=True, search_window_days=365 * 30)
    with client_for(api_store.url, settings) as c:
        me, other = {"X-Forwarded-For": "192.0.2.7, 10.0.0.1"}, {"X-Forwarded-For": "192.0.2.8"}
        remaining = []
        for _ in range(10):
            r = c.get("/api/v1/incidents", headers=me)
            if r.status_code == 429:
                break
            remaining.append(float(r.headers["x-ratelimit-remaining"]))
        error = _envelope(r, 429)
        assert 1 <= len(remaining) <= 3  # 0.05 s of request time, 0.02 s at least each
        assert remaining == sorted(remaining, reverse=True) and remaining[0] == 0.05
        assert r.headers["x-ratelimit-remaining"] == "0"
        wait = int(r.headers["retry-after"])
        # the refill is 0.05 s per minute: a request of c seconds over the quota waits
        # about c / 0.05 minutes (at least 1 s; more when the machine is slow)
        assert wait >= 1 and error["detail"] == {"retry_after": wait}
        assert "quota exceeded" in error["message"]
        assert c.get("/api/v1/incidents", headers=other).status_code == 200


def test_every_answer_carries_nosniff_and_the_quota(client: TestClient) -> None:
    for path in ("/api/v1/incidents", "/openapi.json", "/api/v1/none"):
        r = client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff"


def test_quota_header_on_answers(api_store: ApiStore) -> None:
    with client_for(api_store.url, Settings()) as c:
        first = float(c.get("/api/v1/incidents").headers["x-ratelimit-remaining"])
        second = float(c.get("/api/v1/incidents").headers["x-ratelimit-remaining"])
    assert first == 30.0 and second < first  # the default: 30 s a minute, less the first


def test_a_writer_holding_the_file_is_503_then_served(api_store: ApiStore,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    shutil.copy(api_store.path, path)
    url = f"duckdb://{path}"
    with client_for(url, Settings(quotas=(), store_linger=0)) as c:
        assert c.get("/api/v1/incidents").status_code == 200
        with subprocess.Popen(
                [sys.executable, "-c", "import duckdb, time\n"
                 f"con = duckdb.connect({str(path)!r})\nprint('held', flush=True)\n"
                 "time.sleep(60)"], stdout=subprocess.PIPE, text=True) as writer:
            try:
                assert writer.stdout is not None and writer.stdout.readline() == "held\n"
                r = c.get("/api/v1/incidents")
                error = _envelope(r, 503)
                assert error["message"] == "the store is held by a writer; try again later"
                assert f"PID {writer.pid}" in (error["detail"]["holder"] or "")
                assert r.headers["retry-after"] == "5"
            finally:
                os.kill(writer.pid, signal.SIGTERM)
                writer.wait(timeout=10)
        assert c.get("/api/v1/incidents").status_code == 200


def test_an_unusable_store_is_503_without_details(tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()  # a DuckDB file, but no censorscope tables
    with client_for(f"duckdb://{empty}", Settings(quotas=())) as c:
        error = _envelope(c.get("/api/v1/incidents"), 503)
        assert error == {"code": 503, "message": "the store is unavailable; try again later",
                         "detail": None}
    with client_for(f"duckdb://{tmp_path / 'missing.duckdb'}", Settings(quotas=())) as c:
        _envelope(c.get("/api/v1/measurements"), 503)
    assert not (tmp_path / "missing.duckdb").exists()  # read-only: nothing created


def test_openapi_document_names_every_endpoint_and_error(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert set(ENDPOINTS) <= set(doc["paths"])
    search = doc["paths"]["/api/v1/measurements"]["get"]
    names = {p["name"] for p in search["parameters"]}
    assert {"probe_cc", "probe_asn", "test_name", "domain", "input", "since", "until",
            "anomaly", "confirmed", "failure", "order_by", "order", "limit", "cursor"} <= names
    mat = {p["name"] for p in doc["paths"]["/api/v1/aggregation"]["get"]["parameters"]}
    assert {"axis_x", "axis_y", "time_grain", "format", "since", "until"} <= mat
    for path in ENDPOINTS:
        responses = doc["paths"][path]["get"]["responses"]
        for status in ("400", "404", "422", "429", "500", "503"):
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorEnvelope"), (path, status)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
