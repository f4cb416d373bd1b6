"""The report of the lab run of ``az-2022-tiktok``, written by ``censorscope report`` after
``detect``: its onset table names the three blocking networks in onset order, every time, uid,
AS and count it prints equals a direct query of the store, and in a real headless Chromium each
of its five charts is drawn with the expected series (screenshot kept as a test artifact).

The store is the session's replay of the case (``conftest.az_tiktok``: the lab's phases walked
with the service and Web Connectivity experiments from every ISP, then ingest, ``reprocess
--lab`` and ``detect``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from censorscope.lab import scenarios
from censorscope.report.target import ReportTarget, scope_of
from tests.browserkit import artifacts_dir, chromium, requires_chromium
from tests.e2e.labkit import requires_root
from tests.e2e.roundkit import Rounds, StoreRun
from tests.e2e.seedcases import AZ_ONSET_PHASE
from tests.report.reportkit import LATEST, md_table, run_cli, uid_cell

pytestmark = [pytest.mark.lab, pytest.mark.slow, requires_root]

CHARTS = ("failures_by_name", "asn_endpoint_grid", "sni_matrix", "dns_answers", "coverage")


@pytest.fixture(scope="module")
def asn_of() -> dict[str, int]:
    return {i.name: i.asn for i in scenarios.load("az-2022-tiktok").isps}


@pytest.fixture(scope="module")
def report(az_tiktok: tuple[Rounds, StoreRun], tmp_path_factory: pytest.TempPathFactory
           ) -> Path:
    _, run = az_tiktok
    out = tmp_path_factory.mktemp("az-report") / "report"
    result = run_cli("report", "--store", run.store_url, "--country", "AZ", "--target", "tiktok",
                     "--out", str(out), "--format", "html,md")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def sql(az_tiktok: tuple[Rounds, StoreRun]) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(az_tiktok[1].store_url.removeprefix("duckdb:///"), read_only=True)
    try:
        yield con
    finally:
        con.close()


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _incident(sql: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    rows = [json.loads(p) for (p,) in sql.execute("SELECT payload FROM incidents").fetchall()]
    (inc,) = [i for i in rows if i["cc"] == "AZ" and i["target"] == "service:tiktok"]
    return inc


def test_onset_table_names_the_three_networks_in_onset_order_as_the_store_says(
        report: Path, sql: duckdb.DuckDBPyConnection, asn_of: dict[str, int]) -> None:
    md = (report / "report.md").read_text("utf-8")
    inc = _incident(sql)
    rows = md_table(md, "### Onset per network")
    assert rows[0][:6] == ["AS", "network", "first blocked (UTC)", "measurement",
                           "last clean (UTC)", "measurement"]
    # the scenario's blocking networks, in the order its phases block them
    expected = [f"AS{asn_of[isp]}" for isp in AZ_ONSET_PHASE]
    assert expected == ["AS29049", "AS41997", "AS31721"]
    assert [r[0] for r in rows[1:]] == expected
    networks = {f"AS{n['asn']}": n for n in inc["networks"]}
    previous = datetime.min
    for row in rows[1:]:
        asn = int(row[0][2:])
        first_uid, clean_uid = uid_cell(row[3]), uid_cell(row[5])
        assert (first_uid, clean_uid) == (networks[row[0]]["first_blocked_uid"],
                                          networks[row[0]]["last_clean_uid"])
        first = sql.execute(f"SELECT measurement_start_time, probe_asn, outcome, "
                            f"probe_network_name FROM ({LATEST}) WHERE measurement_uid = ?",
                            [first_uid]).fetchone()
        clean = sql.execute(f"SELECT measurement_start_time, probe_asn, outcome "
                            f"FROM ({LATEST}) WHERE measurement_uid = ?",
                            [clean_uid]).fetchone()
        assert first is not None and clean is not None
        assert (row[2], first[1], first[2], row[1]) == (_stamp(first[0]), asn, "blocked",
                                                        first[3])
        assert (row[4], clean[1], clean[2]) == (_stamp(clean[0]), asn, "ok")
        assert clean[0] < first[0] and first[0] >= previous
        previous = first[0]
        # nothing of the network judged blocked on TikTok before its first blocked measurement
        earlier = sql.execute(
            f"SELECT count(*) FROM ({LATEST}) WHERE probe_asn = ? AND outcome = 'blocked' "
            "AND measurement_start_time < ? AND (input = 'tiktok' OR domain LIKE '%tiktok%')",
            [asn, first[0]]).fetchone()
        assert earlier == (0,), row
        techniques = networks[row[0]]["techniques"]
        assert row[6] == ", ".join(techniques) and "tls.timeout.sni" in techniques
        assert int(row[7]) == len(networks[row[0]]["endpoints"])


def test_coverage_and_not_affected_counts_equal_direct_queries(
        report: Path, sql: duckdb.DuckDBPyConnection, asn_of: dict[str, int]) -> None:
    md = (report / "report.md").read_text("utf-8")
    inc = _incident(sql)
    scope = scope_of(ReportTarget.parse("tiktok"), [inc])
    domains = sorted(scope.domains)
    in_scope = ("((test_name = 'service' AND input = 'tiktok') OR (test_name <> 'service' AND "
                f"domain IN ({', '.join('?' * len(domains))})))")
    rows = md_table(md, "## Coverage")
    assert rows[0][:5] == ["AS", "network", "measurements", "of the report's scope",
                           "probe runs"]
    by_asn = {int(r[0][2:]): r for r in rows[1:]}
    assert set(by_asn) == set(asn_of.values())  # every ISP of the lab measured
    for asn, row in by_asn.items():
        total, first, last = sql.execute(
            f"SELECT count(*), min(measurement_start_time), max(measurement_start_time) "
            f"FROM ({LATEST}) WHERE probe_cc = 'AZ' AND probe_asn = ?", [asn]).fetchone() \
            or (0, None, None)
        scoped, runs = sql.execute(
            f"SELECT count(*), count(DISTINCT report_id) FROM ({LATEST}) "
            f"WHERE probe_asn = ? AND {in_scope}", [asn, *domains]).fetchone() or (0, 0)
        assert row[2:7] == [str(total), str(scoped), str(runs), _stamp(first),
                            _stamp(last)], row
    not_affected = md_table(md, "### Networks not affected")
    assert sorted(int(r[0][2:]) for r in not_affected[1:]) == sorted(
        [asn_of["aztel"], asn_of["bakcell"]])
    start = datetime.fromisoformat(inc["start"].removesuffix("Z"))
    for row in not_affected[1:]:
        measured, blocked = sql.execute(
            f"SELECT count(*), count(*) FILTER (WHERE outcome = 'blocked') FROM ({LATEST}) "
            f"WHERE probe_asn = ? AND measurement_start_time >= ? AND {in_scope}",
            [int(row[0][2:]), start, *domains]).fetchone() or (0, 0)
        assert (row[2], row[3]) == (str(measured), str(blocked)) and measured > 0
        assert blocked == 0


@requires_chromium
@pytest.mark.browser
def test_every_chart_is_drawn_in_chromium(report: Path) -> None:
    from selenium.webdriver.common.by import By

    html = (report / "report.html").read_text("utf-8")
    md = (report / "report.md").read_text("utf-8")
    for name in CHARTS:
        assert f'<figure id="chart-{name}">' in html and f"](charts/{name}.svg)" in md
        assert (report / "charts" / f"{name}.svg").stat().st_size > 0
    expected = {
        "failures_by_name": ["series-www-tiktok-com"],
        "coverage": ["series-as29049", "series-as41997", "series-as31721"],
    }
    with chromium() as driver:
        driver.get((report / "report.html").as_uri())  # type: ignore[attr-defined]
        for name in CHARTS:
            figure = driver.find_element(By.ID, f"chart-{name}")  # type: ignore[attr-defined]
            svg = figure.find_element(By.TAG_NAME, "svg")
            size = svg.size
            assert size["width"] > 100 and size["height"] > 100, (name, size)
            groups = svg.find_elements(By.CSS_SELECTOR, "g[id^='series-']")
            assert groups, name
            ids = {g.get_attribute("id") for g in groups}
            for series in expected.get(name, []):
                assert series in ids, (name, sorted(ids))
            # each series is drawn: marks inside it with a size on the page
            drawn = [g for g in groups if any(
                el.size["width"] > 0 or el.size["height"] > 0
                for el in g.find_elements(By.CSS_SELECTOR, "path, rect, use, line, polyline"))]
            assert len(drawn) == len(groups), (name, len(drawn), len(groups))
        height = driver.execute_script(  # type: ignore[attr-defined]
            "return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(int(height), 16000))  # type: ignore[attr-defined]
        shot = artifacts_dir() / "report-az-2022-tiktok-lab.png"
        assert driver.save_screenshot(str(shot))  # type: ignore[attr-defined]
    assert shot.stat().st_size > 10_000
