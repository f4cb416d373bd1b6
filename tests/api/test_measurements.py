"""``/api/v1/measurements``, ``measurement_meta`` and ``raw_measurement`` on the real samples:
every page walk sees each row once, filters select what SQL selects, and bodies come back as
the files hold them."""

from __future__ import annotations

import gzip
import io
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from apikit import WIDE, ApiStore, client_for
from fastapi.testclient import TestClient
from storekit import SAMPLES

from censorscope.api import Settings
from censorscope.api.schemas import MeasurementMeta, SearchAnswer
from censorscope.ingest import ingest
from censorscope.store import open_store

M = "/api/v1/measurements"


def _walk(client: TestClient, params: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """Every page of a search by following metadata.next_url; (uids, metadata of each page)."""
    uids: list[str] = []
    metas: list[dict[str, Any]] = []
    r = client.get(M, params=params)
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        SearchAnswer.model_validate(body)
        uids += [x["measurement_uid"] for x in body["results"]]
        metas.append(body["metadata"])
        if body["metadata"]["next_url"] is None:
            return uids, metas
        r = client.get(body["metadata"]["next_url"])


def _sql_uids(sql: duckdb.DuckDBPyConnection, where: str = "TRUE", params: list[Any] | None = None,
              order: str = "DESC") -> list[str]:
    return [u for (u,) in sql.execute(
        "SELECT measurement_uid FROM measurements WHERE measurement_start_time >= ? "
        f"AND measurement_start_time < ? AND ({where}) "
        f"ORDER BY measurement_start_time {order}, measurement_uid {order}",
        [datetime(2010, 1, 1), datetime(2030, 1, 1), *(params or [])]).fetchall()]


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_pages_walk_every_row_exactly_once(client: TestClient, sql: duckdb.DuckDBPyConnection,
                                           order: str) -> None:
    uids, metas = _walk(client, {**WIDE, "limit": 7, "order": order})
    want = _sql_uids(sql, order=order.upper())
    assert uids == want
    assert len(uids) == len(set(uids)) > 100  # samples + the TikTok case
    assert len(metas) == -(-len(want) // 7)
    assert all(m["count"] == -1 and m["pages"] == -1 and m["limit"] == 7 for m in metas)
    assert metas[-1]["next_cursor"] is None and metas[0]["next_cursor"]
    # the start-less measurements are never listed
    (no_time,) = sql.execute("SELECT count(*) FROM measurements "
                             "WHERE measurement_start_time IS NULL").fetchone()  # type: ignore[misc]
    assert no_time > 0
    # one page that holds everything says how many
    meta = client.get(M, params={**WIDE, "limit": 1000}).json()["metadata"]
    assert (meta["count"], meta["pages"], meta["next_cursor"]) == (len(want), 1, None)


def test_filters_select_what_sql_selects(client: TestClient,
                                         sql: duckdb.DuckDBPyConnection) -> None:
    cases: list[tuple[dict[str, Any], str, list[Any]]] = [
        ({"probe_cc": "IT,ir"}, "probe_cc IN ('IT', 'IR')", []),
        ({"probe_asn": "AS30722"}, "probe_asn = 30722", []),
        ({"probe_asn": "30722,AS29049"}, "probe_asn IN (30722, 29049)", []),
        ({"test_name": "web_connectivity,signal", "anomaly": "true"},
         "test_name IN ('web_connectivity', 'signal') AND anomaly", []),
        ({"failure": "false", "confirmed": "false"}, "NOT failure AND NOT confirmed", []),
        ({"confirmed": "true"}, "confirmed", []),
        ({"domain": "www.tiktok.com"}, "domain = 'www.tiktok.com'", []),
        ({"input": "https://www.tiktok.com/", "domain": "ignored.example"},
         "input = 'https://www.tiktok.com/'", []),
        ({"since": "2022-09-01T10:00:00Z", "until": "2022-09-01T14:30:00+02:00"},
         "measurement_start_time >= ? AND measurement_start_time < ?",
         [datetime(2022, 9, 1, 10), datetime(2022, 9, 1, 12, 30)]),
    ]
    for params, where, values in cases:
        uids, _ = _walk(client, {**WIDE, "limit": 1000, **params})
        want = _sql_uids(sql, where, values)
        assert uids == want, params
        assert want, params
    rid = sql.execute("SELECT report_id FROM measurements WHERE report_id <> '' "
                      "AND measurement_start_time IS NOT NULL LIMIT 1").fetchone()[0]  # type: ignore[index]
    uids, _ = _walk(client, {**WIDE, "report_id": rid})
    assert uids == _sql_uids(sql, "report_id = ?", [rid])


def test_results_carry_ooni_fields_and_a_working_measurement_url(
        client: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    body = client.get(M, params={**WIDE, "probe_cc": "ID", "test_name": "web_connectivity"}
                      ).json()
    (item,) = body["results"]
    row = sql.execute("SELECT measurement_uid, probe_asn, measurement_start_time, anomaly, "
                      "blocking_type, archive_file FROM measurements WHERE probe_cc = 'ID'"
                      ).fetchone()
    assert row is not None
    assert item["measurement_uid"] == row[0]
    assert item["probe_asn"] == f"AS{row[1]}"
    assert item["measurement_start_time"] == row[2].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (item["anomaly"], item["blocking_type"]) == (row[3], row[4])
    raw = client.get(item["measurement_url"])
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "application/json"
    assert raw.headers["x-content-type-options"] == "nosniff"
    assert raw.json() == orjson.loads(Path(row[5]).read_bytes())


def test_default_window_is_oonis_last_thirty_days(api_store: ApiStore) -> None:
    with client_for(api_store.url, Settings(quotas=())) as c:
        body = c.get(M).json()
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert body["metadata"]["until"] == f"{tomorrow.isoformat()}T00:00:00Z"
    assert body["metadata"]["since"] == f"{(tomorrow - timedelta(days=30)).isoformat()}T00:00:00Z"
    assert body["results"] == []  # every sample is older


def test_cursor_belongs_to_its_query(client: TestClient) -> None:
    first = client.get(M, params={**WIDE, "limit": 3}).json()["metadata"]["next_cursor"]
    other: list[dict[str, Any]] = [{**WIDE, "limit": 3, "probe_cc": "IT"},
                                   {**WIDE, "limit": 3, "order": "asc"}]
    for params in other:
        r = client.get(M, params={**params, "cursor": first})
        assert r.status_code == 400
        assert r.json()["error"]["detail"]["parameter"] == "cursor"
    # the same filters with another page size go on where the first page ended
    r = client.get(M, params={**WIDE, "limit": 5, "cursor": first})
    assert r.status_code == 200
    assert r.json()["results"][0]["measurement_uid"] == client.get(
        M, params={**WIDE, "limit": 4}).json()["results"][3]["measurement_uid"]


def test_measurement_meta_is_the_stored_row(client: TestClient,
                                            sql: duckdb.DuckDBPyConnection) -> None:
    cur = sql.execute("SELECT * FROM measurements WHERE probe_cc = 'IR' ORDER BY measurement_uid")
    names = [d[0] for d in cur.description]
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        r = client.get("/api/v1/measurement_meta",
                       params={"measurement_uid": row["measurement_uid"]})
        assert r.status_code == 200
        meta = r.json()
        MeasurementMeta.model_validate(meta)
        assert "archive_file" not in meta and "raw_measurement" not in meta
        for key, value in row.items():
            if key.startswith("archive_"):
                continue
            if isinstance(value, datetime):
                value = value.strftime("%Y-%m-%dT%H:%M:%SZ")
            assert meta[key] == value, key
        full = client.get("/api/v1/measurement_meta",
                          params={"measurement_uid": row["measurement_uid"], "full": "true"})
        raw = full.json()["raw_measurement"]
        assert orjson.loads(raw) == orjson.loads(Path(row["archive_file"]).read_bytes())
        by_report = client.get("/api/v1/measurement_meta",
                               params={"report_id": row["report_id"], "input": row["input"]})
        if len(row["report_id"]) >= 15 and row["measurement_start_time"] is not None:
            assert by_report.json()["report_id"] == row["report_id"]


@pytest.mark.parametrize("path", ["/api/v1/measurement_meta", "/api/v1/raw_measurement"])
def test_unknown_and_malformed_uids(client: TestClient, path: str) -> None:
    r = client.get(path, params={"measurement_uid": "20990101000000.000000_XX_none_0"})
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "no such measurement"
    r = client.get(path, params={"measurement_uid": "<script>"})
    assert r.status_code == 422
    assert r.json()["error"]["detail"][0]["parameter"] == "measurement_uid"
    r = client.get(path)
    assert r.status_code in (400, 422)
    assert "measurement_uid" in r.json()["error"]["message"]


def _post(msm: dict[str, Any]) -> bytes:
    return orjson.dumps({"format": "json", "content": msm})


def test_raw_bodies_from_every_file_kind_and_404_when_gone(tmp_path: Path) -> None:
    """A plain JSON file, a JSONL.gz line past the first, and a .post member of a tar.gz can
    are read back exactly; a moved or changed file is 404, never another body."""
    samples = sorted((SAMPLES / "webconnectivity-real").rglob("*.json"))
    msms = [m for m in (orjson.loads(p.read_bytes()) for p in samples)
            if isinstance(m, dict) and "test_keys" in m][:3]
    assert len(msms) == 3
    plain = tmp_path / "one.json"
    plain.write_bytes(orjson.dumps({**msms[0], "measurement_uid": "raw-plain"}))
    lines = tmp_path / "more.jsonl.gz"
    with gzip.open(lines, "wb") as gz:
        for i, m in enumerate(msms):
            gz.write(orjson.dumps({**m, "measurement_uid": f"raw-line-{i}"}) + b"\n")
    can = tmp_path / "can.tar.gz"
    with tarfile.open(can, "w:gz") as tar:
        for i, m in enumerate(msms):
            data = _post({**m, "measurement_uid": f"raw-post-{i}"})
            info = tarfile.TarInfo(f"2022/{i}.post")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    url = f"duckdb://{tmp_path / 'raw.duckdb'}"
    with open_store(url) as store:
        assert ingest([str(plain), str(lines), str(can)], store).total("ingested") == 7
    with client_for(url, Settings(quotas=(), store_linger=0)) as c:
        def raw(uid: str) -> Any:
            return c.get("/api/v1/raw_measurement", params={"measurement_uid": uid})
        assert raw("raw-plain").json() == {**msms[0], "measurement_uid": "raw-plain"}
        for i, m in enumerate(msms):
            assert raw(f"raw-line-{i}").json() == {**m, "measurement_uid": f"raw-line-{i}"}
            assert raw(f"raw-post-{i}").json() == {**m, "measurement_uid": f"raw-post-{i}"}
        # the file changed under the row: the bytes there are not that measurement
        plain.write_bytes(orjson.dumps({**msms[1], "measurement_uid": "someone-else"}))
        r = raw("raw-plain")
        assert r.status_code == 404
        assert r.json()["error"]["detail"] == {"measurement_uid": "raw-plain"}
        lines.unlink()
        assert raw("raw-line-1").status_code == 404
        meta = c.get("/api/v1/measurement_meta",
                     params={"measurement_uid": "raw-line-1", "full": "true"}).json()
        assert meta["raw_measurement"] is None and meta["measurement_uid"] == "raw-line-1"
        assert raw("raw-post-2").status_code == 200
