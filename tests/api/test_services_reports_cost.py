"""``/api/v1/services``, ``/api/v1/reports`` and ``/api/v1/cost`` on the test store: service
tallies equal a direct SQL count of the latest verdicts, a report's facts equal the
``report.json`` that ``censorscope report`` writes, a cost equals ``censorscope cost --format
json`` (and ``estimate_for_event`` for a stored incident); every refusal in the envelope."""

from __future__ import annotations

import ipaddress
import json
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from apikit import WIDE, ApiStore
from click.testing import CliRunner
from fastapi.testclient import TestClient

from censorscope.api.schemas import CostAnswer, ReportAnswer, ServiceAnswer, ServicesAnswer
from censorscope.cost import estimate_for_event
from censorscope.cost.cli import cost as cost_command
from censorscope.model.services import KNOWN_SERVICES, bundled_set
from censorscope.report.cli import report as report_command
from censorscope.store import open_store

TIKTOK_INCIDENT = "inc-501b60d137f0"


def _error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == status
    error: dict[str, Any] = body["error"]
    return error


def _domains(service: str) -> list[str]:
    def read(rel: str) -> str:
        return resources.files("censorscope.data").joinpath(rel).read_text("utf-8")

    hosts = set()
    for e in bundled_set(service, read):
        try:
            ipaddress.ip_address(e.host)
        except ValueError:
            hosts.add(e.host.lower())
    return sorted(hosts)


def _sql_tallies(sql: duckdb.DuckDBPyConnection, service: str, since: str, until: str
                 ) -> dict[tuple[str, int], dict[str, int]]:
    """(cc, asn) → outcome → measurements of ``service`` counted with their latest verdict."""
    domains = _domains(service)
    marks = ", ".join("?" for _ in domains)
    rows = sql.execute(
        "WITH lv AS (SELECT measurement_uid, max(rules_version) AS rv FROM verdicts "
        "GROUP BY measurement_uid) "
        "SELECT m.probe_cc, m.probe_asn, v.outcome, count(*) FROM measurements m "
        "JOIN lv ON lv.measurement_uid = m.measurement_uid "
        "JOIN verdicts v ON v.measurement_uid = lv.measurement_uid "
        "AND v.rules_version = lv.rv "
        "WHERE m.measurement_start_time >= ?::TIMESTAMP "
        "AND m.measurement_start_time < ?::TIMESTAMP "
        f"AND (lower(m.domain) IN ({marks}) OR m.test_name = ? "
        "OR (m.test_name = 'service' AND lower(m.input) = ?)) "
        "GROUP BY ALL", [since, until, *domains, service, service]).fetchall()
    out: dict[tuple[str, int], dict[str, int]] = {}
    for cc, asn, outcome, n in rows:
        out.setdefault((cc, asn), {})[outcome] = n
    return out


# --- services ------------------------------------------------------------------------------

