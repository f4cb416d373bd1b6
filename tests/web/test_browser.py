"""The explorer in a real headless Chromium (Debian's, through Selenium) against a real
``censorscope serve`` subprocess: on the lab's TikTok store, a person searches for TikTok in
Azerbaijan, opens a blocked measurement and sees the TLS handshake time out after the
ClientHello with the connection's event timeline; the MAT chart draws the counts a direct SQL
count gives; the CSV the browser downloads holds the JSON's numbers; the search form works from
the keyboard alone with a visible focus. On the real OONI samples: search, a measurement page
and the MAT by country. Screenshots go to tests/browserkit.artifacts_dir()."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browserkit import chromium, requires_chromium
from tests.web.webkit import read_only_sql, screenshot, served, wait_for

pytestmark = [requires_chromium, pytest.mark.browser]

SQL_COUNTS = """
    count(*) FILTER (WHERE NOT anomaly AND NOT confirmed AND NOT failure) AS ok,
    count(*) FILTER (WHERE anomaly AND NOT confirmed AND NOT failure) AS anomaly,
    count(*) FILTER (WHERE confirmed AND NOT failure) AS confirmed,
    count(*) FILTER (WHERE failure) AS failure
"""
GRID = ("/chart/mat?probe_cc=AZ&domain=www.tiktok.com&since=2022-09-14&until=2022-09-16"
        "&axis_x=measurement_start_day&axis_y=probe_asn")
FORM_ORDER = ["f-probe_cc", "f-probe_asn", "f-test_name", "f-domain", "f-input", "f-report_id",
              "f-since", "f-until", "f-anomaly", "f-confirmed", "f-failure", "f-order",
              "f-limit"]
DRAWN_JS = """
const out = {};
for (const panel of document.querySelectorAll('svg.mat-chart g.panel')) {
  for (const bar of panel.querySelectorAll('g.bar')) {
    const counts = {ok: 0, anomaly: 0, confirmed: 0, failure: 0};
    for (const rect of bar.querySelectorAll('rect')) {
      const box = rect.getBBox();
      if (!(box.width > 0 && box.height > 0)) { return 'not drawn: ' + bar.dataset.x; }
      counts[rect.getAttribute('class').replace('seg-', '')] += Number(rect.dataset.count);
    }
    out[panel.dataset.label + '|' + bar.dataset.x] = counts;
  }
}
return out;
"""


@pytest.fixture(scope="module")
def lab_base(lab_url: str) -> Iterator[str]:
    with served(lab_url) as base:
        yield base


@pytest.fixture(scope="module")
def samples_base(samples_url: str) -> Iterator[str]:
    with served(samples_url) as base:
        yield base


def _fill(driver: Any, values: dict[str, str]) -> None:
    from selenium.webdriver.common.by import By

    for name, value in values.items():
        field = driver.find_element(By.ID, f"f-{name}")
        field.clear()
        field.send_keys(value)


def test_search_to_the_tls_timeout_after_the_client_hello(lab_base: str, lab_url: str) -> None:
    from selenium.webdriver.common.by import By

    with chromium() as browser:
        driver: Any = browser
        driver.get(f"{lab_base}/")
        assert urlsplit(driver.current_url).path == "/search"
        _fill(driver, {"probe_cc": "AZ", "domain": "www.tiktok.com", "since": "2022-09-01",
                       "until": "2022-10-01"})
        driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        wait_for(driver, "document.querySelector('table.results') !== null")
        # only the filters that are set travel in the address (static/forms.js)
        query = parse_qs(urlsplit(driver.current_url).query, keep_blank_values=True)
        assert query == {"probe_cc": ["AZ"], "domain": ["www.tiktok.com"],
                         "since": ["2022-09-01"], "until": ["2022-10-01"],
                         "order": ["desc"], "limit": ["100"]}
        rows = driver.find_elements(By.CSS_SELECTOR, "table.results tbody tr")
        con = read_only_sql(lab_url)
        try:
            (total,) = con.execute(
                "SELECT count(*) FROM measurements WHERE probe_cc = 'AZ' AND domain = "
                "'www.tiktok.com' AND measurement_start_time >= '2022-09-01' AND "
                "measurement_start_time < '2022-10-01'").fetchone() or (0,)
            assert len(rows) == min(total, 100) > 0
            blocked = next(r for r in rows
                           if r.find_elements(By.CSS_SELECTOR, ".badge-anomaly"))
            uid = blocked.get_attribute("data-uid")
            verdict = con.execute(
                "SELECT outcome, mechanism FROM verdicts WHERE measurement_uid = ? "
                "ORDER BY rules_version DESC LIMIT 1", [uid]).fetchone()
        finally:
            con.close()
        assert verdict == ("blocked", "tls.timeout.sni")
        screenshot(driver, "web-search-az-tiktok.png")
        blocked.find_element(By.CSS_SELECTOR, "a[href^='/measurement/']").click()
        wait_for(driver, "document.getElementById('tls') !== null")
        assert urlsplit(driver.current_url).path == f"/measurement/{uid}"
        tls = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "#tls tbody tr > *")]
        assert tls[:3] == ["198.19.20.1:443", "www.tiktok.com", "generic_timeout_error"]
        timeline = driver.find_element(By.CSS_SELECTOR, "table.timeline")
        caption = timeline.find_element(By.TAG_NAME, "caption").text
        assert "www.tiktok.com" in caption and "generic_timeout_error" in caption
        events = [[c.text for c in tr.find_elements(By.CSS_SELECTOR, "td, th")]
                  for tr in timeline.find_elements(By.CSS_SELECTOR, "tbody tr")]
        ops = [e[1] for e in events]
        assert ops == ["connect", "tls_handshake_start", "write", "read", "tls_handshake_done"]
        write, read = events[2], events[3]
        assert write[3] == "517" and write[6] == "ClientHello"
        assert read[5] == "generic_timeout_error" and float(read[0]) - float(write[0]) > 1.9
        evidence = driver.find_element(By.CSS_SELECTOR, "ol.evidence").text
        assert "ClientHello" in evidence
        screenshot(driver, "web-measurement-blocked-tiktok.png")


def test_mat_chart_and_csv_download_equalread_only_sql(lab_base: str, lab_url: str,
                                              tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    con = read_only_sql(lab_url)
    try:
        rows = con.execute(f"""
            SELECT 'AS' || probe_asn, strftime(date_trunc('hour', measurement_start_time),
                   '%Y-%m-%dT%H:00:00Z'), {SQL_COUNTS} FROM measurements
            WHERE probe_cc = 'AZ' AND domain = 'www.tiktok.com'
              AND measurement_start_time >= '2022-09-14'
              AND measurement_start_time < '2022-09-16' GROUP BY ALL""").fetchall()
    finally:
        con.close()
    expected = {f"{asn}|{hour}": {"ok": o, "anomaly": a, "confirmed": c, "failure": f}
                for asn, hour, o, a, c, f in rows}
    assert len(expected) == 72
    with chromium() as browser:
        driver: Any = browser
        driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                               {"behavior": "allow", "downloadPath": str(tmp_path)})
        driver.get(f"{lab_base}{GRID}")
        svg = driver.find_element(By.CSS_SELECTOR, "svg.mat-chart")
        assert svg.size["width"] > 600 and svg.size["height"] > 200
        assert driver.execute_script(DRAWN_JS) == expected
        title = driver.execute_script("return document.getElementById('mat-title').textContent")
        assert title.startswith("Measurements per hour, one row per network (ASN)")
        screenshot(driver, "web-mat-az-tiktok.png")
        json_url = driver.find_element(By.LINK_TEXT, "JSON").get_attribute("href")
        driver.find_element(By.LINK_TEXT, "CSV").click()
        target = tmp_path / "aggregation.csv"
        deadline = time.monotonic() + 20
        while not target.exists():
            assert time.monotonic() < deadline, sorted(p.name for p in tmp_path.iterdir())
            time.sleep(0.1)
        # the JSON link, opened in the browser (the page's CSP lets no script fetch it)
        driver.get(json_url)
        answer = json.loads(driver.find_element(By.TAG_NAME, "body").text)
    downloaded = list(csv.DictReader(io.StringIO(target.read_text("utf-8"))))
    cells = answer["result"]
    assert len(downloaded) == len(cells) == 72
    for row, cell in zip(downloaded, cells, strict=True):
        assert row["measurement_start_day"] == cell["measurement_start_day"]
        assert int(row["probe_asn"]) == cell["probe_asn"]
        for key in ("ok_count", "anomaly_count", "confirmed_count", "failure_count",
                    "measurement_count"):
            assert int(row[key]) == cell[key]
        drawn = expected[f"AS{cell['probe_asn']}|{cell['measurement_start_day']}"]
        assert [drawn[k] for k in ("ok", "anomaly", "confirmed", "failure")] == [
            cell["ok_count"], cell["anomaly_count"], cell["confirmed_count"],
            cell["failure_count"]]


def test_the_search_form_from_the_keyboard(lab_base: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    def focused() -> dict[str, str]:
        return dict(driver.execute_script(
            "const e = document.activeElement; const s = getComputedStyle(e);"
            "const r = e.getBoundingClientRect();"
            "return {id: e.id, tag: e.tagName, href: e.getAttribute('href') || '',"
            " text: e.textContent.trim(), outline: s.outlineStyle + ' ' + s.outlineWidth,"
            " top: String(r.top)}"))

    def tab(times: int = 1) -> dict[str, str]:
        for _ in range(times):
            ActionChains(driver).send_keys(Keys.TAB).perform()
        return focused()

    with chromium() as browser:
        driver: Any = browser
        driver.get(f"{lab_base}/search")
        seen = [tab() for _ in range(2 + 6 + len(FORM_ORDER) + 2)]
        skip = seen[0]
        assert (skip["href"], skip["text"]) == ("#main", "Skip to content")
        assert float(skip["top"]) >= 0  # the skip link shows itself when focused
        assert [s["href"] for s in seen[1:8]] == [
            "/", "/search", "/chart/mat", "/countries", "/incidents", "/outages", "/reports"]
        assert [s["id"] for s in seen[8:8 + len(FORM_ORDER)]] == FORM_ORDER
        assert seen[8 + len(FORM_ORDER)]["tag"] == "BUTTON"
        # the focus is always visible: a 3 px solid outline
        assert all(s["outline"] == "solid 3px" for s in seen), {s["outline"] for s in seen}
        # the skip link takes the keyboard to the content
        driver.get(f"{lab_base}/search")
        tab()
        ActionChains(driver).send_keys(Keys.ENTER).perform()
        assert focused()["id"] == "main"
        # a search typed and sent without the mouse
        driver.get(f"{lab_base}/search")
        tab(9)
        assert focused()["id"] == "f-probe_cc"
        ActionChains(driver).send_keys("AZ").send_keys(Keys.TAB * 3).send_keys(
            "www.tiktok.com").send_keys(Keys.TAB * 3).send_keys("2022-09-01").send_keys(
            Keys.TAB).send_keys("2022-10-01").send_keys(Keys.ENTER).perform()
        wait_for(driver, "document.querySelector('table.results') !== null")
        query = parse_qs(urlsplit(driver.current_url).query, keep_blank_values=True)
        assert query == {"probe_cc": ["AZ"], "domain": ["www.tiktok.com"],
                         "since": ["2022-09-01"], "until": ["2022-10-01"],
                         "order": ["desc"], "limit": ["100"]}
        screenshot(driver, "web-search-keyboard.png")


def test_the_real_samples(samples_base: str, samples_url: str) -> None:
    from selenium.webdriver.common.by import By

    con = read_only_sql(samples_url)
    try:
        (n_ir,) = con.execute("SELECT count(*) FROM measurements WHERE probe_cc = 'IR' AND "
                              "measurement_start_time >= '2022-06-01' AND "
                              "measurement_start_time < '2022-11-01'").fetchone() or (0,)
        per_cc = con.execute(f"SELECT probe_cc, {SQL_COUNTS} FROM measurements WHERE "
                             "measurement_start_time >= '2022-01-01' AND "
                             "measurement_start_time < '2024-01-01' GROUP BY ALL").fetchall()
    finally:
        con.close()
    with chromium() as browser:
        driver: Any = browser
        driver.get(f"{samples_base}/search")
        _fill(driver, {"probe_cc": "IR", "since": "2022-06-01", "until": "2022-11-01"})
        driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        wait_for(driver, "document.querySelector('table.results') !== null")
        rows = driver.find_elements(By.CSS_SELECTOR, "table.results tbody tr")
        assert len(rows) == n_ir > 0
        screenshot(driver, "web-samples-search-ir.png")
        uid = rows[0].get_attribute("data-uid")
        rows[0].find_element(By.CSS_SELECTOR, "a[href^='/measurement/']").click()
        wait_for(driver, "document.getElementById('dns') !== null")
        assert urlsplit(driver.current_url).path == f"/measurement/{uid}"
        assert driver.find_element(By.TAG_NAME, "h1").text.endswith("from IR, AS197207") or \
            "from IR" in driver.find_element(By.TAG_NAME, "h1").text
        assert driver.find_elements(By.CSS_SELECTOR, "#dns tbody tr")
        screenshot(driver, "web-samples-measurement-ir.png")
        driver.get(f"{samples_base}/chart/mat?axis_x=probe_cc&since=2022-01-01"
                   "&until=2024-01-01&time_grain=month")
        drawn = driver.execute_script(DRAWN_JS)
        screenshot(driver, "web-samples-mat-by-country.png")
    assert drawn == {f"|{cc}": {"ok": o, "anomaly": a, "confirmed": c, "failure": f}
                     for cc, o, a, c, f in per_cc}
