"""A second lab store for the explorer's country, incident, outage and report pages: the
az-2022-tiktok case (tests/report/reportkit) with a hostile AS name on Connect (AS41997, an
affected network, so it reaches the incident, its timeline chart and the report) and three
outages written through the store's own detection path (a shutdown of AS41997 with evidence,
one hostile evidence uid and a hostile fact; probes offline country-wide, ongoing; a slow
AS29049), in a window that holds no incident so the detected TikTok incident stays."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Final

from censorscope.model.detection import Outage
from censorscope.store import open_store
from censorscope.store.detections import DetectionWindow, result_rows
from censorscope.store.search import SearchFilter
from tests.report.reportkit import build_store, case_measurements

HOSTILE_NAME: Final = '<script>alert("as")</script> & "Connect" <b>CJSC</b>'
HOSTILE_FACT: Final = "<img src=x onerror=alert(1)>"
HOSTILE_UID: Final = "<script>uid</script>"
OUTAGE_WINDOW: Final = DetectionWindow(since=datetime(2022, 9, 15), until=datetime(2022, 9, 16),
                                       cc="AZ")


def outages(evidence: tuple[str, ...]) -> tuple[Outage, ...]:
    return (
        Outage("AZ", 41997, "shutdown", datetime(2022, 9, 15, 1, 0), datetime(2022, 9, 15, 3, 0),
               0.9, {"failing_share": 1.0, "control_reachable_share": 0.0,
                     "note": HOSTILE_FACT}, (*evidence, HOSTILE_UID), "test"),
        Outage("AZ", None, "probes_offline", datetime(2022, 9, 15, 4, 0), None, 0.7,
               {"volume_ratio": 0.02}, (), "test"),
        Outage("AZ", 29049, "slow", datetime(2022, 9, 15, 2, 0), datetime(2022, 9, 15, 4, 0),
               0.6, {"speed_ratio": 0.2}, (), "test"),
    )


def events_store(directory: Path) -> str:
    """The case with the hostile AS name, detected, plus the outages; its URL."""
    ms = case_measurements()
    for m in ms:
        if m["probe_asn"] == "AS41997":
            m["probe_network_name"] = HOSTILE_NAME
    url = build_store(directory, ms)
    with open_store(url) as store:
        during = SearchFilter(since=datetime(2022, 9, 15, 1), until=datetime(2022, 9, 15, 3),
                              probe_asn=(41997,))
        evidence = sorted(r.measurement_uid for r in store.search_measurements(
            during, order="asc", limit=2))
        store.replace_detections(OUTAGE_WINDOW, result_rows([], [], outages(tuple(evidence))))
    return url

