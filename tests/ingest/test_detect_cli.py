"""``censorscope detect``, ``incidents`` and ``outages`` against real stores: bad input gives a
message and a documented exit status, detection writes what ``incidents`` prints, and running
it again — or over the same measurements ingested in another order, or late — gives the same
rows."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result
from detectkit import T0, measurement, tiktok_case
from storekit import open_test_store

from censorscope.cli.main import cli
from censorscope.ingest.detect_cli import (
    EXIT_EMPTY_WINDOW,
    EXIT_NO_VERDICTS,
    EXIT_UNKNOWN_COUNTRY,
)
from censorscope.store import open_store
from censorscope.store.base import Store

ONSETS = {29049: 20, 41997: 30, 28787: None}  # Delta, Azercell blocked from hour 20 / 30


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _json(*args: str) -> list[dict[str, Any]]:
    result = _run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    data: list[dict[str, Any]] = orjson.loads(result.stdout)
    return data


def _url(tmp_path: Path, name: str = "s") -> str:
    return f"duckdb://{tmp_path / (name + '.duckdb')}"


def _fill(url: str, batches: list[tuple[list[Any], list[Any]]]) -> None:
    with open_store(url) as store:
        for ms, vs in batches:
            store.write_batch(ms, [], vs)


def _stored(url: str) -> dict[str, list[dict[str, Any]]]:
    with open_store(url) as store:
        return {t: store.read_detections(t) for t in ("change_points", "incidents", "outages")}


def test_store_without_verdicts(tmp_path: Path) -> None:
    url = _url(tmp_path)
    with open_store(url) as store:
        store.write_batch([measurement("m1", T0)])
    result = _run("detect", "--store", url)
    assert result.exit_code == EXIT_NO_VERDICTS == 4
    assert "holds no verdicts" in result.stderr and "Traceback" not in result.output


def test_unknown_country_and_empty_window(tmp_path: Path) -> None:
    url = _url(tmp_path)
    _fill(url, [tiktok_case({29049: 5}, hours=10)])
    for command in ("detect", "incidents", "outages"):
        result = _run(command, "--store", url, "--country", "fr")
        assert result.exit_code == EXIT_UNKNOWN_COUNTRY == 5, result.output
        assert "no measurement from FR" in result.stderr
    result = _run("detect", "--store", url, "--since", "2030-01-01")
    assert result.exit_code == EXIT_EMPTY_WINDOW == 6
    assert "no scored measurement from 2030-01-01T00:00:00" in result.stderr
    assert _stored(url) == {"change_points": [], "incidents": [], "outages": []}


@pytest.mark.parametrize("args", [("--since", "yesterday"), ("--country", "AZE"),
                                  ("--since", "2022-09-02", "--until", "2022-09-01")])
def test_usage_errors(tmp_path: Path, args: tuple[str, ...]) -> None:
    url = _url(tmp_path)
    _fill(url, [tiktok_case({29049: 5}, hours=10)])
    result = _run("detect", "--store", url, *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_nothing_detected_yet(tmp_path: Path) -> None:
    url = _url(tmp_path)
    _fill(url, [tiktok_case({29049: 5}, hours=10)])
    assert _run("incidents", "--store", url).stdout == "no incidents\n"
    assert _json("outages", "--store", url) == []


def test_detect_then_incidents(tmp_path: Path) -> None:
    url = _url(tmp_path)
    _fill(url, [tiktok_case(ONSETS)])
    result = _run("detect", "--store", url)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("detect: 144 verdicts from the first measurement")
    incidents = _json("incidents", "--store", url, "--country", "az")
    assert len(incidents) == 1
    inc = incidents[0]
    assert inc["cc"] == "AZ" and inc["target"] == "service:tiktok"
    onsets = {n["asn"]: n for n in inc["networks"]}
    assert sorted(onsets) == [29049, 41997]
    assert onsets[29049]["first_blocked_uid"] == "AZ29049-0020"
    assert onsets[29049]["last_clean_uid"] == "AZ29049-0019"
    assert onsets[41997]["first_blocked_uid"] == "AZ41997-0030"
    assert inc["not_affected"] == [28787]
    stored = _stored(url)
    assert stored["incidents"] == incidents
    assert {(c["asn"], c["kind"], c["first_uid"]) for c in stored["change_points"]} >= {
        (29049, "onset", "AZ29049-0020"), (41997, "onset", "AZ41997-0030")}
    table = _run("incidents", "--store", url).stdout
    assert inc["id"] in table and "AS29049" in table and "ongoing" in table


def test_rerun_changes_nothing(store: Store, tmp_path: Path) -> None:
    ms, vs = tiktok_case(ONSETS)
    store.write_batch(ms, [], vs)
    first = _run("detect", "--store", store.url)
    assert first.exit_code == 0, first.output
    before = {t: store.read_detections(t) for t in ("change_points", "incidents", "outages")}
    assert before["incidents"]
    assert _run("detect", "--store", store.url).exit_code == 0
    assert {t: store.read_detections(t) for t in before} == before
    # one country's run leaves the same rows too
    assert _run("detect", "--store", store.url, "--country", "AZ").exit_code == 0
    assert {t: store.read_detections(t) for t in before} == before


def test_shuffled_and_late_ingest_give_the_same_incidents(
        store: Store, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The same measurements, all at once into one store, and shuffled — two thirds first
    (detect runs on them), the rest a day late in three batches — into another of the same
    engine: the same stored rows."""
    engine = request.node.callspec.params["store"]
    ms, vs = tiktok_case(ONSETS)
    live_stores = open_test_store(engine, tmp_path)
    live = next(live_stores)
    try:
        live.write_batch(ms, [], vs)
        assert _run("detect", "--store", live.url).exit_code == 0
        pairs = list(zip(ms, vs, strict=True))
        random.Random(7).shuffle(pairs)
        cut = 2 * len(pairs) // 3
        first = pairs[:cut]
        store.write_batch([m for m, _ in first], [], [v for _, v in first])
        assert _run("detect", "--store", store.url).exit_code == 0
        rest = pairs[cut:]
        for i in range(3):
            store.write_batch([m for m, _ in rest[i::3]], [], [v for _, v in rest[i::3]])
        assert _run("detect", "--store", store.url).exit_code == 0
        tables = ("change_points", "incidents", "outages")
        assert {t: store.read_detections(t) for t in tables} == {
            t: live.read_detections(t) for t in tables}
        assert _json("incidents", "--store", store.url) == _json("incidents", "--store",
                                                                   live.url)
    finally:
        live_stores.close()


def test_folding_the_clean_measurements_changes_no_result(tmp_path: Path) -> None:
    """The folded read (the default) finds what the read of every measurement finds."""
    from censorscope.ingest.detection import run_detection
    from censorscope.store.detections import DetectionWindow

    ms, vs = tiktok_case(ONSETS)
    for asn in ONSETS:  # a domain measured alongside, never blocked: folded
        more = tiktok_case({asn: None}, cc="AZ")
        ms += [m._replace(measurement_uid="x" + m.measurement_uid, domain="cold.example",
                          input="https://cold.example/") for m in more[0]]
        vs += [v._replace(measurement_uid="x" + v.measurement_uid) for v in more[1]]
    url = _url(tmp_path)
    _fill(url, [(ms, vs)])
    with open_store(url) as store:
        folded = run_detection(store, DetectionWindow())
        plain = run_detection(store, DetectionWindow(), fold=False)
    assert folded.points == plain.points == len(ms)
    assert folded.detection.incidents == plain.detection.incidents
    assert folded.detection.change_points == plain.detection.change_points
    assert folded.detection.outages == plain.detection.outages
