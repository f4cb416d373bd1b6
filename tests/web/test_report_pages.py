"""The report pages: /reports lists the countries with events (SQL on the DuckDB file);
/reports/{cc} carries the API's /api/v1/reports answer under ``facts`` and shows its onset
table, proofs, coverage and citations (each linking to a measurement page that exists);
refusals are the API's (404 with the reason, 400 naming the field) as HTML pages;
/reports/{cc}/charts draws the report's charts as images with their text alternatives. And
the accessibility rules every page of these modules follows."""

from __future__ import annotations

import base64

import duckdb
import pytest
from fastapi.testclient import TestClient

from tests.web.webkit import Element, json_twin, links, page_and_twin, parse, table_rows


def _when(z: str | None) -> str:
    return "" if not z else z.replace("T", " ").replace("Z", " UTC")


def test_reports_index(lab: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    root, data = page_and_twin(lab, "/reports")
    ccs = [r[0] for r in sql.execute("SELECT cc FROM incidents UNION SELECT cc FROM outages "
                                     "ORDER BY 1").fetchall()]
    assert [c["probe_cc"] for c in data["countries"]] == ccs == ["AZ"]
    targets = [r[0] for r in sql.execute("SELECT DISTINCT target FROM incidents WHERE cc = 'AZ' "
                                         "ORDER BY 1").fetchall()]
    assert [t["target"] for t in data["countries"][0]["targets"]] == targets
    assert {"/reports/AZ", "/reports/AZ?target=service%3Atiktok"} <= set(links(root))


@pytest.mark.parametrize("query", ["", "?target=tiktok",
                                   "?target=service%3Atiktok&since=2022-09-14&until=2022-09-16"])
def test_report_page_is_the_api_facts(lab: TestClient, query: str) -> None:
    root, data = page_and_twin(lab, f"/reports/AZ{query}")
    api_query = "probe_cc=AZ" + (f"&{query[1:]}" if query else "")
    api = lab.get(f"/api/v1/reports?{api_query}").json()
    assert data["facts"] == api
    assert data["title"] == api["incidents"][0]["title"]
    assert data["links"]["api"].startswith("/api/v1/reports?probe_cc=AZ")
    assert lab.get(data["links"]["api"]).json() == api
    [inc] = api["incidents"]
    rows = table_rows(root.find_id("report-onsets-1") or Element("x", {}))
    assert [r[0] for r in rows] == [f"AS{n['asn']} {n['as_name']}" for n in inc["networks"]]
    assert [r[1] for r in rows] == [_when(n["onset"]) for n in inc["networks"]]
    assert [r[2] for r in rows] == [_when(n["last_clean_at"]) for n in inc["networks"]]
    assert [r[6] for r in rows] == [f"{n['blocked']} / {n['measured']}" for n in inc["networks"]]
    assert [n["asn"] for n in inc["networks"]] == [29049, 41997]
    # the proof's timeline excerpts, line by line
    timelines = [t for t in root.iter("table") if t.attrs.get("class") == "timeline"]
    assert len(timelines) == 2
    for table, n in zip(timelines, inc["networks"], strict=True):
        assert [r[1] for r in table_rows(table)] == [line["text"] for line in
                                                     n["proof"]["timeline"]["lines"]]
    coverage = table_rows(root.find_id("report-coverage") or Element("x", {}))
    assert [r[1] for r in coverage] == [str(c["measurements"]) for c in api["coverage"]]
    cited = table_rows(root.find_id("report-cited") or Element("x", {}))
    assert [r[0] for r in cited] == list(api["cited"])


def test_report_text_cites_measurement_pages(lab: TestClient) -> None:
    root, data = page_and_twin(lab, "/reports/AZ?target=tiktok")
    summary = root.find_id("report-summary")
    assert summary is not None
    assert [li.texts() for li in summary.iter("li")] == [
        " ".join("".join(s["text"] for s in bullet).split()) for bullet in data["summary"]]
    cites = [s for bullet in data["summary"] for s in bullet if s.get("uid")]
    assert cites and all(s["url"] == f"/measurement/{s['uid']}" for s in cites)
    first = data["facts"]["incidents"][0]["networks"][0]["first_blocked_uid"]
    assert f"/measurement/{first}" in links(summary)
    for url in sorted({s["url"] for s in cites})[:3]:
        assert lab.get(url).status_code == 200
    assert set(data["sni_sentences"][data["facts"]["incidents"][0]["id"]]) == {"29049",
                                                                                "41997"}
    assert "The same endpoint failed on every affected network" in summary.texts()


@pytest.mark.parametrize(("path", "status", "reason"), [
    ("/reports/IR", 404, "unknown_country"),
    ("/reports/AZ?target=telegram", 404, "nothing_to_report"),
    ("/reports/AZ?since=2023-01-01", 404, "empty_window"),
    ("/reports/AZ?target=a%20b", 400, None),
    ("/reports/AZ?since=2022-09-16&until=2022-09-14", 400, None),
])
def test_report_refusals(lab: TestClient, path: str, status: int, reason: str | None) -> None:
    base, _, query = path.partition("?")
    page, twin = lab.get(path), lab.get(json_twin(path))
    api = lab.get("/api/v1/reports?probe_cc=" + base.rsplit("/", 1)[1]
                  + (f"&{query}" if query else ""))
    assert page.status_code == twin.status_code == api.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert twin.json()["error"]["message"] == api.json()["error"]["message"]
    if reason is not None:
        assert twin.json()["error"]["detail"]["reason"] == reason


def test_report_charts_page(lab: TestClient) -> None:
    root, data = page_and_twin(lab, "/reports/AZ/charts?target=tiktok")
    names = [c["name"] for c in data["charts"]]
    assert names == ["failures_by_name", "asn_endpoint_grid", "sni_matrix", "dns_answers",
                     "coverage"]
    images = list(root.iter("img"))
    assert [i.attrs["alt"] for i in images] == [c["alt"] for c in data["charts"]]
    for chart in data["charts"]:
        svg = base64.b64decode(chart["src"].removeprefix("data:image/svg+xml;base64,")
                               ).decode("utf-8")
        assert f"<title>{chart['title']}</title>" in svg and 'role="img"' in svg
        assert "<script" not in svg
    assert "www.tiktok.com failed in 26 of 72 measurements" in data["charts"][0]["alt"]


PAGES = ("/countries", "/countries/AZ", "/networks/AS29049", "/domains/www.tiktok.com",
         "/services", "/services/tiktok", "/incidents", "/incidents/inc-cc235550e5be",
         "/outages", "/reports", "/reports/AZ", "/reports/AZ/charts")


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_accessible(lab: TestClient, path: str) -> None:
    page = lab.get(path)
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    root = parse(page.text)
    assert len(list(root.iter("h1"))) == 1
    for table in root.iter("table"):
        heads = [th for th in table.iter("th")]
        assert heads and all(th.attrs.get("scope") in ("col", "row") for th in heads), path
    labels = {lb.attrs.get("for") for lb in root.iter("label")}
    for control in [*root.iter("input"), *root.iter("select")]:
        assert control.attrs["id"] in labels
    for svg in root.iter("svg"):
        assert svg.attrs["role"] == "img"
        assert next(svg.iter("title")).texts() and next(svg.iter("desc")).texts()
    for img in root.iter("img"):
        assert img.attrs["alt"]
    assert not [e for e in root.iter() if "style" in e.attrs]
    for a in root.iter("a"):
        href = a.attrs.get("href", "")
        # links go to pages, not twins (but the footer's twin and the OpenAPI document)
        assert not href.endswith(".json") or href == "/openapi.json" \
            or a.texts() == "This page as JSON"
        assert a.texts(), href  # every link says where it goes
