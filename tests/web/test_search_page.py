"""The search page on the lab's TikTok store: the table shows exactly the JSON twin's rows,
which are the rows SQL selects on the DuckDB file; "next page" links walk every row once;
form fields as a browser sends them; errors as HTML pages with the API's envelope; hostile
strings escaped; the page's skeleton (navigation, labels, headers, assets)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import duckdb
from fastapi.testclient import TestClient

from censorscope.web.templating import NAV
from tests.web.webkit import links, parse, strip_timing, table_rows

WINDOW = {"since": "2022-09-01", "until": "2022-10-01"}
TIKTOK = {"probe_cc": "AZ", "domain": "www.tiktok.com", **WINDOW}


def _status(anomaly: bool, confirmed: bool, failure: bool) -> str:
    return "failure" if failure else "confirmed" if confirmed else \
        "anomaly" if anomaly else "ok"


def test_the_table_is_the_twin_and_the_twin_is_sql(lab: TestClient,
                                                   sql: duckdb.DuckDBPyConnection) -> None:
    params = {**TIKTOK, "limit": "1000"}
    page = lab.get("/search", params=params)
    twin = lab.get("/search.json", params=params)
    assert page.status_code == twin.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    data = twin.json()
    rows = table_rows(next(parse(page.text).iter("table")))
    assert len(rows) == len(data["results"]) == data["metadata"]["count"] > 0
    for cells, item in zip(rows, data["results"], strict=True):
        assert cells[0] == item["measurement_start_time"].replace("T", " ").replace(
            "Z", " UTC")
        assert cells[1] == item["probe_cc"]
        assert cells[2] == f"{item['probe_asn']} {item['probe_network_name']}"
        assert cells[3] == item["test_name"] and cells[4] == item["input"]
        assert cells[5].split()[0] == item["status"]
    expected = sql.execute(
        "SELECT measurement_uid, anomaly, confirmed, failure FROM measurements "
        "WHERE probe_cc = 'AZ' AND domain = 'www.tiktok.com' "
        "AND measurement_start_time >= '2022-09-01' AND measurement_start_time < '2022-10-01' "
        "ORDER BY measurement_start_time DESC, measurement_uid DESC").fetchall()
    assert [r["measurement_uid"] for r in data["results"]] == [e[0] for e in expected]
    assert [r["status"] for r in data["results"]] == [_status(*e[1:]) for e in expected]
    assert {r["status"] for r in data["results"]} == {"ok", "anomaly"}
    # every row links to its measurement page
    hrefs = [h for h in links(parse(page.text)) if h.startswith("/measurement/")]
    assert hrefs == [r["page_url"] for r in data["results"]]


def test_next_page_links_walk_every_row_once(lab: TestClient,
                                             sql: duckdb.DuckDBPyConnection) -> None:
    url = "/search?" + urlencode({**TIKTOK, "limit": "7"})
    seen: list[str] = []
    pages = 0
    while url:
        page = lab.get(url)
        assert page.status_code == 200
        root = parse(page.text)
        seen += [tr.attrs["data-uid"] for tr in root.iter("tr") if "data-uid" in tr.attrs]
        pages += 1
        nexts = [a.attrs["href"] for a in root.iter("a") if a.attrs.get("rel") == "next"]
        url = nexts[0] if nexts else ""
        if url:  # the twin of the same page gives the same next link
            twin = lab.get(page.url.path + ".json?" + page.url.query.decode()).json()
            assert twin["links"]["next"] == url
    (total,) = sql.execute(
        "SELECT count(*) FROM measurements WHERE probe_cc = 'AZ' "
        "AND domain = 'www.tiktok.com'").fetchone() or (0,)
    assert len(seen) == len(set(seen)) == total
    assert pages == -(-total // 7)


def test_empty_fields_are_no_filter(lab: TestClient) -> None:
    blank = {k: "" for k in ("probe_asn", "test_name", "input", "report_id", "anomaly",
                              "confirmed", "failure", "order", "limit", "cursor")}
    with_blanks = lab.get("/search.json", params={**TIKTOK, **blank}).json()
    without = lab.get("/search.json", params=TIKTOK).json()
    assert strip_timing(with_blanks["results"]) == strip_timing(without["results"])
    assert with_blanks["form"]["anomaly"] is None and with_blanks["form"]["limit"] == 100


def test_flag_filters(lab: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    for value, cond in (("true", "anomaly"), ("false", "NOT anomaly")):
        got = lab.get("/search.json", params={**TIKTOK, "anomaly": value,
                                              "limit": "1000"}).json()
        (n,) = sql.execute(
            f"SELECT count(*) FROM measurements WHERE probe_cc = 'AZ' AND "
            f"domain = 'www.tiktok.com' AND {cond}").fetchone() or (0,)
        assert len(got["results"]) == n > 0
        assert got["form"]["anomaly"] is (value == "true")


def test_bad_fields_are_error_pages_with_the_envelope(lab: TestClient) -> None:
    for params, name in (({"probe_cc": "AZZ"}, "probe_cc"), ({"anomaly": "maybe"}, "anomaly"),
                         ({"limit": "5000"}, "limit"), ({"since": "yesterday"}, "since")):
        page = lab.get("/search", params=params)
        twin = lab.get("/search.json", params=params)
        assert page.status_code == twin.status_code == 400
        envelope = twin.json()["error"]
        assert envelope["detail"]["parameter"] == name
        root = parse(page.text)
        alert = next(p for p in root.iter("p") if p.attrs.get("role") == "alert")
        assert alert.texts() == envelope["message"]
        assert page.headers["content-type"].startswith("text/html")


def test_unknown_paths(lab: TestClient) -> None:
    page = lab.get("/no/such/page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "no such endpoint: /no/such/page" in page.text
    for path in ("/api/v1/nope", "/nope.json"):
        r = lab.get(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == 404
    assert lab.post("/search").status_code == 405


def test_hostile_strings_are_escaped(lab: TestClient) -> None:
    hostile = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    page = lab.get("/search", params={**WINDOW, "domain": hostile})
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    field = next(i for i in parse(page.text).iter("input") if i.attrs.get("name") == "domain")
    assert field.attrs["value"] == hostile


def test_skeleton_navigation_labels_and_headers(lab: TestClient) -> None:
    page = lab.get("/search", params=TIKTOK)
    root = parse(page.text)
    assert next(root.iter("title")).texts() == "Search measurements · censorscope explorer"
    skip = next(root.iter("a"))
    assert skip.attrs["href"] == "#main" and root.find_id("main") is not None
    nav = next(n for n in root.iter("nav") if n.attrs.get("aria-label") == "Main")
    assert [(a.texts(), a.attrs["href"]) for a in nav.iter("a")] == [
        (label, path) for _, label, path in NAV]
    assert [a.texts() for a in nav.iter("a") if a.attrs.get("aria-current") == "page"] == [
        "Search"]
    # every form control has a label
    ids = {lab_.attrs["for"] for lab_ in root.iter("label")}
    controls = [c for c in [*root.iter("input"), *root.iter("select")]]
    assert controls and all(c.attrs["id"] in ids for c in controls)
    assert all(th.attrs.get("scope") in ("col", "row") for th in root.iter("th"))
    # the twin is announced and linked
    twin = f"/search.json?{page.url.query.decode()}"
    assert [ln.attrs["href"] for ln in root.iter("link")
            if ln.attrs.get("type") == "application/json"] == [twin]
    assert twin in links(root)
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    # assets come from the package, nothing from elsewhere
    srcs = [e.attrs.get("src") or e.attrs.get("href") for e in [*root.iter("script"),
                                                                  *root.iter("link")]]
    assert srcs and all(s.startswith("/") or s == "data:," for s in srcs)
    for asset in ("/static/explorer.css", "/static/forms.js"):
        r = lab.get(asset)
        assert r.status_code == 200 and len(r.content) > 100


def test_root_goes_to_search(lab: TestClient) -> None:
    r = lab.get("/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/search"


def _luminance(colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_css_text_contrast_is_at_least_4_5(lab: TestClient) -> None:
    css = lab.get("/static/explorer.css").text
    pairs = []
    for body in re.findall(r"\{([^}]*)\}", css):
        fg = re.search(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})", body)
        bg = re.search(r"background(?:-color)?:\s*(#[0-9a-fA-F]{6})", body)
        if fg and bg:
            pairs.append((fg.group(1), bg.group(1)))
    assert len(pairs) >= 10
    low = [(f, b, round(contrast(f, b), 2)) for f, b in pairs if contrast(f, b) < 4.5]
    assert not low
    # links, muted text and the focus ring on white
    for colour in ("#0b57a4", "#555555"):
        assert contrast(colour, "#ffffff") >= 4.5
    assert contrast("#b34700", "#ffffff") >= 3.0
