"""The country, network, domain and service pages on the lab's TikTok store: every number the
JSON twin carries is a direct SQL count on the DuckDB file (opened read-only), every table
shows the twin's rows, links go to the pages of what they name, and unknown places are the
HTML 404 page (the envelope on the twin)."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest
from fastapi.testclient import TestClient

from tests.report.reportkit import LATEST
from tests.web.webkit import (
    Element,
    json_twin,
    links,
    page_and_twin,
    parse,
    read_only_sql,
    strip_timing,
    table_rows,
)

MAT = """
    count(*) FILTER (WHERE anomaly AND NOT confirmed AND NOT failure) AS anomaly_count,
    count(*) FILTER (WHERE confirmed AND NOT failure) AS confirmed_count,
    count(*) FILTER (WHERE failure) AS failure_count,
    count(*) FILTER (WHERE NOT anomaly AND NOT confirmed AND NOT failure) AS ok_count,
    count(*) AS measurement_count
"""
COUNTS = ("anomaly_count", "confirmed_count", "failure_count", "ok_count", "measurement_count")
# the lab case: 2022-09-14 06:00 to 2022-09-15 05:10 UTC; the pages' window is its days
WINDOW = ("2022-09-14 00:00:00", "2022-09-16 00:00:00")


def _z(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _table(root: Element, ident: str) -> list[list[str]]:
    table = root.find_id(ident)
    assert table is not None, ident
    return table_rows(table)


def _when(z: str | None) -> str:
    return "" if not z else z.replace("T", " ").replace("Z", " UTC")


def test_countries_are_sql_counts(lab: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    root, data = page_and_twin(lab, "/countries")
    rows = sql.execute(f"SELECT probe_cc, {MAT}, min(measurement_start_time)::DATE, "
                       "max(measurement_start_time)::DATE FROM measurements GROUP BY probe_cc "
                       "ORDER BY probe_cc").fetchall()
    assert [c["probe_cc"] for c in data["countries"]] == [r[0] for r in rows] == ["AZ"]
    for c, r in zip(data["countries"], rows, strict=True):
        assert [c[k] for k in COUNTS] == list(r[1:6])
        assert c["anomaly_share"] == r[1] / r[5] and c["confirmed_share"] == r[2] / r[5]
        assert (c["first_day"], c["last_day"]) == (str(r[6]), str(r[7]))
        (incidents,) = sql.execute("SELECT count(*) FROM incidents WHERE cc = ?",
                                   [r[0]]).fetchone() or (0,)
        assert c["incidents"] == incidents == 1 and c["ongoing_incidents"] == 1
        assert c["name"] == "Azerbaijan" and c["url"] == "/countries/AZ"
    cells = _table(root, "countries")
    assert [row[0] for row in cells] == ["AZ Azerbaijan"]
    assert cells[0][1:6] == [str(data["countries"][0][k]) for k in
                             ("ok_count", "anomaly_count", "confirmed_count", "failure_count",
                              "measurement_count")]
    assert cells[0][6] == f"{100 * data['countries'][0]['anomaly_share']:.1f} %"
    assert "/countries/AZ" in links(root)


def test_country_networks_incidents_and_chart(lab: TestClient,
                                              sql: duckdb.DuckDBPyConnection) -> None:
    root, data = page_and_twin(lab, "/countries/AZ")
    assert data["title"] == "Azerbaijan (AZ)"
    nets = sql.execute(f"SELECT probe_asn, {MAT} FROM measurements WHERE probe_cc = 'AZ' "
                       "GROUP BY probe_asn").fetchall()
    by_asn = {n["asn"]: n for n in data["networks"]}
    assert set(by_asn) == {r[0] for r in nets} == {29049, 41997, 28787}
    for r in nets:
        n = by_asn[r[0]]
        assert [n[k] for k in COUNTS] == list(r[1:])
        uid, t, name = sql.execute(
            "SELECT measurement_uid, measurement_start_time, probe_network_name FROM "
            "measurements WHERE probe_asn = ? ORDER BY measurement_start_time DESC, "
            "measurement_uid DESC LIMIT 1", [r[0]]).fetchone() or ("", None, "")
        assert n["last"] == {"uid": uid, "time": _z(t), "url": f"/measurement/{uid}"}
        assert n["as_name"] == name and n["url"] == f"/networks/AS{r[0]}"
    assert [n["measurement_count"] for n in data["networks"]] == sorted(
        (n["measurement_count"] for n in data["networks"]), reverse=True)
    table = _table(root, "country-networks")
    assert [row[0] for row in table] == [f"AS{n['asn']}" for n in data["networks"]]
    assert [row[1] for row in table] == [n["as_name"] for n in data["networks"]]
    assert [row[9] for row in table] == [_when(n["last"]["time"]) for n in data["networks"]]
    # incidents of the country: the stored ones
    ids = [r[0] for r in sql.execute("SELECT id FROM incidents WHERE cc = 'AZ'").fetchall()]
    assert [i["id"] for i in data["incidents"]] == ids
    assert f"/incidents/{ids[0]}" in links(root)
    assert data["outages"] == [] and "No outage detected in AZ." in root.texts()
    # the chart: the country's days by the hour, each bucket a SQL count
    assert data["window"] == {"since": "2022-09-14T00:00:00Z", "until": "2022-09-16T00:00:00Z",
                              "grain": "hour", "days": 30}
    hours = sql.execute(f"SELECT date_trunc('hour', measurement_start_time) AS h, {MAT} FROM "
                        "measurements WHERE probe_cc = 'AZ' GROUP BY h ORDER BY h").fetchall()
    assert [(r["x"], r["ok"], r["anomaly"], r["confirmed"], r["failure"], r["total"])
            for r in data["recent"]["rows"]] == [
        (_z(h[0]), h[4], h[1], h[2], h[3], h[5]) for h in hours]
    svg = next(root.iter("svg"))
    assert svg.attrs["role"] == "img"
    assert next(svg.iter("title")).texts() == data["recent"]["chart"]["title"]
    assert next(svg.iter("desc")).texts() == " ".join(data["recent"]["chart"]["desc"].split())
    numbers = _table(root, "recent-numbers")
    assert [r[5] for r in numbers] == [str(h[5]) for h in hours]
    assert data["links"]["mat"] == ("/chart/mat?probe_cc=AZ&since=2022-09-14T00%3A00%3A00Z"
                                    "&until=2022-09-16T00%3A00%3A00Z&time_grain=hour")


# blocked: the MAT flags of the measurement row (anomaly, not failure) — the latest verdict's
BLOCKED = "anomaly AND NOT failure"


def test_mat_flags_are_the_latest_verdicts(sql: duckdb.DuckDBPyConnection) -> None:
    """What the pages count as blocked (MAT anomaly) is what the latest verdict says."""
    rows = sql.execute(f"SELECT count(*), count(*) FILTER (WHERE ({BLOCKED}) = (outcome IN "
                       f"('blocked', 'impaired'))) FROM ({LATEST})").fetchone() or (0, -1)
    assert rows[0] == rows[1] == 144


def test_country_blocked_domains_and_services(lab: TestClient,
                                              sql: duckdb.DuckDBPyConnection) -> None:
    root, data = page_and_twin(lab, "/countries/AZ")
    rows = sql.execute(
        f"SELECT domain, count(*), count(*) FILTER (WHERE {BLOCKED}), "
        f"list(DISTINCT probe_asn ORDER BY probe_asn) FILTER (WHERE {BLOCKED}), "
        f"list(DISTINCT blocking_type) FILTER (WHERE {BLOCKED}) FROM measurements "
        "WHERE probe_cc = 'AZ' AND measurement_start_time >= ? AND measurement_start_time < ? "
        f"GROUP BY domain HAVING count(*) FILTER (WHERE {BLOCKED}) > 0 ORDER BY 3 DESC, 1",
        list(WINDOW)).fetchall()
    assert [(d["domain"], d["measured"], d["blocked"], d["networks_blocking"],
             list(d["blocking_types"])) for d in data["blocked_domains"]] == \
        [tuple(r) for r in rows]
    assert rows == [("www.tiktok.com", 72, 26, [29049, 41997], ["tls"])]
    first, last = sql.execute(
        f"SELECT min((measurement_start_time, measurement_uid)), "
        f"max((measurement_start_time, measurement_uid)) FROM ({LATEST}) WHERE probe_cc = 'AZ' "
        "AND domain = 'www.tiktok.com' AND outcome = 'blocked'").fetchone() or (None, None)
    top = data["blocked_domains"][0]
    assert (top["first_blocked"]["time"], top["first_blocked"]["uid"]) == (_z(first[0]),
                                                                            first[1])
    assert (top["last_blocked"]["time"], top["last_blocked"]["uid"]) == (_z(last[0]), last[1])
    assert top["first_blocked"]["mechanism"] == top["last_blocked"]["mechanism"] == \
        "tls.timeout.sni"
    cells = _table(root, "blocked-domains")
    assert cells[0][:3] == ["www.tiktok.com", "26", "72"]
    assert cells[0][6] == f"{_when(top['first_blocked']['time'])} tls.timeout.sni"
    assert "/domains/www.tiktok.com" in links(root)
    # services: as many measurements as the API's /api/v1/services counts in the same window
    api = lab.get("/api/v1/services", params={"probe_cc": "AZ", "since": "2022-09-14",
                                              "until": "2022-09-16"}).json()
    measured = {s["name"]: s["measurement_count"] for s in api["services"]
                if s["measurement_count"]}
    assert {s["name"]: s["measured"] for s in data["services"]} == measured == {"tiktok": 72}
    tiktok = next(s for s in api["services"] if s["name"] == "tiktok")
    assert data["services"][0]["blocked"] == sum(
        n["outcomes"].get("blocked", 0) for n in tiktok["networks"]) == 26
    assert data["services"][0]["networks_blocking"] == [29049, 41997]


def test_network_page(lab: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    root, data = page_and_twin(lab, "/networks/AS41997")
    assert strip_timing(lab.get("/networks/41997.json").json()) == strip_timing(data)
    (name,) = sql.execute("SELECT any_value(probe_network_name) FROM measurements "
                          "WHERE probe_asn = 41997").fetchone() or ("",)
    assert data["title"] == f"AS41997 {name}" == "AS41997 Connect CJSC"
    counts = sql.execute(f"SELECT {MAT} FROM measurements WHERE probe_asn = 41997").fetchone()
    assert [data["counts"][k] for k in COUNTS] == list(counts or ())
    assert [c["probe_cc"] for c in data["countries"]] == ["AZ"]
    # the incident naming it, with its onset and the stored times of detection's uids
    (payload,) = sql.execute("SELECT payload FROM incidents").fetchone() or ("",)
    import json

    mine = next(n for n in json.loads(payload)["networks"] if n["asn"] == 41997)
    [named] = data["incidents"]
    assert named["network"]["onset"] == mine["onset"]
    assert named["network"]["techniques"] == mine["techniques"] == ["tls.timeout.sni"]
    for key, uid_key in (("first_blocked", "first_blocked_uid"),
                         ("last_clean", "last_clean_uid")):
        (t,) = sql.execute("SELECT measurement_start_time FROM measurements WHERE "
                           "measurement_uid = ?", [mine[uid_key]]).fetchone() or (None,)
        assert named["network"][key] == {"uid": mine[uid_key], "time": _z(t),
                                         "url": f"/measurement/{mine[uid_key]}"}
    cells = _table(root, "network-incidents")
    assert cells[0][2] == _when(mine["onset"])
    assert cells[0][3] == _when(named["network"]["last_clean"]["time"])
    # the domains blocked there: latest verdicts
    rows = sql.execute(
        f"SELECT domain, count(*), count(*) FILTER (WHERE {BLOCKED}) FROM measurements "
        f"WHERE probe_asn = 41997 GROUP BY domain HAVING count(*) FILTER (WHERE {BLOCKED}) > 0"
        ).fetchall()
    assert [(d["domain"], d["measured"], d["blocked"]) for d in data["blocked_domains"]] == \
        [tuple(r) for r in rows] == [("www.tiktok.com", 24, 10)]
    [top] = data["blocked_domains"]
    (first,) = sql.execute(f"SELECT min((measurement_start_time, measurement_uid)) FROM "
                           f"measurements WHERE probe_asn = 41997 AND {BLOCKED}").fetchone() \
        or (None,)
    assert (top["first_blocked"]["time"], top["first_blocked"]["uid"]) == (_z(first[0]),
                                                                            first[1])
    assert top["first_blocked"]["uid"] == mine["first_blocked_uid"]
    # the unaffected network lists the incident as not affected
    other = lab.get("/networks/AS28787.json").json()
    assert other["incidents"] == [] and [i["id"] for i in other["incidents_not_affected"]] \
        == [json.loads(payload)["id"]]
    assert other["blocked_domains"] == []


def test_domain_page(lab: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    root, data = page_and_twin(lab, "/domains/www.tiktok.com")
    assert lab.get("/domains/WWW.TIKTOK.COM.json").json() == data
    rows = sql.execute(
        f"SELECT probe_cc, probe_asn, count(*), count(*) FILTER (WHERE {BLOCKED}), "
        f"min((measurement_start_time, measurement_uid)) FILTER (WHERE {BLOCKED}), "
        f"max((measurement_start_time, measurement_uid)) FILTER (WHERE {BLOCKED}), "
        "max((measurement_start_time, measurement_uid)) FROM measurements "
        "WHERE domain = 'www.tiktok.com' GROUP BY ALL ORDER BY 4 DESC, 3 DESC, 1, 2").fetchall()
    assert len(data["networks"]) == len(rows) == 3
    for n, r in zip(data["networks"], rows, strict=True):
        assert (n["probe_cc"], n["asn"], n["measured"], n["blocked"]) == tuple(r[:4])
        for key, value in (("first_blocked", r[4]), ("last_blocked", r[5]), ("latest", r[6])):
            if value is None:
                assert n[key] is None
            else:
                assert (n[key]["time"], n[key]["uid"]) == (_z(value[0]), value[1])
                assert n[key]["url"] == f"/measurement/{value[1]}"
    assert data["blocked"] == 26 and data["measured"] == 72 and data["networks_blocking"] == 2
    cells = _table(root, "domain-networks")
    assert [row[1] for row in cells] == [f"AS{n['asn']} {n['as_name']}" for n in data["networks"]]
    assert [row[2] for row in cells] == [str(n["blocked"]) for n in data["networks"]]
    assert [i["target"] for i in data["incidents"]] == ["service:tiktok"]
    # a window: only the 15th
    day = lab.get("/domains/www.tiktok.com.json",
                  params={"since": "2022-09-15", "until": "2022-09-16"}).json()
    (n15,) = sql.execute("SELECT count(*) FROM measurements WHERE domain = 'www.tiktok.com' "
                         "AND measurement_start_time >= '2022-09-15'").fetchone() or (0,)
    assert day["measured"] == n15 == 18
    assert day["form"] == {"since": "2022-09-15", "until": "2022-09-16"}


def test_service_pages_are_the_api(lab: TestClient) -> None:
    root, data = page_and_twin(lab, "/services/tiktok")
    window = {"since": data["metadata"]["since"], "until": data["metadata"]["until"]}
    assert window == {"since": "2022-08-17T00:00:00Z", "until": "2022-09-16T00:00:00Z"}
    api = lab.get("/api/v1/services/tiktok", params=window).json()["service"]
    service = data["service"]
    for key, value in api.items():
        if key != "networks":
            assert service[key] == value, key
    assert len(service["networks"]) == len(api["networks"]) == 3
    for mine, theirs in zip(service["networks"], api["networks"], strict=True):
        latest = theirs["latest"]
        assert {k: v for k, v in mine.items() if k in theirs and k != "latest"} == \
            {k: v for k, v in theirs.items() if k != "latest"}
        assert mine["latest"] == {**latest, "url": f"/measurement/{latest['measurement_uid']}"}
    cells = _table(root, "service-networks")
    assert [row[1] for row in cells] == [f"AS{n['probe_asn']} {n['probe_network_name']}"
                                         for n in service["networks"]]
    assert [row[6] for row in cells] == [n["latest"]["outcome"] for n in service["networks"]]
    assert [row[0] for row in _table(root, "service-endpoints")] == [
        e["host"] for e in api["endpoints"]]
    listing, all_data = page_and_twin(lab, "/services")
    names = [row[0] for row in _table(listing, "services")]
    assert names == [s["name"] for s in all_data["services"]] and "tiktok" in names
    tiktok = next(s for s in all_data["services"] if s["name"] == "tiktok")
    assert tiktok["measurement_count"] == 72 and tiktok["blocked"] == 26


@pytest.mark.parametrize(("path", "status", "message"), [
    ("/countries/ZZ", 404, "no measurement from this country is stored"),
    ("/networks/AS1", 404, "no measurement from this network is stored"),
    ("/domains/nothing.example", 404, "no measurement of this domain is stored"),
    ("/services/nope", 404, "no such service"),
    ("/services?probe_cc=XYZ", 400, "bad parameter probe_cc: not a two-letter country code"),
    ("/domains/www.tiktok.com?since=2022-09-16&until=2022-09-01", 400,
     "bad parameter since: since must be before until"),
])
def test_unknown_places_are_error_pages(lab: TestClient, path: str, status: int,
                                        message: str) -> None:
    page, twin = lab.get(path), lab.get(json_twin(path))
    assert page.status_code == twin.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert twin.json()["error"]["message"] == message
    alert = next(p for p in parse(page.text).iter("p") if p.attrs.get("role") == "alert")
    assert alert.texts() == message
    assert lab.get("/countries/A1").status_code == 422


def test_countries_of_the_real_samples(samples: TestClient, samples_url: str) -> None:
    """Every country of the real OONI samples: the list's counts and days are SQL's, and each
    country page lists its networks with SQL's counts (measurements without a start time
    counted, as the MAT counts them, but left out of the days)."""
    con = read_only_sql(samples_url)
    try:
        rows = con.execute(f"SELECT probe_cc, {MAT}, min(measurement_start_time)::DATE, "
                           "max(measurement_start_time)::DATE FROM measurements "
                           "GROUP BY probe_cc ORDER BY probe_cc").fetchall()
        nets = con.execute(f"SELECT probe_cc, probe_asn, {MAT} FROM measurements "
                           "GROUP BY ALL").fetchall()
    finally:
        con.close()
    data = samples.get("/countries.json").json()
    assert len(rows) > 20
    assert [(c["probe_cc"], *(c[k] for k in COUNTS), c["first_day"], c["last_day"])
            for c in data["countries"]] == [
        (r[0], *r[1:6], str(r[6]) if r[6] else None, str(r[7]) if r[7] else None)
        for r in rows]
    for (cc, *_rest) in rows:
        page = samples.get(f"/countries/{cc}.json")
        assert page.status_code == 200, cc
        got = {n["asn"]: [n[k] for k in COUNTS] for n in page.json()["networks"]}
        assert got == {r[1]: list(r[2:]) for r in nets if r[0] == cc}, cc
