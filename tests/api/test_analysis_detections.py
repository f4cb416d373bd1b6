"""censorscope's endpoints: verdicts with their evidence as data, observations, incidents
(from a real detection run) and outages — each equal to what the store holds."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from apikit import OUTAGES, UNANALYSED_UID, ApiStore
from fastapi.testclient import TestClient

from censorscope.api.schemas import (
    IncidentAnswer,
    IncidentsAnswer,
    ObservationsAnswer,
    OutagesAnswer,
    VerdictAnswer,
)
from censorscope.store import open_store
from censorscope.store.base import Store


@pytest.fixture(scope="module")
def store(api_store: ApiStore) -> Any:
    s = open_store(api_store.url, read_only=True)
    yield s
    s.close()


def _uids_with_evidence(store: Store) -> list[str]:
    out = []
    for batch in store.iter_uids():
        for uid in batch:
            vs = store.get_verdicts(uid)
            if vs and vs[-1].evidence_data:
                out.append(uid)
    return out


def test_verdict_is_the_latest_with_its_evidence_parsed(client: TestClient,
                                                        store: Store) -> None:
    uids = _uids_with_evidence(store)
    assert len(uids) > 50
    for uid in uids[::5]:
        r = client.get("/api/v1/verdicts", params={"measurement_uid": uid})
        assert r.status_code == 200
        body = r.json()
        VerdictAnswer.model_validate(body)
        rows = store.get_verdicts(uid)
        latest = rows[-1]
        assert body["rules_versions"] == [v.rules_version for v in rows]
        verdict = body["verdict"]
        assert verdict["evidence_data"] == orjson.loads(latest.evidence_data or "null")
        assert isinstance(verdict["evidence_data"], list) and verdict["evidence_data"]
        assert all({"claim", "source", "text"} <= set(e) for e in verdict["evidence_data"])
        assert {k: v for k, v in verdict.items() if k != "evidence_data"} == {
            k: v for k, v in latest._asdict().items() if k != "evidence_data"}
    one = uids[0]
    version = store.get_verdicts(one)[-1].rules_version
    assert client.get("/api/v1/verdicts", params={"measurement_uid": one,
                                                  "rules_version": version}).status_code == 200
    r = client.get("/api/v1/verdicts", params={"measurement_uid": one,
                                               "rules_version": "no-such-rules"})
    assert r.status_code == 404
    assert r.json()["error"]["detail"]["rules_versions"] == [version]


def test_verdict_errors(client: TestClient) -> None:
    r = client.get("/api/v1/verdicts", params={"measurement_uid": UNANALYSED_UID})
    assert r.status_code == 404
    assert "no verdict" in r.json()["error"]["message"]
    r = client.get("/api/v1/verdicts", params={"measurement_uid": "nope"})
    assert (r.status_code, r.json()["error"]["message"]) == (404, "no such measurement")
    r = client.get("/api/v1/verdicts")
    assert r.status_code == 422
    assert r.json()["error"]["detail"][0]["parameter"] == "measurement_uid"


def test_observations_are_the_stored_rows(client: TestClient, store: Store) -> None:
    seen_headers = seen_control = 0
    for batch in store.iter_uids():
        for uid in batch[::3]:
            rows = store.get_observations(uid)
            body = client.get("/api/v1/observations", params={"measurement_uid": uid}).json()
            ObservationsAnswer.model_validate(body)
            assert len(body["results"]) == len(rows)
            for got, row in zip(body["results"], rows, strict=True):
                want = row._asdict()
                if row.http_response_headers is not None:
                    want["http_response_headers"] = orjson.loads(row.http_response_headers)
                    assert isinstance(got["http_response_headers"], dict)
                    seen_headers += 1
                assert got == want
            control = client.get("/api/v1/observations",
                                 params={"measurement_uid": uid, "origin": "control"}).json()
            assert [o["observation_idx"] for o in control["results"]] == [
                r.observation_idx for r in rows if r.origin == "control"]
            seen_control += len(control["results"])
    assert seen_headers and seen_control
    assert client.get("/api/v1/observations",
                      params={"measurement_uid": UNANALYSED_UID}).json()["results"] == []
    assert client.get("/api/v1/observations",
                      params={"measurement_uid": "nope"}).status_code == 404
    assert client.get("/api/v1/observations", params={"measurement_uid": "x",
                                                      "origin": "isp"}).status_code == 422


def test_incidents_are_what_detection_stored(client: TestClient, store: Store) -> None:
    stored = store.read_detections("incidents")
    assert stored and all(i["cc"] == "AZ" for i in stored)
    body = client.get("/api/v1/incidents").json()
    IncidentsAnswer.model_validate(body)
    assert body["incidents"] == stored
    assert body["metadata"] == {"count": len(stored), "limit": 100, "offset": 0}
    tiktok = stored[0]
    assert {n["asn"] for n in tiktok["networks"]} == {29049, 41997}
    assert client.get("/api/v1/incidents", params={"probe_cc": "az"}).json()["incidents"] == (
        stored)
    assert client.get("/api/v1/incidents", params={"probe_cc": "AM,RU"}).json()[
        "incidents"] == []
    assert client.get("/api/v1/incidents", params={"target": tiktok["target"]}).json()[
        "incidents"] == [tiktok]
    assert client.get("/api/v1/incidents", params={"until": "2022-09-01"}).json()[
        "incidents"] == []
    assert client.get("/api/v1/incidents", params={"since": "2022-09-01T22:00:00Z"}).json()[
        "incidents"] == [i for i in stored if i["end"] is None or i["end"] >= "2022-09-01T22"]
    one = client.get(f"/api/v1/incidents/{tiktok['id']}").json()
    IncidentAnswer.model_validate(one)
    assert one == {"incident": tiktok}
    r = client.get("/api/v1/incidents/inc-000000000000")
    assert (r.status_code, r.json()["error"]["detail"]) == (404, {"id": "inc-000000000000"})
    assert client.get("/api/v1/incidents/a b").status_code == 422


def test_outages_filter_and_page(client: TestClient, store: Store) -> None:
    everything = client.get("/api/v1/outages").json()
    OutagesAnswer.model_validate(everything)
    assert everything["outages"] == sorted(store.read_detections("outages"),
                                           key=lambda o: (o["start"], o["id"]))
    assert {o["cc"] for o in everything["outages"]} == {"AZ", "RU"}  # detection's and ours
    want = sorted((o.to_json() for o in OUTAGES), key=lambda o: (o["start"], o["id"]))
    ru = {"probe_cc": "RU"}
    assert client.get("/api/v1/outages", params=ru).json()["outages"] == want
    assert client.get("/api/v1/outages", params={**ru, "kind": "shutdown"}).json()[
        "outages"] == [o for o in want if o["kind"] == "shutdown"]
    assert client.get("/api/v1/outages", params={"probe_asn": "AS8359"}).json()[
        "outages"] == [o for o in want if o["asn"] == 8359]
    page = client.get("/api/v1/outages", params={**ru, "limit": 1, "offset": 1}).json()
    assert page["outages"] == want[1:2]
    assert page["metadata"] == {"count": 3, "limit": 1, "offset": 1}
    # an outage still going on (no end) overlaps any later window
    later = client.get("/api/v1/outages", params={**ru, "since": "2022-03-10"}).json()
    assert [o["kind"] for o in later["outages"]] == ["probes_offline", "slow"]
    for params, status in (({"kind": "flood"}, 422), ({"limit": 1001}, 400),
                           ({"offset": -1}, 422), ({"probe_cc": "R"}, 400)):
        assert client.get("/api/v1/outages", params=params).status_code == status, params
