"""``censorscope alerts`` over a real DuckDB store holding detection results: the feed, a
signed webhook, the data clock for the quiet period, ``--list``, and clear usage errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from censorscope.alerts.atom import ATOM_NS
from censorscope.alerts.cli import alerts, data_clock, parse_duration
from censorscope.model.detection import Incident, Outage
from censorscope.store import open_store
from censorscope.store.detections import DetectionWindow, result_rows
from tests.store.detectkit import measurement, series

from .alertkit import T0, incident, outage, receiver

SECRET = b"cli-shared-secret-0123456789"
H = timedelta(hours=1)


def _store(tmp_path: Path, incidents: list[Incident], outages: list[Outage],
           last_measurement: datetime) -> str:
    """A store with these detection results and measurements up to ``last_measurement``."""
    url = f"duckdb:{tmp_path / 'store.duckdb'}"
    with open_store(url) as store:
        store.replace_detections(DetectionWindow(), result_rows([], incidents, outages))
        start = last_measurement - 3 * H
        ms, vs = series(f"m{int(last_measurement.timestamp())}", start, "oooo",
                        step=timedelta(hours=1))
        store.write_batch(ms, [], vs)
    return url


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(alerts, list(args), catch_exceptions=False)


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "webhook.secret"
    path.write_bytes(SECRET + b"\n")
    path.chmod(0o600)
    return path


def test_a_run_writes_the_feed_posts_signed_json_and_is_quiet_the_second_time(
        tmp_path: Path, secret_file: Path) -> None:
    url = _store(tmp_path, [incident((29049, 41997, 31721))], [outage()], T0 + 5 * H)
    feed = tmp_path / "alerts.atom"
    with receiver(SECRET) as rx:
        args = ["--store", url, "--feed", str(feed), "--webhook", rx.url,
                "--secret-file", str(secret_file)]
        first = _invoke(*args)
        assert first.exit_code == 0, first.output
        assert first.output.count("opened") == 2
        assert "webhooks: 2 delivered, 0 failed, 0 rejected" in first.output
        second = _invoke(*args)
        assert second.exit_code == 0 and "no new alerts" in second.output
        bodies = rx.accepted()
    assert sorted(b["event"] + ":" + ("incident" if "incident" in b else "outage")
                  for b in bodies) == ["opened:incident", "opened:outage"]
    inc = next(b for b in bodies if "incident" in b)
    assert [n["asn"] for n in inc["incident"]["networks"]] == [29049, 41997, 31721]
    root = ET.fromstring(feed.read_bytes())
    assert len(root.findall(f"{{{ATOM_NS}}}entry")) == 2
    assert (tmp_path / "alerts.atom.state.json").exists()
    for out in (first.output, second.output):
        assert SECRET.decode() not in out and "t0ps3cret" not in out


def test_the_quiet_period_runs_on_the_data_clock(tmp_path: Path) -> None:
    """Lab-clock data from 2022: the end must hold in the measurements, not on the wall."""
    feed = tmp_path / "f.atom"
    ended = incident(end=T0 + 2 * H)
    url = _store(tmp_path, [ended], [], T0 + 2 * H + 30 * M)
    result = _invoke("--store", url, "--feed", str(feed), "--quiet", "1h")
    assert result.output.splitlines()[0].startswith("opened") and "closed" not in result.output
    # newer measurements arrive: the end has held for an hour of data
    with open_store(url) as store:
        ms, vs = series("later", T0 + 3 * H, "oo", step=30 * M)
        store.write_batch(ms, [], vs)
    result = _invoke("--store", url, "--feed", str(feed), "--quiet", "1h")
    assert result.exit_code == 0 and result.output.startswith("closed")
    # the wall clock (2026) would have closed it at once
    other = tmp_path / "wall"
    other.mkdir()
    result = _invoke("--store", url, "--feed", str(other / "f.atom"), "--clock", "wall")
    assert [ln.split()[0] for ln in result.output.splitlines()] == ["opened", "closed"]


M = timedelta(minutes=1)


def test_list_shows_past_alerts_and_their_deliveries(tmp_path: Path, secret_file: Path
                                                     ) -> None:
    url = _store(tmp_path, [incident()], [], T0 + H)
    feed = tmp_path / "f.atom"
    with receiver(SECRET, status=503) as rx:
        result = _invoke("--store", url, "--feed", str(feed), "--webhook", rx.url,
                         "--secret-file", str(secret_file), "--attempts", "2",
                         "--retry-time", "2")
    assert result.exit_code == 1
    assert "failed after 2 attempts (HTTP 503)" in result.output
    assert "t0ps3cret" not in result.output
    listed = _invoke("--feed", str(feed), "--list")
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert "opened" in lines[0] and "TikTok blocked in AZ" in lines[0]
    assert "/hooks/censorscope failed (HTTP 503)" in lines[2]
    as_json = json.loads(_invoke("--state", f"{feed}.state.json", "--list", "--format",
                                 "json").output)
    assert [a["event"] for a in as_json] == ["opened"]
    assert as_json[0]["deliveries"][0]["attempts"] == 2


@pytest.mark.parametrize(("args", "message"), [
    ([], "give --feed FILE"),
    (["--feed", "F", "--webhook", "http://127.0.0.1:9/x"], "need a shared secret"),
    (["--feed", "F", "--quiet", "soon"], "bad duration 'soon'"),
    (["--feed", "F", "--store", "mysql://x/y"], "unknown store URL scheme"),
    (["--feed", "F", "--store", "duckdb:NOTDIR/x.duckdb"], "cannot open the store"),
])
def test_usage_errors_are_one_line_with_exit_2(tmp_path: Path, args: list[str],
                                               message: str) -> None:
    args = [a.replace("F", str(tmp_path / "f.atom")).replace("NOTDIR", str(tmp_path / "no"))
            for a in args]
    result = _invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_secret_file_problems(tmp_path: Path) -> None:
    url = _store(tmp_path, [incident()], [], T0 + H)
    empty = tmp_path / "empty"
    empty.write_text("\n")
    base = ["--store", url, "--feed", str(tmp_path / "f.atom"), "--webhook",
            "http://127.0.0.1:9/x"]
    result = _invoke(*base, "--secret-file", str(empty))
    assert result.exit_code == 2 and "is empty" in result.output
    result = _invoke(*base, "--secret-file", str(tmp_path / "missing"))
    assert result.exit_code == 2 and "cannot read the secret file" in result.output
    shared = tmp_path / "shared"
    shared.write_bytes(SECRET)
    shared.chmod(0o644)
    with receiver(SECRET) as rx:
        base[-1] = rx.url
        result = _invoke(*base, "--secret-file", str(shared))
    assert result.exit_code == 0
    assert "readable by others" in result.output and SECRET.decode() not in result.output


def test_a_damaged_state_or_an_empty_store_is_a_clear_message(tmp_path: Path) -> None:
    url = _store(tmp_path, [], [], T0 + H)
    feed = tmp_path / "f.atom"
    result = _invoke("--store", url, "--feed", str(feed))
    assert result.exit_code == 0 and "no incidents or outages" in result.output
    Path(f"{feed}.state.json").write_text("[1, 2")
    result = _invoke("--store", url, "--feed", str(feed))
    assert result.exit_code == 2 and "not an alert state file" in result.output
    assert _invoke("--feed", str(feed), "--list").exit_code == 2


def test_durations() -> None:
    assert parse_duration("90") == timedelta(seconds=90)
    assert parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration("6h") == timedelta(hours=6)
    assert parse_duration("2d") == timedelta(days=2)
    with pytest.raises(ValueError):
        parse_duration("-1h")


def test_the_data_clock_skips_days_without_scored_measurements(tmp_path: Path) -> None:
    url = _store(tmp_path, [], [], T0 + 5 * H)
    with open_store(url) as store:
        store.write_batch([measurement("unscored", T0 + 50 * H)])  # no verdict yet
        assert data_clock(store) == T0 + 5 * H
    with open_store(f"duckdb:{tmp_path / 'empty.duckdb'}") as store:
        assert data_clock(store) is None
