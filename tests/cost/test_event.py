"""estimate_for_event on a real DuckDB store after ``censorscope detect``: the duration,
affected share and residual connectivity the estimate uses are the ones the measurements
give (counted here from the generated measurements, not asked from the store)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from censorscope.cost import CostInputError, estimate_for_event
from censorscope.cost.formula import check_trace
from censorscope.store import open_store
from tests.cost.eventkit import (
    HOURS,
    NETWORKS,
    SHUT_HOURS,
    T0,
    TARGETS,
    TIKTOK_BLOCKER,
    DetectedStore,
    Made,
    build_store,
)

AZ_2020_DAILY = 42_693_000_000 / 365
AZ_2020_DIGITAL = 0.014 + (84.6 - 25.4) * (0.124 - 0.014) / (94.8 - 25.4)
AZ_2023_DAILY = 72_356_176_470.5882 / 365


def _events(url: str, table: str) -> list[dict[str, Any]]:
    with open_store(url) as store:
        return store.read_detections(table)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", ""))


def _share(made: list[Made], asns: set[int], start: datetime, end: datetime) -> float:
    window = [x for x in made if start <= x.at <= end]
    return sum(1 for x in window if x.asn in asns) / len(window)


def test_shutdown_of_one_network(detected: DetectedStore) -> None:
    outages = [o for o in _events(detected.url, "outages") if o["kind"] == "shutdown"]
    assert sorted(o["asn"] for o in outages) == [28787, 31721]
    with open_store(detected.url) as store:
        for outage in outages:
            asn = outage["asn"]
            shut = [x for x in detected.made if x.asn == asn and x.outcome == "down"]
            start, end = _at(outage["start"]), _at(outage["end"])
            # the outage spans the shut-down measurements (hours 20-29)
            assert (start, end) == (min(x.at for x in shut), max(x.at for x in shut))
            assert end - start == timedelta(hours=len(SHUT_HOURS) - 1, minutes=54)
            e = estimate_for_event(store, outage)
            assert e is not None
            days = (end - start).total_seconds() / 86400
            share = _share(detected.made, {asn}, start, end)
            assert share == pytest.approx(1 / 3)  # three networks, same volume
            residual = 100 * sum(x.control_ok for x in shut) / len(shut)
            assert residual == (1.0 if asn == 28787 else 0.0)  # 1 of 100 reached the control
            assert e.inputs["event"]["value"] == outage["id"]
            assert e.inputs["kind"]["value"] == "regional"
            assert e.inputs["days"]["value"] == pytest.approx(days)
            assert e.inputs["affected_share"]["value"] == pytest.approx(share)
            assert e.inputs["residual_pct"]["value"] == pytest.approx(residual)
            assert e.inputs["residual_pct"]["source"] == (
                f"measured: control_reachable_share of shutdown outage {outage['id']}")
            assert "100 of 300 measurements from AZ" in e.inputs["affected_share"]["source"]
            assert e.inputs["year"]["value"] == 2020
            assert e.central == pytest.approx(
                AZ_2020_DAILY * AZ_2020_DIGITAL * share * (1 - residual / 100) * days)
            assert e.low == pytest.approx(AZ_2020_DAILY * 0.019 * share
                                          * (1 - residual / 100) * days)
            assert check_trace(e.inputs, e.trace) == []


def test_service_incident_ongoing_until_the_last_measurement(detected: DetectedStore) -> None:
    (incident,) = [i for i in _events(detected.url, "incidents")
                   if i["target"] == "service:tiktok"]
    assert incident["end"] is None and [n["asn"] for n in incident["networks"]] == [
        TIKTOK_BLOCKER]
    start = _at(incident["start"])
    last = max(x.at for x in detected.made)
    assert last == T0 + timedelta(hours=HOURS - 1, minutes=6 * (len(TARGETS) - 1))
    with open_store(detected.url) as store:
        e = estimate_for_event(store, incident)
        assert e is not None
        days = (last - start).total_seconds() / 86400
        share = _share(detected.made, {TIKTOK_BLOCKER}, start, last)
        assert e.inputs["kind"]["value"] == "services"
        assert e.inputs["services"]["value"] == ["tiktok"]
        assert e.inputs["days"]["value"] == pytest.approx(days)
        assert e.inputs["affected_share"]["value"] == pytest.approx(share)
        assert e.inputs["residual_pct"]["value"] == 0.0
        # one app class: 0.3 / 0.45 / 0.6 % of daily GDP
        assert e.low == pytest.approx(AZ_2020_DAILY * 0.003 * share * days)
        assert e.central == pytest.approx(AZ_2020_DAILY * 0.0045 * share * days)
        assert e.high == pytest.approx(AZ_2020_DAILY * 0.006 * share * days)
        assert check_trace(e.inputs, e.trace) == []
        # an ongoing event ends at ``until`` when one is given
        until = T0 + timedelta(hours=30)
        bounded = estimate_for_event(store, incident, until=until)
        assert bounded is not None
        assert bounded.inputs["days"]["value"] == pytest.approx(
            (until - start).total_seconds() / 86400)
        assert bounded.inputs["affected_share"]["value"] == pytest.approx(
            _share(detected.made, {TIKTOK_BLOCKER}, start, until))


def test_events_no_model_prices(detected: DetectedStore) -> None:
    incidents = _events(detected.url, "incidents")
    (domain_incident,) = [i for i in incidents if i["target"].startswith("domain:")]
    tiktok = next(i for i in incidents if i["target"] == "service:tiktok")
    shutdown = _events(detected.url, "outages")[0]
    with open_store(detected.url) as store:
        assert estimate_for_event(store, domain_incident) is None
        assert estimate_for_event(store, {**tiktok, "scope": "server_side"}) is None
        assert estimate_for_event(store, {**shutdown, "kind": "slow"}) is None
        assert estimate_for_event(store, {**shutdown, "kind": "probes_offline"}) is None
        assert estimate_for_event(store, {"id": "x"}) is None
        # several services restricted together: one incident, their classes
        together = {**tiktok, "target": "services:facebook+tiktok+whatsapp"}
        e = estimate_for_event(store, together)
        assert e is not None and e.inputs["app_classes"]["value"] == 3


def test_events_that_cannot_be_priced_raise(detected: DetectedStore) -> None:
    shutdown = _events(detected.url, "outages")[0]
    with open_store(detected.url) as store:
        with pytest.raises(CostInputError, match="unknown country 'ZZ'") as info:
            estimate_for_event(store, {**shutdown, "cc": "ZZ"})
        assert info.value.reason == "country"
        with pytest.raises(CostInputError, match="has no duration") as info:
            estimate_for_event(store, {**shutdown, "end": shutdown["start"]})
        assert info.value.reason == "value"
        with pytest.raises(CostInputError, match="no measurement of its networks"):
            estimate_for_event(store, {**shutdown, "asn": 64500})


def test_country_wide_shutdown_in_a_year_without_gdp(tmp_path: Path) -> None:
    """Every network shut down in March 2024 (no World Bank GDP for 2024 yet): the country's
    outage is national, priced with 2023's figures, and says so."""
    t0 = datetime(2024, 3, 1)
    store_2024 = build_store(tmp_path / "az2024.duckdb", t0, frozenset(NETWORKS))
    (country,) = [o for o in _events(store_2024.url, "outages") if o["asn"] is None]
    assert country["kind"] == "shutdown"
    assert sorted(country["facts"]["networks"]) == sorted(NETWORKS)
    start, end = _at(country["start"]), _at(country["end"])
    with open_store(store_2024.url) as store:
        e = estimate_for_event(store, country)
    assert e is not None
    assert e.inputs["kind"]["value"] == "national"
    assert e.inputs["affected_share"]["value"] == 1.0
    assert e.inputs["year"] == {
        "value": 2023, "unit": "year",
        "source": f"shutdown outage {country['id']} started in 2024, which has no World Bank "
                  "GDP: the latest year with it"}
    assert e.inputs["residual_pct"]["source"].startswith("not measured for shutdown outage")
    days = (end - start).total_seconds() / 86400
    assert e.high == pytest.approx(AZ_2023_DAILY * 0.378 * days)
    assert check_trace(e.inputs, e.trace) == []
