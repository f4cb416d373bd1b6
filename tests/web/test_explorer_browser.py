"""The incident, country and report pages in a real headless Chromium (Debian's, through
Selenium) against a ``censorscope serve`` subprocess on the lab's TikTok store: a person opens
the incidents, clicks the TikTok incident, reads the onset table — AS29049 before AS41997,
each time the stored time of the measurement detection named (direct SQL on the DuckDB file) —
sees the timeline drawn, and follows the first blocked measurement to its page; from the
countries to Azerbaijan; the report and its charts (images that load under the page's CSP).
Screenshots go to tests/browserkit.artifacts_dir()."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browserkit import chromium, requires_chromium
from tests.web.webkit import read_only_sql, screenshot, served, wait_for

pytestmark = [requires_chromium, pytest.mark.browser]


@pytest.fixture(scope="module")
def base(lab_url: str) -> Iterator[str]:
    with served(lab_url) as url:
        yield url


def _stored(lab_url: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The stored incident, and the times ('YYYY-MM-DD HH:MM:SS UTC') of the uids it names."""
    con = read_only_sql(lab_url)
    try:
        (payload,) = con.execute("SELECT payload FROM incidents").fetchone() or ("",)
        inc = json.loads(payload)
        uids = [u for n in inc["networks"] for u in (n["first_blocked_uid"],
                                                     n["last_clean_uid"])]
        times = {uid: f"{t:%Y-%m-%d %H:%M:%S} UTC" for uid, t in con.execute(
            "SELECT measurement_uid, measurement_start_time FROM measurements "
            "WHERE list_contains(?, measurement_uid)", [uids]).fetchall()}
    finally:
        con.close()
    return inc, times


def test_incident_onsets_to_the_measurement(base: str, lab_url: str) -> None:
    from selenium.webdriver.common.by import By

    inc, times = _stored(lab_url)
    with chromium() as browser:
        driver: Any = browser
        driver.get(f"{base}/incidents")
        link = driver.find_element(By.LINK_TEXT, inc["title"])
        screenshot(driver, "web-incidents.png")
        link.click()
        wait_for(driver, "document.querySelector('table#onsets') !== null")
        assert driver.current_url == f"{base}/incidents/{inc['id']}"
        assert driver.find_element(By.TAG_NAME, "h1").text == inc["title"]
        rows = driver.find_elements(By.CSS_SELECTOR, "table#onsets tbody tr")
        cells = [[c.text for c in r.find_elements(By.CSS_SELECTOR, "th, td")] for r in rows]
        assert [c[0] for c in cells] == ["AS29049", "AS41997"]
        by_asn = {n["asn"]: n for n in inc["networks"]}
        for c, asn in zip(cells, (29049, 41997), strict=True):
            assert c[2] == times[by_asn[asn]["first_blocked_uid"]]
            assert c[3] == times[by_asn[asn]["last_clean_uid"]]
        assert times[by_asn[29049]["first_blocked_uid"]] < times[by_asn[41997][
            "first_blocked_uid"]]
        # the timeline is drawn: a bar per affected network, the switch left of each bar
        drawn = driver.execute_script("""
            const out = [];
            for (const g of document.querySelectorAll('svg.timeline-chart g.row-affected')) {
              const bar = g.querySelector('rect.blocked').getBBox();
              const clean = g.querySelector('circle.last-clean').getBBox();
              const onset = g.querySelector('path.first-blocked').getBBox();
              out.push([bar.x, bar.width, clean.x + clean.width / 2,
                        onset.x + onset.width / 2]);
            }
            return out;""")
        assert len(drawn) == 2
        for bar_x, width, clean_x, onset_x in drawn:
            assert width > 0 and clean_x < onset_x and abs(onset_x - bar_x) < 1
        assert drawn[0][0] < drawn[1][0]  # AS29049's onset is left of AS41997's
        screenshot(driver, "web-incident.png")
        # the first blocked measurement of AS29049 opens its page
        first = by_asn[29049]["first_blocked_uid"]
        rows[0].find_element(By.CSS_SELECTOR, "td.first-blocked a").click()
        wait_for(driver, "document.querySelector('h1') !== null && "
                      "location.pathname.startsWith('/measurement/')")
        assert driver.current_url == f"{base}/measurement/{first}"
        assert "blocked" in driver.find_element(By.CSS_SELECTOR, "main").text
        assert "www.tiktok.com" in driver.find_element(By.TAG_NAME, "h1").text
        screenshot(driver, "web-incident-first-blocked.png")


def test_country_and_report_pages(base: str) -> None:
    from selenium.webdriver.common.by import By

    with chromium() as browser:
        driver: Any = browser
        driver.get(f"{base}/countries")
        driver.find_element(By.LINK_TEXT, "AZ").click()
        wait_for(driver, "document.querySelector('table#country-networks') !== null")
        assert driver.find_element(By.TAG_NAME, "h1").text == "Azerbaijan (AZ)"
        bars = driver.execute_script(
            "return [...document.querySelectorAll('svg.mat-chart g.bar')]"
            ".filter(b => b.getBBox().height > 0).length")
        assert bars == 24  # one per hour with measurements
        screenshot(driver, "web-country.png")
        driver.find_element(By.LINK_TEXT, "Report").click()
        wait_for(driver, "document.querySelector('#report-summary') !== null")
        assert driver.find_element(By.CSS_SELECTOR, "#report-summary li").text.startswith(
            "TikTok was blocked on 2 networks in AZ")
        screenshot(driver, "web-report.png")
        driver.find_element(By.LINK_TEXT, "The report's charts").click()
        wait_for(driver, "document.images.length === 5 && [...document.images]"
                      ".every(i => i.complete)")
        sizes = driver.execute_script(
            "return [...document.images].map(i => [i.naturalWidth, i.naturalHeight])")
        assert all(w > 100 and h > 100 for w, h in sizes), sizes
        screenshot(driver, "web-report-charts.png")
