"""``/api/v1/aggregation`` (MAT): counts equal a direct SQL count on the DuckDB file, CSV
holds the JSON's numbers, time grains follow OONI's rules, and bad axes are refused."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import pytest
from apikit import WIDE, WIDE_SETTINGS, ApiStore, client_for
from fastapi.testclient import TestClient

from censorscope.api.schemas import AggregationAnswer

A = "/api/v1/aggregation"
COUNTS = ("anomaly_count", "confirmed_count", "failure_count", "ok_count", "measurement_count")

# the four classes as OONI's fastpath SQL defines them (ooni-backend §3.3), written here again
_SQL_COUNTS = """
  count(*) FILTER (WHERE anomaly AND NOT confirmed AND NOT failure) AS anomaly_count,
  count(*) FILTER (WHERE confirmed AND NOT failure) AS confirmed_count,
  count(*) FILTER (WHERE failure) AS failure_count,
  count(*) FILTER (WHERE NOT anomaly AND NOT confirmed AND NOT failure) AS ok_count,
  count(*) AS measurement_count"""
_BUCKET = {
    "day": "strftime(measurement_start_time, '%Y-%m-%d')",
    "month": "strftime(measurement_start_time, '%Y-%m-01')",
    "hour": "strftime(measurement_start_time, '%Y-%m-%dT%H:00:00Z')",
}


def _sql_cells(sql: duckdb.DuckDBPyConnection, columns: dict[str, str], where: str = "TRUE",
               since: datetime = datetime(2010, 1, 1), until: datetime = datetime(2030, 1, 1)
               ) -> list[dict[str, Any]]:
    """{axis: value, counts…} per cell, straight from the file."""
    select = ", ".join(f"{expr} AS {name}" for name, expr in columns.items())
    group = f"GROUP BY {', '.join(columns)}" if columns else ""
    cur = sql.execute(
        f"SELECT {select + ',' if select else ''} {_SQL_COUNTS} FROM measurements "
        f"WHERE measurement_start_time >= ? AND measurement_start_time < ? AND ({where}) "
        f"{group}", [since, until])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _key(cell: dict[str, Any], axes: list[str]) -> tuple[Any, ...]:
    return tuple(str(cell[a]) for a in axes)


@pytest.mark.parametrize(("params", "columns", "where"), [
    ({"axis_x": "probe_cc"}, {"probe_cc": "probe_cc"}, "TRUE"),
    ({"axis_x": "measurement_start_day", "time_grain": "month", "axis_y": "probe_cc"},
     {"measurement_start_day": _BUCKET["month"], "probe_cc": "probe_cc"}, "TRUE"),
    ({"axis_x": "test_name", "axis_y": "blocking_type", "probe_cc": "IT,IR,AZ"},
     {"test_name": "test_name", "blocking_type": "blocking_type"},
     "probe_cc IN ('IT', 'IR', 'AZ')"),
    ({"axis_x": "probe_asn", "test_name": "web_connectivity", "probe_asn": "AS29049,41997"},
     {"probe_asn": "probe_asn"}, "test_name = 'web_connectivity' AND probe_asn IN (29049, 41997)"),
    ({"axis_x": "domain", "axis_y": "input", "domain": "www.tiktok.com,archive.org"},
     {"domain": "domain", "input": "input"}, "domain IN ('www.tiktok.com', 'archive.org')"),
    ({"axis_y": "measurement_start_day", "time_grain": "day",
      "input": "https://www.tiktok.com/"},
     {"measurement_start_day": _BUCKET["day"]}, "input = 'https://www.tiktok.com/'"),
])
def test_counts_equal_a_direct_sql_count(client: TestClient, sql: duckdb.DuckDBPyConnection,
                                         params: dict[str, str], columns: dict[str, str],
                                         where: str) -> None:
    r = client.get(A, params={**WIDE, **params})
    assert r.status_code == 200, r.text
    body = r.json()
    AggregationAnswer.model_validate(body)
    axes = [params[a] for a in ("axis_x", "axis_y") if a in params]
    assert body["dimension_count"] == len(axes)
    want = _sql_cells(sql, columns, where)
    assert want
    got = {_key(c, axes): c for c in body["result"]}
    assert got == {_key(c, axes): {**{a: c[a] for a in axes}, **{k: c[k] for k in COUNTS}}
                   for c in want}
    # every cell's four classes are exclusive and add up; the cells are in axis order
    for cell in body["result"]:
        assert sum(cell[k] for k in COUNTS[:4]) == cell["measurement_count"] > 0
    assert [_key(c, axes) for c in body["result"]] == sorted(
        (_key(c, axes) for c in body["result"]),
        key=lambda k: tuple((v != "None", int(v) if v.isdigit() else v) for v in k))


def test_csv_holds_the_json_numbers(client: TestClient) -> None:
    params = {**WIDE, "axis_x": "measurement_start_day", "axis_y": "probe_cc",
              "time_grain": "week"}
    cells = client.get(A, params=params).json()["result"]
    r = client.get(A, params={**params, "format": "CSV", "download": "true"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="aggregation.csv"'
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == ["measurement_start_day", "probe_cc", *COUNTS]
    assert [{k: (int(v) if k in COUNTS else v) for k, v in row.items()} for row in rows] == [
        {k: ("" if v is None else v) for k, v in c.items()} for c in cells]
    assert len(rows) > 20
    # weeks start on Sunday, as OONI's
    assert all(date.fromisoformat(c["measurement_start_day"]).weekday() == 6 for c in cells)


def test_no_axis_is_one_object(client: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    body = client.get(A, params={**WIDE, "probe_cc": "AZ"}).json()
    assert body["dimension_count"] == 0
    assert body["result"] == _sql_cells(sql, {}, "probe_cc = 'AZ'")[0]
    nothing = client.get(A, params={**WIDE, "probe_cc": "XX"}).json()["result"]
    assert nothing == dict.fromkeys(COUNTS, 0)
    csv_text = client.get(A, params={**WIDE, "probe_cc": "AZ", "format": "CSV"}).text
    assert csv_text.splitlines()[1] == ",".join(str(body["result"][k]) for k in COUNTS)


def test_time_grains_follow_the_window(client: TestClient,
                                       sql: duckdb.DuckDBPyConnection) -> None:
    week = {"since": "2022-09-01", "until": "2022-09-04", "axis_x": "measurement_start_day"}
    body = client.get(A, params=week).json()
    assert body["time_grain"] == "hour"  # auto: the first grain a 3-day window allows
    want = _sql_cells(sql, {"measurement_start_day": _BUCKET["hour"]}, "TRUE",
                      datetime(2022, 9, 1), datetime(2022, 9, 4))
    assert {c["measurement_start_day"]: c["measurement_count"] for c in body["result"]} == {
        c["measurement_start_day"]: c["measurement_count"] for c in want}
    assert len(body["result"]) == 48  # the TikTok case: one round an hour for two days
    for grain, since, until, ok in (
            ("month", "2022-09-01", "2022-09-11", False), ("hour", "2022-01-01", "2022-03-01",
                                                           False),
            ("year", "2021-01-01", "2022-06-01", True), ("year", "2022-01-01", "2022-06-01",
                                                         False),
            ("week", "2022-08-01", "2022-08-20", True), ("day", "2012-01-01", "2022-06-01",
                                                        True)):
        r = client.get(A, params={"since": since, "until": until, "time_grain": grain,
                                  "axis_x": "measurement_start_day"})
        assert (r.status_code == 200) == ok, (grain, since, until, r.text)
        if not ok:
            assert r.status_code == 400
            assert r.json()["error"]["detail"]["parameter"] == "time_grain"


@pytest.mark.parametrize(("params", "status", "parameter"), [
    ({"axis_x": "probe_cc", "axis_y": "probe_cc"}, 400, "axis_y"),
    ({"axis_x": "category_code"}, 400, "axis_x"),
    ({"axis_y": "category_code"}, 400, "axis_y"),
    ({"category_code": "NEWS"}, 400, "category_code"),
    ({"category_code": "news"}, 422, "category_code"),
    ({"axis_x": "probe_ip"}, 422, "axis_x"),
    ({"time_grain": "minute"}, 422, "time_grain"),
    ({"format": "XML"}, 422, "format"),
    ({"probe_asn": "ASfoo"}, 400, "probe_asn"),
    ({"probe_cc": "ITA"}, 400, "probe_cc"),
    ({"test_name": "Web-Connectivity"}, 400, "test_name"),
    ({"domain": "ab"}, 400, "domain"),
    ({"input": "ab"}, 422, "input"),
    ({"since": "2022-13-01"}, 400, "since"),
    ({"since": "2022-02-01", "until": "2022-01-01"}, 400, "since"),
])
def test_bad_parameters_are_named(client: TestClient, params: dict[str, str], status: int,
                                  parameter: str) -> None:
    r = client.get(A, params={**WIDE, **params})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == status
    assert parameter in error["message"]
    detail = error["detail"]
    assert (detail[0] if isinstance(detail, list) else detail)["parameter"] == parameter


def test_window_and_cell_limits(api_store: ApiStore) -> None:
    from censorscope.api import Settings

    with client_for(api_store.url, Settings(quotas=())) as c:
        r = c.get(A, params=WIDE)
        assert r.status_code == 400
        assert r.json()["error"]["detail"]["parameter"] == "until"
        assert "731 days" in r.json()["error"]["message"]
        today = date.today()
        ok = c.get(A, params={"since": (today - timedelta(days=700)).isoformat()})
        assert ok.status_code == 200
    small = Settings(search_window_days=WIDE_SETTINGS.search_window_days,
                     aggregation_window_days=WIDE_SETTINGS.aggregation_window_days,
                     quotas=(), max_aggregation_rows=5)
    with client_for(api_store.url, small) as c:
        assert c.get(A, params={**WIDE, "axis_x": "probe_cc", "probe_cc": "IT,IR"}
                     ).status_code == 200
        r = c.get(A, params={**WIDE, "axis_x": "probe_cc"})
        assert r.status_code == 400
        assert "more than 5 cells" in r.json()["error"]["message"]