def test_services_tallies_equal_sql_on_the_latest_verdicts(
        client: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    r = client.get("/api/v1/services", params=WIDE)
    assert r.status_code == 200, r.text
    body = r.json()
    ServicesAnswer.model_validate(body)
    assert [s["name"] for s in body["services"]] == list(KNOWN_SERVICES)
    measured = 0
    for s in body["services"]:
        assert s["domains"] == _domains(s["name"])
        assert len(s["endpoints"]) == len(bundled_set(s["name"], lambda rel: resources.files(
            "censorscope.data").joinpath(rel).read_text("utf-8")))
        got = {(n["probe_cc"], n["probe_asn"]): n["outcomes"] for n in s["networks"]}
        assert got == _sql_tallies(sql, s["name"], WIDE["since"], WIDE["until"]), s["name"]
        assert s["measurement_count"] == sum(sum(o.values()) for o in got.values())
        measured += bool(got)
    assert measured >= 5  # tiktok (the case), whatsapp, telegram, signal, facebook …
    tiktok = body["services"][0]
    assert {(n["probe_asn"]): n["outcomes"] for n in tiktok["networks"]} == {
        28787: {"ok": 48}, 29049: {"ok": 20, "blocked": 28}, 41997: {"ok": 30, "blocked": 18}}
    latest = {n["probe_asn"]: n["latest"] for n in tiktok["networks"]}
    assert latest[29049]["measurement_uid"] == "AZ29049-0047"
    assert latest[29049]["outcome"] == "blocked" and latest[28787]["outcome"] == "ok"
    assert latest[29049]["measurement_start_time"] == "2022-09-02T23:00:00Z"


def test_one_service_with_filters(client: TestClient, sql: duckdb.DuckDBPyConnection) -> None:
    window = {"since": "2022-09-01T12:00:00Z", "until": "2022-09-02"}
    r = client.get("/api/v1/services/tiktok", params={**window, "probe_asn": "AS29049,41997"})
    assert r.status_code == 200, r.text
    body = r.json()
    ServiceAnswer.model_validate(body)
    assert body["metadata"]["since"] == "2022-09-01T12:00:00Z"
    got = {(n["probe_cc"], n["probe_asn"]): n["outcomes"] for n in body["service"]["networks"]}
    want = _sql_tallies(sql, "tiktok", "2022-09-01 12:00:00", "2022-09-02")
    assert got == {k: v for k, v in want.items() if k[1] in (29049, 41997)}
    assert got[("AZ", 29049)] == {"ok": 8, "blocked": 4}  # 12:00 … 23:00, blocked from 20:00
    none = client.get("/api/v1/services/tiktok", params={**WIDE, "probe_cc": "IT"}).json()
    assert none["service"]["networks"] == [] and none["service"]["measurement_count"] == 0
    it = client.get("/api/v1/services/telegram", params={**WIDE, "probe_cc": "it"}).json()
    assert [n["probe_cc"] for n in it["service"]["networks"]] == ["IT"]


def test_service_errors(client: TestClient) -> None:
    assert _error(client.get("/api/v1/services/myspace"), 404)["detail"]["known"] == sorted(
        KNOWN_SERVICES)
    assert _error(client.get("/api/v1/services/Bad%20Name"), 422)
    assert _error(client.get("/api/v1/services", params={"probe_cc": "AZE"}), 400)[
        "detail"]["parameter"] == "probe_cc"
    assert _error(client.get("/api/v1/services", params={"since": "2022-09-02",
                                                          "until": "2022-09-01"}), 400)[
        "detail"]["parameter"] == "since"


# --- reports -------------------------------------------------------------------------------

def _cli_report_json(url: str, out: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(report_command, ["--store", url, "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads((out / "report.json").read_text("utf-8"))
    del data["charts_drawn"]
    return data


def test_report_facts_equal_the_command_s_report_json(client: TestClient, api_store: ApiStore,
                                                      tmp_path: Path) -> None:
    args = {"probe_cc": "AZ", "target": "tiktok", "since": "2022-09-01",
            "until": "2022-09-03T00:00:00Z"}
    r = client.get("/api/v1/reports", params=args)
    assert r.status_code == 200, r.text
    body = r.json()
    ReportAnswer.model_validate(body)
    want = _cli_report_json(api_store.url, tmp_path / "r1", "--country", "AZ", "--target",
                            "tiktok", "--since", "2022-09-01", "--until",
                            "2022-09-03T00:00:00Z")
    assert body == want
    assert [i["id"] for i in body["incidents"]] == [TIKTOK_INCIDENT]
    assert [n["asn"] for n in body["incidents"][0]["networks"]] == [29049, 41997]
    # no window: the whole store, as the command without --since/--until
    whole = client.get("/api/v1/reports", params={"probe_cc": "az"}).json()
    assert whole == _cli_report_json(api_store.url, tmp_path / "r2", "--country", "AZ")


def test_report_refusals(client: TestClient) -> None:
    def reason(params: dict[str, str]) -> str:
        out: str = _error(client.get("/api/v1/reports", params=params), 404)["detail"]["reason"]
        return out

    assert reason({"probe_cc": "QQ"}) == "unknown_country"
    assert reason({"probe_cc": "IR"}) == "nothing_to_report"
    assert reason({"probe_cc": "AZ", "since": "2001-01-01", "until": "2001-02-01"}) == (
        "empty_window")
    assert reason({"probe_cc": "IR", "target": "www.facebook.com"}) == "nothing_to_report"
    for params, name in (({"probe_cc": "AZ,AM"}, "probe_cc"), ({"probe_cc": "A1"}, "probe_cc"),
                         ({"probe_cc": "AZ", "target": "two words"}, "target"),
                         ({"probe_cc": "AZ", "since": "2022-09-03", "until": "2022-09-01"},
                          "since"),
                         ({"probe_cc": "AZ", "until": "yesterday"}, "until")):
        assert _error(client.get("/api/v1/reports", params=params), 400)["detail"][
            "parameter"] == name
    assert _error(client.get("/api/v1/reports"), 422)["detail"][0]["parameter"] == "probe_cc"


# --- cost ----------------------------------------------------------------------------------

def _cli_cost(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cost_command, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


@pytest.mark.parametrize(("params", "args"), [
    ({"country": "AZ", "year": "2020", "kind": "national", "days": "1"},
     ("--country", "AZ", "--year", "2020", "--kind", "national", "--days", "1")),
    ({"country": "az", "year": "2020", "kind": "services", "days": "13",
      "services": "facebook,x,tiktok", "residual": "25"},
     ("--country", "az", "--year", "2020", "--kind", "services", "--days", "13",
      "--services", "facebook,x,tiktok", "--residual", "25")),
    ({"country": "AZ", "year": "2019", "kind": "regional", "days": "0.5",
      "affected_share": "40"},
     ("--country", "AZ", "--year", "2019", "--kind", "regional", "--days", "0.5",
      "--affected-share", "40")),
])
def test_cost_equals_the_command(client: TestClient, params: dict[str, str],
                                 args: tuple[str, ...]) -> None:
    r = client.get("/api/v1/cost", params=params)
    assert r.status_code == 200, r.text
    CostAnswer.model_validate(r.json())
    assert r.json() == _cli_cost(*args)
    assert r.json()["low"] <= r.json()["central"] <= r.json()["high"]


def test_cost_of_a_stored_incident(client: TestClient, api_store: ApiStore) -> None:
    r = client.get("/api/v1/cost", params={"incident": TIKTOK_INCIDENT})
    assert r.status_code == 200, r.text
    with open_store(api_store.url, read_only=True) as store:
        event = store.read_detections("incidents", id=TIKTOK_INCIDENT)[0]
        result = estimate_for_event(store, event)
    assert result is not None
    assert r.json() == orjson.loads(orjson.dumps(result.to_json()))
    assert r.json()["inputs"]["event"]["value"] == TIKTOK_INCIDENT
    assert r.json()["inputs"]["kind"]["value"] == "services"


@pytest.mark.parametrize(("params", "name", "words"), [
    ({}, "country", "missing"),
    ({"country": "QQ", "year": "2020", "kind": "national", "days": "1"}, "country",
     "unknown country"),
    ({"country": "AZ", "year": "1990", "kind": "national", "days": "1"}, "year",
     "years with data"),
    ({"country": "AZ", "year": "2020", "kind": "national", "days": "0"}, "days", "positive"),
    ({"country": "AZ", "year": "2020", "kind": "national", "days": "nan"}, "days", "positive"),
    ({"country": "AZ", "year": "2020", "kind": "national", "days": "1", "residual": "101"},
     "residual", "percentage"),
    ({"country": "AZ", "year": "2020", "kind": "regional", "days": "1"}, "affected_share",
     "needs the affected share"),
    ({"country": "AZ", "year": "2020", "kind": "regional", "days": "1",
      "affected_share": "0"}, "affected_share", "above 0"),
    ({"country": "AZ", "year": "2020", "kind": "national", "days": "1",
      "services": "facebook"}, "services", "kind 'services'"),
    ({"country": "AZ", "year": "2020", "kind": "services", "days": "1",
      "services": "myspace"}, "services", "unknown service"),
    ({"country": "AZ", "year": "2020", "kind": "services", "days": "1", "services": ","},
     "services", "no service"),
    ({"incident": TIKTOK_INCIDENT, "country": "AZ"}, "country", "drop country"),
    ({"incident": "out-709bceee9df3"}, "incident", "no measurement of its networks"),
])
def test_cost_refusals_name_the_parameter(client: TestClient, params: dict[str, str],
                                          name: str, words: str) -> None:
    error = _error(client.get("/api/v1/cost", params=params), 400)
    assert error["detail"]["parameter"] == name
    assert words in error["message"]


def test_cost_unknown_and_unpriceable_events(client: TestClient) -> None:
    assert _error(client.get("/api/v1/cost", params={"incident": "inc-000000000000"}), 404)[
        "detail"] == {"incident": "inc-000000000000"}
    outages = client.get("/api/v1/outages", params={"kind": "probes_offline", **WIDE}).json()
    offline = outages["outages"][0]["id"]
    error = _error(client.get("/api/v1/cost", params={"incident": offline}), 400)
    assert "neither a shutdown nor a service restriction" in error["message"]
    assert _error(client.get("/api/v1/cost", params={"kind": "global"}), 422)
