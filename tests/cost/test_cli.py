"""``censorscope cost``: the table for people, the JSON, and each bad input's message and
exit status."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from censorscope.cli.main import cli
from censorscope.cost import estimate, estimate_for_event
from censorscope.cost.cli import (
    EXIT_BAD_VALUE,
    EXIT_NO_DATA,
    EXIT_NO_STORE,
    EXIT_NOT_PRICEABLE,
    EXIT_OPTIONS,
    EXIT_UNKNOWN_COUNTRY,
    EXIT_UNKNOWN_EVENT,
    EXIT_USAGE,
)
from censorscope.store import open_store
from tests.cost.eventkit import DetectedStore

REPO = Path(__file__).resolve().parents[2]
NATIONAL = ["cost", "--country", "AZ", "--year", "2020", "--kind", "national", "--days", "1"]


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


def test_table() -> None:
    result = _run(*NATIONAL)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ("Cost of a national disruption in Azerbaijan (AZ), 1 day(s), World Bank "
                        "data of 2020 (USD)")
    assert lines[2].split() == ["low", "2.22", "M"]
    assert lines[3].split() == ["central", "12.61", "M"]
    assert lines[4].split() == ["high", "44.21", "M"]
    text = result.stdout
    assert "gdp_usd" in text and "42,693,000,000.00 USD (current)" in text
    assert "NY.GDP.MKTP.CD, 2020" in text and "IT.NET.USER.ZS, 2020" in text
    assert "population               10,093,121 persons" in text
    e = estimate("AZ", 2020, "national", 1)
    for i, step in enumerate(e.trace, 1):  # every step with its formula
        assert f"{i:>2}. {step['step']} [{step['method']}] = {step['formula']}" in text
    assert "= 116,967,123.29 USD/day  — GDP of 2020 / 365" in text
    assert "= 0.019 (1.9 %) share of daily GDP  — high connectivity tier" in text


def test_json_is_the_estimate() -> None:
    result = _run(*NATIONAL[:6], "services", "--days", "13", "--services",
                  "facebook,whatsapp,youtube,instagram,tiktok,linkedin,twitter,zoom,skype,"
                  "messenger", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["low", "central", "high", "currency", "inputs", "trace"]
    expected = estimate("AZ", 2020, "services", 13, services=[
        "facebook", "whatsapp", "youtube", "instagram", "tiktok", "linkedin", "x", "zoom",
        "skype", "facebook_messenger"])
    assert data == json.loads(json.dumps(expected.to_json()))
    assert data["currency"] == "USD" and data["inputs"]["app_classes"]["value"] == 5


def test_percent_options() -> None:
    result = _run("cost", "--country", "az", "--year", "2020", "--kind", "regional",
                  "--days", "2", "--affected-share", "40", "--residual", "25",
                  "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["inputs"]["affected_share"]["value"] == 0.4
    assert data["inputs"]["residual_pct"]["value"] == 25.0
    e = estimate("AZ", 2020, "regional", 2, affected_share=0.4, residual_pct=25)
    assert (data["low"], data["central"], data["high"]) == (e.low, e.central, e.high)


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--country", "ZZ", "--year", "2020", "--kind", "national", "--days", "1"],
     EXIT_UNKNOWN_COUNTRY, "censorscope: unknown country 'ZZ'"),
    (["--country", "AZ", "--year", "2024", "--kind", "national", "--days", "1"],
     EXIT_NO_DATA, "censorscope: no World Bank NY.GDP.MKTP.CD (gdp_current_usd) of AZ in 2024; "
                   "years with data: 2000–2023"),
    (["--country", "AZ", "--year", "2020", "--kind", "national", "--days", "-2"],
     EXIT_BAD_VALUE, "censorscope: days must be a positive number, not -2.0"),
    (["--country", "AZ", "--year", "2020", "--kind", "national", "--days", "0"],
     EXIT_BAD_VALUE, "censorscope: days must be a positive number, not 0.0"),
    (["--country", "AZ", "--year", "2020", "--kind", "national", "--days", "1",
      "--residual", "120"], EXIT_BAD_VALUE, "censorscope: residual connectivity must be a "
                                            "percentage from 0 to 100, not 120.0"),
    (["--country", "AZ", "--year", "2020", "--kind", "regional", "--days", "1",
      "--affected-share", "0"], EXIT_BAD_VALUE, "censorscope: the affected share must be"),
    (["--country", "AZ", "--year", "2020", "--kind", "national", "--days", "1",
      "--services", "facebook"], EXIT_OPTIONS,
     "censorscope: services are priced with kind 'services', not 'national'"),
    (["--country", "AZ", "--year", "2020", "--kind", "services", "--days", "1",
      "--services", "facebook,myspace"], EXIT_OPTIONS, "censorscope: unknown service 'myspace'"),
    (["--country", "AZ", "--year", "2020", "--kind", "regional", "--days", "1"],
     EXIT_OPTIONS, "censorscope: kind 'regional' needs the affected share"),
    (["--country", "AZ", "--kind", "national"], EXIT_USAGE,
     "censorscope: missing --year, --days (or give --incident ID --store URL)"),
    (["--incident", "out-0"], EXIT_NO_STORE, "censorscope: --incident needs the store"),
])
def test_bad_input(args: list[str], code: int, message: str) -> None:
    result = _run("cost", *args, env={"CENSORSCOPE_STORE": ""})
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_exit_statuses_are_distinct() -> None:
    codes = [EXIT_USAGE, EXIT_UNKNOWN_COUNTRY, EXIT_NO_DATA, EXIT_BAD_VALUE, EXIT_OPTIONS,
             EXIT_NO_STORE, EXIT_UNKNOWN_EVENT, EXIT_NOT_PRICEABLE]
    assert len(set(codes)) == len(codes) and 0 not in codes and 1 not in codes


def test_incident_from_the_store(detected: DetectedStore, tmp_path: Path) -> None:
    with open_store(detected.url) as store:
        shutdown = store.read_detections("outages")[0]
        domain = next(i for i in store.read_detections("incidents")
                      if i["target"].startswith("domain:"))
        expected = estimate_for_event(store, shutdown)
    assert expected is not None
    result = _run("cost", "--incident", shutdown["id"], "--store", detected.url,
                  "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(json.dumps(expected.to_json()))
    table = _run("cost", "--incident", shutdown["id"], "--store", detected.url)
    assert table.exit_code == 0 and table.stdout.startswith(
        "Cost of a regional disruption in Azerbaijan (AZ), 0.4125 day(s)")
    # the store from the environment
    env = _run("cost", "--incident", shutdown["id"], "--format", "json",
               env={"CENSORSCOPE_STORE": detected.url})
    assert env.exit_code == 0 and env.stdout == result.stdout

    def fails(code: int, message: str, *args: str) -> None:
        bad = _run("cost", *args, env={"CENSORSCOPE_STORE": ""})
        assert bad.exit_code == code, bad.output
        assert bad.stderr.startswith(f"censorscope: {message}"), bad.stderr

    fails(EXIT_UNKNOWN_EVENT, f"the store {detected.url} has no incident or outage 'inc-0'",
          "--incident", "inc-0", "--store", detected.url)
    fails(EXIT_NOT_PRICEABLE, f"{domain['id']} is neither a shutdown nor a service restriction",
          "--incident", domain["id"], "--store", detected.url)
    missing = tmp_path / "none.duckdb"
    fails(EXIT_NO_STORE, f"no store at {missing}", "--incident", shutdown["id"], "--store",
          f"duckdb://{missing}")
    assert not missing.exists()  # not created by asking
    fails(EXIT_OPTIONS, "--incident takes its country, year, kind, duration and scope from "
          "the event: drop --country, --days", "--incident", shutdown["id"], "--store",
          detected.url, "--country", "AZ", "--days", "3")


def test_installed_command() -> None:
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "censorscope"), *NATIONAL, "--format",
                           "json"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["high"] == pytest.approx(42_693_000_000 / 365 * 0.378)
    bad = subprocess.run([str(REPO / ".venv" / "bin" / "censorscope"), "cost", "--country",
                          "AZ", "--year", "1990", "--kind", "national", "--days", "1"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == EXIT_NO_DATA and bad.stdout == ""
    assert bad.stderr == ("censorscope: no World Bank NY.GDP.MKTP.CD (gdp_current_usd) of AZ "
                          "in 1990; years with data: 2000–2023\n")
