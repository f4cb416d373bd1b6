"""The MAT page: its chart, table, JSON twin and downloads all carry the numbers a direct SQL
count gives on the DuckDB file (the lab's TikTok store, and the real samples); the SVG draws
exactly the chart's numbers, states them in its <title>/<desc>, and every cell links to the
search that lists its measurements."""

from __future__ import annotations

import csv
import io
from typing import Any

import duckdb
from fastapi.testclient import TestClient

from tests.web.webkit import Element, parse, read_only_sql, strip_timing, table_rows

CLASSES = ("ok", "anomaly", "confirmed", "failure")
SQL_COUNTS = """
    count(*) FILTER (WHERE anomaly AND NOT confirmed AND NOT failure) AS anomaly,
    count(*) FILTER (WHERE confirmed AND NOT failure) AS confirmed,
    count(*) FILTER (WHERE failure) AS failure,
    count(*) FILTER (WHERE NOT anomaly AND NOT confirmed AND NOT failure) AS ok,
    count(*) AS total
"""
GRID = {"probe_cc": "AZ", "domain": "www.tiktok.com", "since": "2022-09-14",
        "until": "2022-09-16", "axis_x": "measurement_start_day", "axis_y": "probe_asn"}


def _svg(html: str) -> Element:
    return next(parse(html).iter("svg"))


