"""Scenario validation of the lab clock: dated phases, the rate, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from censorscope.lab import scenarios
from censorscope.lab.errors import ScenarioError

SMOKE = (Path(scenarios.CATALOGUE_DIR) / "smoke.toml").read_text()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def _dated(open_at: str, blocked_at: str, rate: str = "") -> str:
    text = SMOKE.replace('description = "no censorship"',
                         f'description = "no censorship"\nstarts_at = {open_at}')
    text = text.replace('[phases.blocked]\ndescription = "SNI drop of blocked.example.org, '
                        "NXDOMAIN for www.example.org on acme's resolver\"",
                        '[phases.blocked]\ndescription = "SNI drop of blocked.example.org, '
                        "NXDOMAIN for www.example.org on acme's resolver\"\n"
                        f"starts_at = {blocked_at}")
    assert text.count("starts_at") == 2
    if rate:
        text = text.replace('name = "smoke"\n', f'name = "smoke"\nclock_rate = {rate}\n')
    return text


def test_dated_phases_load_with_dates_in_utc(tmp_path: Path) -> None:
    sc = scenarios.load(_write(tmp_path, _dated("2022-09-14T06:00:00Z",
                                                "2022-09-14 14:11:00+02:00", "600")))
    assert sc.has_clock and sc.clock_rate == 600
    assert sc.phase_dates("open") == (datetime(2022, 9, 14, 6, 0, tzinfo=UTC),
                                      datetime(2022, 9, 14, 12, 11, tzinfo=UTC))
    assert sc.phase_dates("blocked") == (datetime(2022, 9, 14, 12, 11, tzinfo=UTC), None)


def test_dates_out_of_order_are_rejected_with_both_phases_named(tmp_path: Path) -> None:
    path = _write(tmp_path, _dated("2022-09-15T06:00:00Z", "2022-09-14T12:11:00Z"))
    with pytest.raises(ScenarioError, match=r"phases\.blocked\.starts_at: .* is not after "
                                            r"phases\.open\.starts_at"):
        scenarios.load(path)


def test_bad_rate_and_rate_without_dates_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"clock_rate: Input should be greater than 0"):
        scenarios.load(_write(tmp_path, _dated("2022-09-14T06:00:00Z",
                                               "2022-09-14T12:11:00Z", "0")))
    undated = SMOKE.replace('name = "smoke"\n', 'name = "smoke"\nclock_rate = 60\n')
    with pytest.raises(ScenarioError, match=r"clock_rate: the lab clock needs at least one "
                                            r"phase with starts_at"):
        scenarios.load(_write(tmp_path, undated))
    with pytest.raises(ScenarioError, match=r"phases\.open\.starts_at"):
        scenarios.load(_write(tmp_path, _dated("\"yesterday\"", "2022-09-14T12:11:00Z")))


def test_case_scenarios_carry_the_dates_of_the_brief() -> None:
    az = scenarios.load("az-2022-tiktok")
    assert [az.phases[p].starts_at for p in
            ("blocked-delta", "blocked-delta-kinetic", "blocked-all")] == [
        datetime(2022, 9, 14, 12, 11, tzinfo=UTC), datetime(2022, 9, 14, 17, 55, tzinfo=UTC),
        datetime(2022, 9, 15, 12, 40, tzinfo=UTC)]
    am = scenarios.load("am-2022-tiktok")
    assert am.phases["blocked-ucom"].starts_at == datetime(2022, 9, 13, 12, 3, tzinfo=UTC)
    war = scenarios.load("az-2020-war")
    assert war.phases["restored"].starts_at == datetime(2020, 11, 12, 10, 0, tzinfo=UTC)
    assert all(s.has_clock for s in (az, am, war))
    assert not scenarios.load("smoke").has_clock
