"""Detection's side of the store (migration 4), on DuckDB, one ClickHouse server and a
two-shard ClickHouse cluster: the streamed verdict points of a window (latest verdict,
control reachability, order) and the change point / incident / outage tables, whose rows a
run replaces window by window."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from detectkit import T0, measurement, observation, verdict

from censorscope.model.detection import (
    ChangePoint,
    Incident,
    NetworkImpact,
    Outage,
    SeriesKey,
    service_target,
)
from censorscope.store import migrations
from censorscope.store.base import Store
from censorscope.store.detections import DetectionWindow, result_rows
from censorscope.store.points import FoldSpec, PointRow, fold_rows


def _points(store: Store, **window: object) -> list[PointRow]:
    return [r for batch in store.iter_point_rows(batch=2, **window)  # type: ignore[arg-type]
            for r in batch]


def test_migration_4_creates_the_detection_tables(store: Store) -> None:
    assert store.schema_version() == migrations.LATEST >= 4
    for table in ("change_points", "incidents", "outages"):
        assert store.read_detections(table) == []
    assert store.migrate() == []
    with pytest.raises(ValueError, match="unknown detection table"):
        store.read_detections("measurements")


def _write_sample(store: Store) -> None:
    ms = [measurement("m3", T0 + timedelta(hours=2)),
          measurement("m1", T0, asn=41997, network="Azercell"),
          measurement("m2", T0 + timedelta(hours=1), cc="AM", asn=44395, domain="a.example"),
          measurement("m4", T0 + timedelta(hours=3), test_name="service", domain=None,
                      input_="tiktok"),
          measurement("m5", T0 + timedelta(hours=4)),
          measurement("m6", T0 + timedelta(hours=5))]  # no verdict: not a point
    vs = [verdict("m3", "blocked", "tls"), verdict("m1", "ok"), verdict("m2", "ok"),
          verdict("m4", "blocked", "tls"), verdict("m5", "down", "tcp")]
    obs = [
        # m3: a control that connected; probe rows
        observation("m3", 0, "probe", ip="10.0.0.1", port=443, tcp_success=True,
                    tls_server_name="www.tiktok.com", tls_failure="generic_timeout_error",
                    tls_success=False),
        observation("m3", 1, "control", ip="10.0.0.1", port=443, tcp_success=True),
        # m1: a control that failed everything
        observation("m1", 0, "control", ip="10.0.0.2", port=443, tcp_success=False,
                    tcp_failure="generic_timeout_error"),
        # m2: the control only resolved the name
        observation("m2", 0, "control", dns_answer="192.0.2.1", ip="192.0.2.1"),
    ]
    store.write_batch(ms, obs, vs)
    # a re-analysis: m3's newer verdict says ok, an older one for m1 stays behind
    store.write_verdicts([verdict("m3", "ok", rules_version="cs-2"),
                          verdict("m1", "blocked", "dns", rules_version="cs-0")])


def test_point_rows_latest_verdict_control_and_order(store: Store) -> None:
    _write_sample(store)
    rows = _points(store)
    assert [r.measurement_uid for r in rows] == ["m1", "m2", "m3", "m4", "m5"]
    by = {r.measurement_uid: r for r in rows}
    assert (by["m3"].outcome, by["m3"].rules_version, by["m3"].layer) == ("ok", "cs-2", None)
    assert (by["m1"].outcome, by["m1"].rules_version) == ("ok", "cs-1")
    assert (by["m4"].outcome, by["m4"].layer, by["m4"].mechanism) == (
        "blocked", "tls", "tls.timeout.sni")
    assert by["m1"].control_ok is False
    assert by["m2"].control_ok is True
    assert by["m3"].control_ok is True
    assert by["m4"].control_ok is None
    assert by["m2"].measurement_start_time == T0 + timedelta(hours=1)
    assert (by["m1"].probe_cc, by["m1"].probe_asn, by["m1"].probe_network_name) == (
        "AZ", 41997, "Azercell")
    assert (by["m4"].test_name, by["m4"].input, by["m4"].domain) == ("service", "tiktok", None)


def test_point_rows_window_and_country(store: Store) -> None:
    _write_sample(store)
    uids = [r.measurement_uid for r in _points(store, since=T0 + timedelta(hours=1),
                                               until=T0 + timedelta(hours=3))]
    assert uids == ["m2", "m3"]
    assert [r.measurement_uid for r in _points(store, cc="AM")] == ["m2"]
    assert _points(store, cc="AM", since=T0 + timedelta(hours=2)) == []
    assert _points(store, since=T0 + timedelta(days=1)) == []


def test_observations_of_many_uids(store: Store) -> None:
    _write_sample(store)
    probe = store.get_observations_of(["m3", "m1", "m9"])
    assert list(probe) == ["m3"]
    assert [o.tls_server_name for o in probe["m3"]] == ["www.tiktok.com"]
    every = store.get_observations_of(["m3", "m1"], origin=None)
    assert sorted(every) == ["m1", "m3"]
    assert [o.origin for o in every["m3"]] == ["probe", "control"]


def _change(asn: int, at: datetime, uid: str, cc: str = "AZ") -> ChangePoint:
    return ChangePoint(SeriesKey(cc, asn, service_target("tiktok")), "onset", at, uid, None,
                       None, 0.9, ("tls.timeout.sni",), ("www.tiktok.com",), "test-1")


def _incident(at: datetime, cc: str = "AZ", end: datetime | None = None) -> Incident:
    impact = NetworkImpact(29049, "Delta Telecom", at, "u1", None, ("tls.timeout.sni",),
                           ("www.tiktok.com",))
    return Incident(cc, service_target("tiktok"), "one_isp", at, end, 0.8, (impact,),
                    title=f"TikTok blocked in {cc}", detector="test-1")


def _outage(at: datetime, cc: str = "AZ", asn: int | None = None) -> Outage:
    return Outage(cc, asn, "shutdown", at, at + timedelta(hours=2), 0.7,
                  {"volume": 3, "baseline": 40.5}, ("u9",), "test-1")


def test_results_round_trip_and_rerun_changes_nothing(store: Store) -> None:
    cps = [_change(29049, T0, "u1"), _change(41997, T0 + timedelta(days=1), "u2")]
    incs = [_incident(T0), _incident(T0 + timedelta(days=2), cc="AM",
                                      end=T0 + timedelta(days=3))]
    outs = [_outage(T0), _outage(T0 + timedelta(days=1), asn=29049)]
    window = DetectionWindow()
    written = store.replace_detections(window, result_rows(cps, incs, outs))
    assert written == {"change_points": 2, "incidents": 2, "outages": 2}
    before = {t: store.read_detections(t) for t in ("change_points", "incidents", "outages")}
    assert before["incidents"] == [i.to_json() for i in incs]
    assert before["change_points"] == [c.to_json() for c in cps]
    assert before["outages"] == [o.to_json() for o in outs]
    assert store.read_detections("incidents", cc="AM") == [incs[1].to_json()]
    # the same result again (with a repeated event): the same rows
    store.replace_detections(window, result_rows(cps + cps[:1], incs, outs))
    assert {t: store.read_detections(t) for t in before} == before


def test_a_run_replaces_only_its_window(store: Store) -> None:
    day = timedelta(days=1)
    old = [_incident(T0), _incident(T0 + 2 * day), _incident(T0 + 2 * day, cc="AM")]
    store.replace_detections(DetectionWindow(), result_rows([], old, [_outage(T0 + 2 * day)]))
    # detection of AZ from day 1 on finds one new incident on day 3 and no outage
    new = _incident(T0 + 3 * day)
    window = DetectionWindow(T0 + day, None, "AZ")
    stray = _incident(T0 - day)  # outside the window it read: not written
    written = store.replace_detections(window, result_rows([], [new, stray], []))
    assert written["incidents"] == 1
    got = store.read_detections("incidents")
    assert got == [old[0].to_json(), old[2].to_json(), new.to_json()]
    assert store.read_detections("outages") == []
    # ended since: the same incident (same id) with an end replaces the open one
    ended = _incident(T0 + 3 * day, end=T0 + 4 * day)
    assert ended.id == new.id
    store.replace_detections(window, result_rows([], [ended], []))
    assert store.read_detections("incidents", cc="AZ") == [old[0].to_json(), ended.to_json()]


def test_folded_point_rows(store: Store) -> None:
    """Clean measurements of domains without blocking fold into one row per (country, AS,
    test, hour, control_ok); the rest stay one by one, in (time, uid) order; every engine
    folds like ``points.fold_rows``."""
    ms, vs, obs = [], [], []
    for i in range(12):  # four hours of 3 measurements, AS 29049, three domains
        uid = f"f{i:02d}"
        at = T0 + timedelta(minutes=20 * i)
        domain = "hot.example" if i % 3 == 0 else f"cold{i % 2}.example"
        ms.append(measurement(uid, at, domain=domain))
        vs.append(verdict(uid, "blocked" if i == 3 else ("insufficient" if i == 7 else "ok"),
                          "dns"))
        if i in (1, 2):  # a control row that answered: another fold group
            obs.append(observation(uid, 0, "control", tcp_success=True))
    ms.append(measurement("svc", T0 + timedelta(minutes=5), test_name="service", domain=None,
                          input_="tiktok"))
    vs.append(verdict("svc", "ok"))
    store.write_batch(ms, obs, vs)
    spec = FoldSpec(frozenset({"hot.example"}), frozenset({"service"}))
    plain = _points(store)
    folded = _points(store, fold=spec)
    assert folded == list(fold_rows(plain, spec))
    assert sum(r.weight for r in folded) == len(plain) == 13
    kept = [r.measurement_uid for r in folded if r.weight == 1 and r.domain is not None]
    assert kept == ["f00", "f03", "f06", "f07", "f09"]
    groups = [(r.measurement_uid, r.measurement_start_time, r.control_ok, r.weight,
               r.domain, r.outcome) for r in folded if r.domain is None and
              r.test_name == "web_connectivity"]
    assert groups == [("f01", T0 + timedelta(minutes=20), True, 2, None, "ok"),
                      ("f04", T0 + timedelta(minutes=80), None, 2, None, "ok"),
                      ("f08", T0 + timedelta(minutes=160), None, 1, None, "ok"),
                      ("f10", T0 + timedelta(minutes=200), None, 2, None, "ok")]
    assert [r.measurement_uid for r in folded][:2] == ["f00", "svc"]
    assert store.blocked_keys() == {("web_connectivity", "https://hot.example/",
                                     "hot.example")}
