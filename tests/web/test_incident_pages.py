"""The incident and outage pages: the lab's detected TikTok incident (onset table, timeline
chart, policy matrix, TLS matrix, networks not affected, evidence, cost) and the outages of
the events store (tests/web/explorekit), each number equal to direct SQL on the DuckDB file,
the HTML equal to its JSON twin, 404 pages for unknown ids, hostile strings escaped."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from tests.report.reportkit import LATEST
from tests.web.explorekit import HOSTILE_FACT, HOSTILE_NAME, HOSTILE_UID
from tests.web.webkit import Element, links, page_and_twin, parse, table_rows


def _z(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(z: str | None) -> str:
    return "" if not z else z.replace("T", " ").replace("Z", " UTC")


def _stored(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    (payload,) = con.execute("SELECT payload FROM incidents").fetchone() or ("",)
    out: dict[str, Any] = json.loads(payload)
    return out


def _time_of(con: duckdb.DuckDBPyConnection, uid: str) -> str:
    (t,) = con.execute("SELECT measurement_start_time FROM measurements WHERE "
                       "measurement_uid = ?", [uid]).fetchone() or (None,)
    assert t is not None, uid
    return _z(t)


def test_incident_list_and_filters(lab: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    root, data = page_and_twin(lab, "/incidents")
    ids = [r[0] for r in sql.execute("SELECT id FROM incidents ORDER BY start_time DESC, id DESC"
                                     ).fetchall()]
    assert [i["id"] for i in data["incidents"]] == ids and data["count"] == len(ids) == 1
    inc = _stored(sql)
    [row] = table_rows(next(e for e in root.iter("table") if e.attrs.get("id") == "incidents"))
    assert row[0].startswith(inc["title"]) and row[0].endswith(inc["id"])
    assert row[1:6] == ["AZ", inc["target"], inc["scope"], _when(inc["start"]), "ongoing"]
    assert row[6] == "AS29049 Delta Telecom Ltd; AS41997 Connect CJSC"
    assert f"/incidents/{inc['id']}" in links(root)
    assert "/reports/AZ?target=service%3Atiktok" in links(root)
    for params, found in (({"target": "tiktok"}, 1), ({"target": "www.tiktok.com"}, 1),
                          ({"target": "telegram"}, 0), ({"ongoing": "true"}, 1),
                          ({"ongoing": "false"}, 0), ({"probe_cc": "az"}, 1),
                          ({"probe_cc": "IR", "target": "", "ongoing": ""}, 0)):
        got = lab.get("/incidents.json", params=params).json()
        assert got["count"] == found, params
    bad = lab.get("/incidents", params={"ongoing": "maybe"})
    assert bad.status_code == 400 and "ongoing" in bad.text


def test_onset_table_is_the_stored_times(lab: TestClient,
                                         sql: duckdb.DuckDBPyConnection) -> None:
    inc = _stored(sql)
    root, data = page_and_twin(lab, f"/incidents/{inc['id']}")
    assert data["incident"] == inc and data["title"] == inc["title"]
    expected = sorted(inc["networks"], key=lambda n: (_time_of(sql, n["first_blocked_uid"]),
                                                     n["asn"]))
    assert [o["asn"] for o in data["onsets"]] == [n["asn"] for n in expected] == [29049, 41997]
    rows = table_rows(root.find_id("onsets") or Element("x", {}))
    assert [r[0] for r in rows] == ["AS29049", "AS41997"]
    for o, n, cells in zip(data["onsets"], expected, rows, strict=True):
        first, clean = _time_of(sql, n["first_blocked_uid"]), _time_of(sql, n["last_clean_uid"])
        assert o["first_blocked"] == {"uid": n["first_blocked_uid"], "time": first,
                                      "url": f"/measurement/{n['first_blocked_uid']}"}
        assert o["last_clean"] == {"uid": n["last_clean_uid"], "time": clean,
                                   "url": f"/measurement/{n['last_clean_uid']}"}
        assert o["onset"] == first == n["onset"]
        assert cells[1] == n["as_name"]
        assert cells[2:4] == [_when(first), _when(clean)]
        assert cells[5] == ", ".join(n["techniques"]) and cells[6] == str(len(n["endpoints"]))
        # blocked / measured: the network's TikTok measurements from its onset, latest verdicts
        measured, blocked = sql.execute(
            f"SELECT count(*), count(*) FILTER (WHERE outcome = 'blocked') FROM ({LATEST}) "
            "WHERE probe_asn = ? AND domain = 'www.tiktok.com' AND measurement_start_time >= ?",
            [n["asn"], first.replace("T", " ").rstrip("Z")]).fetchone() or (0, 0)
        assert (o["measured"], o["blocked"]) == (measured, blocked)
        assert cells[7] == f"{blocked} / {measured}"
    table = root.find_id("onsets")
    assert table is not None
    assert [a for a in links(table) if a.startswith("/measurement/")] == [
        u for n in expected for u in (f"/measurement/{n['first_blocked_uid']}",
                                      f"/measurement/{n['last_clean_uid']}")]
    assert {"/networks/AS29049", "/networks/AS41997", "/reports/AZ?target=service%3Atiktok",
            "/countries/AZ"} <= set(links(root))


def test_policy_matrix_and_not_affected(lab: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    inc = _stored(sql)
    root, data = page_and_twin(lab, f"/incidents/{inc['id']}")
    policy = data["policy"]
    assert policy["endpoints"] == ["www.tiktok.com"]
    assert [r["asn"] for r in policy["rows"]] == [29049, 41997, 28787]
    starts = {o["asn"]: o["onset"] for o in data["onsets"]} | {28787: inc["start"]}
    for r in policy["rows"]:
        measured, failed = sql.execute(
            f"SELECT count(*), count(*) FILTER (WHERE outcome IN ('blocked', 'impaired')) "
            f"FROM ({LATEST}) WHERE probe_asn = ? AND domain = 'www.tiktok.com' "
            "AND measurement_start_time >= ?",
            [r["asn"], starts[r["asn"]].replace("T", " ").rstrip("Z")]).fetchone() or (0, 0)
        [cell] = r["cells"]
        assert (cell["measured"], cell["failed"]) == (measured, failed)
        assert cell["status"] == ("blocked" if failed else "ok")
        assert r["affected"] == (r["asn"] != 28787)
    cells = table_rows(root.find_id("policy") or Element("x", {}))
    assert [c[1] for c in cells] == ["blocked 16 of 16", "blocked 10 of 10", "ok 0 of 16"]
    # not affected: the stored list, with its measurements over the incident
    assert [u["asn"] for u in data["not_affected"]] == inc["not_affected"] == [28787]
    [u] = data["not_affected"]
    rows = sql.execute(
        f"SELECT measurement_uid, measurement_start_time, outcome FROM ({LATEST}) "
        "WHERE probe_asn = 28787 AND domain = 'www.tiktok.com' AND measurement_start_time >= ? "
        "ORDER BY measurement_start_time, measurement_uid",
        [inc["start"].replace("T", " ").rstrip("Z")]).fetchall()
    assert u["measured"] == len(rows) and u["blocked"] == 0 and u["outcomes"] == {"ok": len(rows)}
    assert (u["first"]["uid"], u["last"]["uid"]) == (rows[0][0], rows[-1][0])
    assert table_rows(root.find_id("not-affected") or Element("x", {}))[0][:3] == [
        "AS28787 Aztelekom LLC", str(len(rows)), "0"]


def test_tls_matrix_evidence_and_cost(lab: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    inc = _stored(sql)
    root, data = page_and_twin(lab, f"/incidents/{inc['id']}")
    # the TLS matrix is the incident's sni_matrix, per network
    seen = [(g["asn"], r["ip"], c["server_name"], c["result"], c["measurement"]["uid"])
            for g in data["sni"] for r in g["rows"] for c in r["cells"] if c]
    assert sorted(seen) == sorted((c["asn"], c["ip"], c["server_name"], c["result"], c["uid"])
                                  for c in inc["sni_matrix"])
    assert len(seen) == 2
    for g in data["sni"]:
        table = root.find_id(f"sni-AS{g['asn']}")
        assert table is not None
        assert table_rows(table) == [["198.19.20.1", "failed generic_timeout_error measurement"]]
    # evidence: every cited uid with its row and latest verdict, by time
    rows = sql.execute(
        f"SELECT measurement_uid, measurement_start_time, probe_asn, outcome, mechanism "
        f"FROM ({LATEST}) WHERE list_contains(?, measurement_uid) "
        "ORDER BY measurement_start_time, measurement_uid", [inc["evidence"]]).fetchall()
    assert [(e["uid"], e["time"], e["asn"], e["outcome"], e["mechanism"])
            for e in data["evidence"]] == [(r[0], _z(r[1]), *r[2:]) for r in rows]
    assert len(rows) == len(inc["evidence"]) == 7
    shown = table_rows(root.find_id("evidence") or Element("x", {}))
    assert [r[0] for r in shown] == [_when(e["time"]) for e in data["evidence"]]
    assert [r[4] for r in shown] == [e["outcome"] for e in data["evidence"]]
    # cost: the API's estimate of the incident
    api = lab.get("/api/v1/cost", params={"incident": inc["id"]}).json()
    assert data["cost"] == {"estimate": api, "note": None,
                            "api_url": f"/api/v1/cost?incident={inc['id']}"}
    cost = next(p for p in root.iter("p") if p.attrs.get("class") == "cost")
    assert cost.texts() == (f"USD {round(api['low']):,} (low) · {round(api['central']):,} "
                            f"(central) · {round(api['high']):,} (high)")


def test_timeline_chart_states_every_time(lab: TestClient,
                                          sql: duckdb.DuckDBPyConnection) -> None:
    inc = _stored(sql)
    root, data = page_and_twin(lab, f"/incidents/{inc['id']}")
    svg = next(root.iter("svg"))
    assert svg.attrs["role"] == "img"
    assert svg.attrs["aria-labelledby"] == "timeline-title timeline-desc"
    desc = next(svg.iter("desc")).texts()
    assert desc == data["timeline"]["desc"]
    (last,) = sql.execute("SELECT max(measurement_start_time) FROM measurements "
                          "WHERE probe_cc = 'AZ'").fetchone() or (None,)
    assert data["last_measurement"] == _z(last)
    for o in data["onsets"]:
        for t in (o["first_blocked"]["time"], o["last_clean"]["time"]):
            assert t[:16].replace("T", " ") + " UTC" in desc
    assert f"last measurement {last:%Y-%m-%d %H:%M} UTC" in desc
    groups = [g for g in svg.iter("g") if "row" in g.attrs.get("class", "").split()]
    assert [g.attrs["class"] for g in groups] == ["row row-affected", "row row-affected",
                                                  "row row-not_affected"]
    # the switch is drawn left to right: last clean, then first blocked, then the bar
    rows = data["timeline"]["rows"]
    for r in rows[:2]:
        assert r["clean"]["x"] < r["onset"]["x"] == r["bar"]["x"]
    assert rows[0]["onset"]["x"] < rows[1]["onset"]["x"]
    assert [r["label"] for r in rows] == ["AS29049 Delta Telecom Ltd", "AS41997 Connect CJSC",
                                          "AS28787 Aztelekom LLC"]


def test_unknown_incident_and_outage_are_404_pages(lab: TestClient) -> None:
    for path, message in (("/incidents/inc-000000000000", "no such incident"),
                          ("/outages/out-000000000000", "no such outage")):
        page, twin = lab.get(path), lab.get(f"{path}.json")
        assert page.status_code == twin.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert twin.json()["error"]["message"] == message
        alert = next(p for p in parse(page.text).iter("p") if p.attrs.get("role") == "alert")
        assert alert.texts() == message
    assert lab.get("/incidents/<script>").status_code in (404, 422)
    assert "<script>" not in lab.get("/incidents/%3Cscript%3E").text


def test_outages_are_the_stored_ones(events: TestClient,
                                     events_sql: duckdb.DuckDBPyConnection) -> None:
    root, data = page_and_twin(events, "/outages")
    stored = [json.loads(p) for (p,) in events_sql.execute(
        "SELECT payload FROM outages ORDER BY start_time DESC, id DESC").fetchall()]
    assert [o["id"] for o in data["outages"]] == [o["id"] for o in stored]
    rows = table_rows(root.find_id("outages") or Element("x", {}))
    assert [r[0] for r in rows] == [o["id"] for o in stored]
    assert [r[3] for r in rows] == [o["kind"] for o in stored]
    assert [r[5] for r in rows] == [_when(o["end"]) or "ongoing" for o in stored]
    for params, kinds in (({"kind": "shutdown"}, ["shutdown"]),
                          ({"probe_asn": "AS29049"}, ["slow"]),
                          ({"ongoing": "true"}, ["probes_offline"]),
                          ({"probe_cc": "AZ", "kind": "", "ongoing": "false"},
                           ["shutdown", "slow"])):
        got = events.get("/outages.json", params=params).json()
        assert sorted(o["kind"] for o in got["outages"]) == kinds, params
    assert events.get("/outages", params={"kind": "flood"}).status_code == 400


def test_outage_page(events: TestClient, events_sql: duckdb.DuckDBPyConnection) -> None:
    (payload,) = events_sql.execute("SELECT payload FROM outages WHERE kind = 'shutdown'"
                                    ).fetchone() or ("",)
    o = json.loads(payload)
    page = events.get(f"/outages/{o['id']}")
    root, data = page_and_twin(events, f"/outages/{o['id']}")
    assert data["outage"] == o
    assert data["title"] == f"Outage (shutdown) of AS41997 {HOSTILE_NAME} in AZ"
    assert {f["name"]: f["value"] for f in data["facts"]} == o["facts"]
    figures = dict(r[:2] for r in table_rows(root.find_id("outage-figures")
                                             or Element("x", {})))
    assert figures["note"] == HOSTILE_FACT and figures["failing_share"] == "1.0"
    # evidence: the stored uids by time, then the hostile one (not stored) as text
    assert [e["uid"] for e in data["evidence"]] == [*sorted(o["evidence"][:2]), HOSTILE_UID]
    assert [e["stored"] for e in data["evidence"]] == [True, True, False]
    rows = events_sql.execute(
        "SELECT measurement_uid, measurement_start_time FROM measurements WHERE "
        "list_contains(?, measurement_uid) ORDER BY 2, 1", [o["evidence"]]).fetchall()
    assert len(rows) == 2
    assert [(e["uid"], e["time"]) for e in data["evidence"][:2]] == [
        (r[0], _z(r[1])) for r in rows]
    shown = table_rows(root.find_id("evidence") or Element("x", {}))
    assert shown[2][0] == f"{HOSTILE_UID} (not stored)"
    # the shutdown is priced as the API prices it
    api = events.get("/api/v1/cost", params={"incident": o["id"]}).json()
    assert data["cost"]["estimate"] == api and api["low"] > 0
    assert "<img src=x" not in page.text and "<script>uid" not in page.text
    offline = events_sql.execute("SELECT id FROM outages WHERE kind = 'probes_offline'"
                                 ).fetchone()
    assert offline is not None
    other = events.get(f"/outages/{offline[0]}.json").json()
    assert other["cost"]["estimate"] is None and other["cost"]["note"]
    assert other["title"] == "Outage (probes_offline) of the whole country in AZ"


PAGES = ("/countries", "/countries/AZ", "/networks/AS41997", "/domains/www.tiktok.com",
         "/services", "/services/tiktok", "/incidents", "/incidents/inc-cc235550e5be",
         "/outages", "/reports", "/reports/AZ")


@pytest.mark.parametrize("path", PAGES)
def test_hostile_as_name_is_escaped(events: TestClient, path: str) -> None:
    page = events.get(path)
    assert page.status_code == 200, page.text[:300]
    text = page.text
    assert "<script>alert" not in text and "<b>CJSC</b>" not in text
    assert "<img src=x" not in text
    root = parse(text)
    assert [s.attrs.get("src") for s in root.iter("script")] in ([], ["/static/forms.js"])
    assert not list(root.iter("b")) and not list(root.iter("img"))
    if path not in ("/countries", "/incidents", "/outages", "/reports", "/services"):
        assert HOSTILE_NAME in root.texts(), path  # shown, as text


def test_hostile_name_in_the_timeline_svg_is_text(events: TestClient) -> None:
    data = events.get("/incidents/inc-cc235550e5be.json").json()
    root = parse(events.get("/incidents/inc-cc235550e5be").text)
    svg = next(root.iter("svg"))
    labels = [t.texts() for t in svg.iter("text")]
    short = next(r["label"] for r in data["timeline"]["rows"] if "41997" in r["label"])
    assert short in labels and short.startswith('AS41997 <script>alert("as")')
    assert not [e for e in svg.iter("script")]
    assert HOSTILE_NAME in next(svg.iter("desc")).texts()
