"""The shipped World Bank table: same values as the shared data, lookups, clear errors."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from censorscope.cost.economy import MAX_FALLBACK_YEARS, economy_table, year_ranges
from censorscope.cost.errors import CostInputError

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data" / "economy"
SHIPPED = REPO / "src" / "censorscope" / "data" / "economy"
ISO_CODES = Path("/usr/share/iso-codes/json/iso_3166-1.json")


def test_azerbaijan_2020_is_the_world_bank_row() -> None:
    e = economy_table().lookup("az", 2020)
    assert (e.iso2, e.iso3, e.name, e.year) == ("AZ", "AZE", "Azerbaijan", 2020)
    assert e.gdp.value == 42_693_000_000
    assert e.population.value == 10_093_121
    assert e.internet_users.value == 84.6
    assert e.gdp.source(2020) == ("World Bank, World Development Indicators (CC BY 4.0), "
                                  "NY.GDP.MKTP.CD, 2020")


def test_shipped_rows_equal_the_shared_table() -> None:
    with (SHARED / "wdi_gdp_pop_internet_2000-2024_long.csv").open(newline="") as f:
        shared = {(r["iso3"], r["year"]): r for r in csv.DictReader(f)}
    with (SHIPPED / "wdi_gdp_pop_internet_2000-2024.csv").open(newline="") as f:
        shipped = list(csv.DictReader(f))
    assert len(shipped) == 5217
    for row in shipped:
        assert row == {k: shared[row["iso3"], row["year"]][k] for k in row}
    # what was left out are the aggregates (no region)
    left = {k for k in shared if k not in {(r["iso3"], r["year"]) for r in shipped}}
    assert left and all(shared[k]["region"] == "" for k in left)
    assert ("WLD", "2020") in left


def test_regeneration_script_writes_the_shipped_bytes(tmp_path: Path) -> None:
    if not ISO_CODES.exists():
        pytest.skip("Debian's iso-codes is not installed (apt-get install iso-codes)")
    subprocess.run([sys.executable, str(REPO / "scripts" / "economy_data.py"),
                    "--out", str(tmp_path)], check=True, capture_output=True)
    for name in ("wdi_gdp_pop_internet_2000-2024.csv", "iso2_iso3.csv"):
        assert (tmp_path / name).read_bytes() == (SHIPPED / name).read_bytes(), name


def test_iso_map() -> None:
    with (SHIPPED / "iso2_iso3.csv").open(newline="") as f:
        pairs = {r["iso2"]: r["iso3"] for r in csv.DictReader(f)}
    assert pairs["AZ"] == "AZE" and pairs["AM"] == "ARM" and pairs["XK"] == "XKX"
    assert pairs["IR"] == "IRN" and pairs["RU"] == "RUS" and pairs["GB"] == "GBR"
    assert len(pairs) == len(set(pairs.values())) == 216
    table = economy_table()
    assert all(table.iso3(cc) == iso3 for cc, iso3 in pairs.items())


def test_unknown_country() -> None:
    for code in ("ZZ", "AZE", "", "TW"):  # TW: not a World Bank economy
        with pytest.raises(CostInputError, match="unknown country") as info:
            economy_table().lookup(code, 2020)
        assert info.value.reason == "country"


def test_year_without_gdp_names_the_years_with_data() -> None:
    with pytest.raises(CostInputError) as info:
        economy_table().lookup("AZ", 2024)
    assert info.value.reason == "year"
    assert str(info.value) == ("no World Bank NY.GDP.MKTP.CD (gdp_current_usd) of AZ in 2024; "
                               "years with data: 2000–2023")
    with pytest.raises(CostInputError, match="of AZ in 1999"):
        economy_table().lookup("AZ", 1999)
    # Eritrea: GDP only until 2011
    with pytest.raises(CostInputError, match="years with data: 2000–2011"):
        economy_table().lookup("ER", 2020)


def test_internet_users_fall_back_to_an_earlier_year_and_say_so() -> None:
    e = economy_table().lookup("XK", 2019)  # Kosovo: no internet users for 2019, 89.4 in 2018
    assert e.internet_users.value == 89.4 and e.internet_users.year == 2018
    assert e.internet_users.source(2019).endswith(
        "IT.NET.USER.ZS, 2018 (latest year with a value before 2019)")
    assert e.gdp.year == 2019
    # Kosovo has internet users for 2017 and 2018 only: 2023 takes 2018's (5 years back),
    # 2024 has no GDP, 2012 has nothing within MAX_FALLBACK_YEARS
    assert economy_table().years("XK", "internet_users_pct") == [2017, 2018]
    assert MAX_FALLBACK_YEARS == 5
    assert economy_table().lookup("XK", 2023).internet_users.year == 2018
    with pytest.raises(CostInputError) as info:
        economy_table().lookup("XK", 2012)
    assert info.value.reason == "year"
    assert str(info.value) == ("no World Bank IT.NET.USER.ZS (internet_users_pct) of XK from "
                               "2007 to 2012; years with data: 2017–2018")


def test_latest_year() -> None:
    table = economy_table()
    assert table.latest_year("AZ") == 2023
    assert table.latest_year("AZ", not_after=2030) == 2023
    assert table.latest_year("AZ", not_after=2015) == 2015
    assert table.latest_year("AZ", not_after=1990) == 2000


def test_year_ranges() -> None:
    assert year_ranges([2000, 2001, 2002, 2005, 2007, 2008]) == "2000–2002, 2005, 2007–2008"
    assert year_ranges([]) == "none"
