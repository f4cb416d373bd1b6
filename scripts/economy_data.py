"""Regenerate the economy data that ``censorscope cost`` ships (``src/censorscope/data/economy/``).

Reads
  - ``<shared>/data/economy/wdi_gdp_pop_internet_2000-2024_long.csv`` (World Bank WDI, CC BY 4.0:
    GDP current US$ ``NY.GDP.MKTP.CD``, population ``SP.POP.TOTL``, internet users %
    ``IT.NET.USER.ZS``, long format, one row per economy and year 2000–2024),
  - ``/usr/share/iso-codes/json/iso_3166-1.json`` (Debian's ``iso-codes``: ISO 3166-1 alpha-2 and
    alpha-3 codes; the World Bank tables carry only alpha-3),

and writes
  - ``wdi_gdp_pop_internet_2000-2024.csv``: the economies' rows (aggregates such as "World" or
    "Euro area", which have no region, are left out), columns reordered to
    ``iso3,country_name,region,income_group,year,gdp_current_usd,population,internet_users_pct``,
    values copied as text unchanged, sorted by (iso3, year);
  - ``iso2_iso3.csv``: ``iso2,iso3,name`` for every economy of that table that ISO 3166-1 names,
    plus Kosovo (``XK`` → ``XKX``: a user-assigned code ISO does not list, used by the World Bank
    and OONI); the Channel Islands (``CHI``) have no ISO code and are left out.

Usage: ``.venv/bin/python scripts/economy_data.py [--shared DIR] [--iso-codes FILE] [--out DIR]``
(defaults: ``../shared`` beside the repository, Debian's file, the package's data folder).
The output is deterministic: running it again over the same input writes the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_NAME = "wdi_gdp_pop_internet_2000-2024_long.csv"
TABLE_NAME = "wdi_gdp_pop_internet_2000-2024.csv"
MAP_NAME = "iso2_iso3.csv"
COLUMNS = ("iso3", "country_name", "region", "income_group", "year", "gdp_current_usd",
           "population", "internet_users_pct")
ISO_CODES = Path("/usr/share/iso-codes/json/iso_3166-1.json")
# codes the World Bank uses that ISO 3166-1 does not list (iso3 -> (iso2, name))
EXTRA_CODES = {"XKX": ("XK", "Kosovo")}


def economy_rows(source: Path) -> list[dict[str, str]]:
    """The economies' rows of the long WDI table (aggregates have an empty region)."""
    with source.open(newline="", encoding="utf-8") as f:
        rows = [row for row in csv.DictReader(f) if row["region"].strip()]
    missing = [c for c in COLUMNS if rows and c not in rows[0]]
    if missing:
        raise SystemExit(f"{source}: missing columns {missing}")
    rows.sort(key=lambda r: (r["iso3"], int(r["year"])))
    return rows


def iso_map(iso_codes: Path, iso3s: set[str]) -> list[tuple[str, str, str]]:
    """(iso2, iso3, name) of the economies in ``iso3s``, sorted by iso2."""
    entries = json.loads(iso_codes.read_text(encoding="utf-8"))["3166-1"]
    pairs = {e["alpha_3"]: (e["alpha_2"], e.get("common_name") or e["name"]) for e in entries}
    pairs.update(EXTRA_CODES)
    return sorted((pairs[i][0], i, pairs[i][1]) for i in iso3s if i in pairs)


def write_csv(path: Path, header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--iso-codes", type=Path, default=ISO_CODES)
    parser.add_argument("--out", type=Path, default=ROOT / "src/censorscope/data/economy")
    args = parser.parse_args()
    rows = economy_rows(args.shared / "data" / "economy" / SOURCE_NAME)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / TABLE_NAME, COLUMNS, [tuple(r[c] for c in COLUMNS) for r in rows])
    iso3s = {r["iso3"] for r in rows}
    mapping = iso_map(args.iso_codes, iso3s)
    write_csv(args.out / MAP_NAME, ("iso2", "iso3", "name"), mapping)
    unmapped = sorted(iso3s - {m[1] for m in mapping})
    print(f"{len(rows)} rows of {len(iso3s)} economies -> {args.out / TABLE_NAME}; "
          f"{len(mapping)} ISO-2 codes -> {args.out / MAP_NAME}; without an ISO-2 code: "
          f"{', '.join(unmapped) or 'none'}")


if __name__ == "__main__":
    main()