def _drawn(svg: Element) -> dict[tuple[str, str], dict[str, int]]:
    """(panel label, bar x) → the counts drawn, read from the SVG's rectangles."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for panel in svg.iter("g"):
        if panel.attrs.get("class") != "panel":
            continue
        for bar in panel.iter("g"):
            if bar.attrs.get("class") != "bar":
                continue
            counts = dict.fromkeys(CLASSES, 0)
            for rect in bar.iter("rect"):
                counts[rect.attrs["class"].removeprefix("seg-")] += int(rect.attrs["data-count"])
            assert sum(counts.values()) == int(bar.attrs["data-total"])
            out[(panel.attrs["data-label"], bar.attrs["data-x"])] = counts
    return out


def test_grid_counts_equal_sql(lab: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    page = lab.get("/chart/mat", params=GRID)
    twin = lab.get("/chart/mat.json", params=GRID).json()
    assert page.status_code == 200 and twin["aggregation"]["time_grain"] == "hour"
    rows = sql.execute(f"""
        SELECT strftime(date_trunc('hour', measurement_start_time), '%Y-%m-%dT%H:00:00Z'),
               'AS' || probe_asn, {SQL_COUNTS} FROM measurements
        WHERE probe_cc = 'AZ' AND domain = 'www.tiktok.com'
          AND measurement_start_time >= '2022-09-14' AND measurement_start_time < '2022-09-16'
        GROUP BY ALL ORDER BY 1, 2""").fetchall()
    expected = {(asn, hour): dict(zip((*CLASSES[1:], "ok", "total"), (a, c, f, o, t),
                                      strict=True))
                for hour, asn, a, c, f, o, t in rows}
    assert len(expected) == 3 * 24
    # the chart's data
    chart = twin["chart"]
    got = {(p["label"], b["x"]): {k: b[k] for k in (*CLASSES, "total")}
           for p in chart["panels"] for b in p["bars"] if b["total"]}
    assert got == expected
    assert [p["label"] for p in chart["panels"]] == ["AS28787", "AS29049", "AS41997"]
    assert len(chart["x_values"]) == 48  # every hour of the window, with or without data
    # the SVG draws exactly those numbers
    drawn = _drawn(_svg(page.text))
    assert {k: {c: v[c] for c in CLASSES} for k, v in expected.items()} == drawn
    # blocked hours show as anomalies on the two blocked networks only
    anomalies = {asn: sum(v["anomaly"] for (a, _), v in expected.items() if a == asn)
                 for asn in ("AS28787", "AS29049", "AS41997")}
    assert anomalies["AS28787"] == 0 and anomalies["AS29049"] > anomalies["AS41997"] > 0


def test_single_panel_title_desc_and_table(lab: TestClient,
                                           sql: duckdb.DuckDBPyConnection) -> None:
    params = {"probe_cc": "AZ", "since": "2022-09-01", "until": "2022-10-01",
              "time_grain": "day"}
    page = lab.get("/chart/mat", params=params)
    twin = lab.get("/chart/mat.json", params=params).json()
    svg = _svg(page.text)
    assert svg.attrs["role"] == "img" and svg.attrs["aria-labelledby"] == "mat-title mat-desc"
    title, desc = (next(svg.iter(t)).texts() for t in ("title", "desc"))
    assert title == twin["chart"]["title"] and desc == " ".join(twin["chart"]["desc"].split())
    totals = sql.execute(f"SELECT {SQL_COUNTS} FROM measurements WHERE probe_cc = 'AZ' AND "
                         "measurement_start_time >= '2022-09-01' AND "
                         "measurement_start_time < '2022-10-01'").fetchone()
    assert totals is not None
    anomaly, confirmed, failure, ok, total = totals
    assert (f"In all {total} measurements: {ok} ok, {anomaly} anomaly, {confirmed} confirmed, "
            f"{failure} failure.") in desc
    per_day = sql.execute(f"""
        SELECT strftime(measurement_start_time, '%Y-%m-%d'), {SQL_COUNTS} FROM measurements
        WHERE probe_cc = 'AZ' AND measurement_start_time >= '2022-09-01'
          AND measurement_start_time < '2022-10-01' GROUP BY ALL ORDER BY 1""").fetchall()
    for day, a, c, f, o, t in per_day:
        assert f"{day}: {t} ({o} ok, {a} anomaly, {c} confirmed, {f} failure)" in desc
    # the numbers table is the twin's cells
    table = parse(page.text).find_id("mat-numbers")
    assert table is not None
    shown = table_rows(table)
    cells = twin["aggregation"]["result"]
    assert [r[0] for r in shown] == [c["measurement_start_day"] for c in cells]
    assert [[int(x.replace(",", "")) for x in r[1:6]] for r in shown] == [
        [c["ok_count"], c["anomaly_count"], c["confirmed_count"], c["failure_count"],
         c["measurement_count"]] for c in cells]
    assert [(d, t) for d, *_, t in per_day] == [(c["measurement_start_day"],
                                                c["measurement_count"]) for c in cells]


def _csv_cells(text: str) -> list[dict[str, Any]]:
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        out.append({k: (int(v) if k.endswith("_count") or k == "probe_asn" else v)
                    for k, v in row.items()})
    return out


def test_downloads_equal_the_page(lab: TestClient) -> None:
    twin = lab.get("/chart/mat.json", params=GRID).json()
    links = twin["links"]
    got_csv = lab.get(links["csv"])
    got_json = lab.get(links["json"])
    assert got_csv.status_code == got_json.status_code == 200
    assert got_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in got_csv.headers["content-disposition"]
    cells = got_json.json()["result"]
    assert _csv_cells(got_csv.text) == cells == twin["aggregation"]["result"]
    assert strip_timing(got_json.json()) == strip_timing(twin["aggregation"])
    page = parse(lab.get("/chart/mat", params=GRID).text)
    hrefs = [a.attrs["href"] for a in page.iter("a")]
    assert links["csv"] in hrefs and links["json"] in hrefs


def test_each_cell_links_to_its_measurements(lab: TestClient) -> None:
    twin = lab.get("/chart/mat.json", params=GRID).json()
    rows = twin["table"]["rows"]
    for row in rows[::7]:
        url = row["search_url"]
        assert url.startswith("/search?")
        found = lab.get(url.replace("/search?", "/search.json?", 1)).json()["results"]
        assert len(found) == row["measurement_count"]
        assert {f"AS{row['probe_asn']}"} == {r["probe_asn"] for r in found}
        assert sum(r["status"] == "anomaly" for r in found) == row["anomaly_count"]


def test_category_axes(lab: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    params = {"axis_x": "probe_asn", "axis_y": "domain", "since": "2022-09-01",
              "until": "2022-10-01"}
    page = lab.get("/chart/mat", params=params)
    twin = lab.get("/chart/mat.json", params=params).json()
    rows = sql.execute(f"SELECT domain, 'AS' || probe_asn, {SQL_COUNTS} FROM measurements "
                       "WHERE measurement_start_time >= '2022-09-01' AND "
                       "measurement_start_time < '2022-10-01' GROUP BY ALL").fetchall()
    expected = {(d, asn): {"anomaly": a, "confirmed": c, "failure": f, "ok": o}
                for d, asn, a, c, f, o, _ in rows}
    assert _drawn(_svg(page.text)) == expected
    assert twin["chart"]["time_x"] is False


def test_refusals_are_pages(lab: TestClient) -> None:
    for params, name in (({"axis_x": "bogus"}, "axis_x"),
                         ({"axis_x": "probe_cc", "axis_y": "probe_cc"}, "axis_y"),
                         ({"since": "2022-09-01", "until": "2022-10-01", "time_grain": "hour"},
                          "time_grain")):
        page = lab.get("/chart/mat", params=params)
        twin = lab.get("/chart/mat.json", params=params)
        assert page.status_code == twin.status_code == 400
        assert twin.json()["error"]["detail"]["parameter"] == name
        assert page.headers["content-type"].startswith("text/html")


def test_samples_by_country_equal_sql(samples: TestClient, samples_url: str) -> None:
    params = {"axis_x": "probe_cc", "since": "2012-01-01", "until": "2026-01-01"}
    twin = samples.get("/chart/mat.json", params=params).json()
    page = samples.get("/chart/mat", params=params)
    con = read_only_sql(samples_url)
    rows = con.execute(f"SELECT probe_cc, {SQL_COUNTS} FROM measurements WHERE "
                       "measurement_start_time >= '2012-01-01' AND "
                       "measurement_start_time < '2026-01-01' GROUP BY ALL").fetchall()
    con.close()
    expected = {cc: {"anomaly": a, "confirmed": c, "failure": f, "ok": o}
                for cc, a, c, f, o, _ in rows}
    assert len(expected) > 5
    assert _drawn(_svg(page.text)) == {("", cc): v for cc, v in expected.items()}
    assert {c["probe_cc"]: c["measurement_count"] for c in twin["aggregation"]["result"]} == {
        cc: t for cc, *_, t in rows}
