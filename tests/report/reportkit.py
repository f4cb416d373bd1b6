"""A real store with a detected incident, for report tests: the lab's golden measurements
(``tests/golden/measurements/az-2022-tiktok.jsonl``: Delta's blocked ``www.tiktok.com`` and its
working ``www.example.org`` on the same CDN address, Aztelekom's clean ``www.tiktok.com``)
replayed as hourly probe runs of three networks, written to a JSONL file, then ingested,
scored with the lab's ranges as public and detected through the CLI as a person would.

Each run of a network measures ``www.tiktok.com`` and ``www.example.org`` under one report id:
Delta (AS29049) is blocked from run ``ONSETS[29049]``, Connect (AS41997) from
``ONSETS[41997]``, Aztelekom (AS28787) never. A blocked run replays Delta's blocked
measurement, a clean one Aztelekom's clean one, each under the network's own ASN and name.
Nothing here asserts what the report says: tests compare it with SQL on the store.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from click.testing import CliRunner, Result

from censorscope.cli.main import cli

GOLDEN: Final = Path(__file__).resolve().parents[1] / "golden" / "measurements" \
    / "az-2022-tiktok.jsonl"
T0: Final = datetime(2022, 9, 14, 6, 0, 0)
RUNS: Final = 24
ONSETS: Final[dict[int, int | None]] = {29049: 8, 41997: 14, 28787: None}
NAMES: Final = {29049: "Delta Telecom Ltd", 41997: "Connect CJSC", 28787: "Aztelekom LLC"}
ASN_TABLE: Final = """\
198.18.1.0/24\t29049\tDelta Telecom Ltd\tAZ
198.18.2.0/24\t41997\tConnect CJSC\tAZ
198.18.4.0/24\t28787\tAztelekom LLC\tAZ
198.19.20.0/24\t20940\tAkamai International B.V.\tNL
"""


def templates() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(blocked www.tiktok.com, working www.example.org, clean www.tiktok.com)."""
    lines = GOLDEN.read_text("utf-8").splitlines()
    blocked, example, clean = (json.loads(line) for line in lines[:3])
    assert blocked["input"] == "https://www.tiktok.com/" and blocked["probe_asn"] == "AS29049"
    assert example["input"] == "https://www.example.org/"
    assert clean["input"] == "https://www.tiktok.com/" and clean["probe_asn"] == "AS28787"
    return blocked, example, clean


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _replay(template: dict[str, Any], asn: int, at: datetime, report_id: str
            ) -> dict[str, Any]:
    m = copy.deepcopy(template)
    m["probe_asn"] = f"AS{asn}"
    m["probe_network_name"] = NAMES[asn]
    m["resolver_asn"] = f"AS{asn}"
    m["resolver_network_name"] = NAMES[asn]
    m["measurement_start_time"] = _stamp(at)
    m["test_start_time"] = _stamp(at)
    m["report_id"] = report_id
    m["id"] = hashlib.sha1(f"{report_id}{m['input']}".encode()).hexdigest()
    return m


def case_measurements(runs: int = RUNS, onsets: dict[int, int | None] | None = None
                      ) -> list[dict[str, Any]]:
    """The replayed measurements, in time order."""
    blocked, example, clean = templates()
    out = []
    for run in range(runs):
        for i, (asn, onset) in enumerate((onsets or ONSETS).items()):
            at = T0 + timedelta(hours=run, minutes=5 * i)
            report_id = f"{at:%Y%m%dT%H%M%S}Z_webconnectivity_AZ_{asn}_n1_run{run:03d}"
            tiktok = blocked if onset is not None and run >= onset else clean
            out.append(_replay(tiktok, asn, at, report_id))
            out.append(_replay(example, asn, at + timedelta(seconds=2), report_id))
    return out


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def build_store(directory: Path, measurements: Sequence[dict[str, Any]] | None = None,
                *, detect: bool = True) -> str:
    """Write the case to ``directory/case.jsonl``, ingest it into ``directory/store.duckdb``
    (scored with the lab ranges public and the lab's ASN table) and run ``detect``; returns
    the store URL."""
    directory.mkdir(parents=True, exist_ok=True)
    data = directory / "case.jsonl"
    with data.open("w", encoding="utf-8") as fh:
        for m in measurements if measurements is not None else case_measurements():
            fh.write(json.dumps(m) + "\n")
    table = directory / "asn.tsv"
    table.write_text(ASN_TABLE, "utf-8")
    url = f"duckdb:///{directory / 'store.duckdb'}"
    for args in (("ingest", "--store", url, "--no-progress", "--no-analyze", "-j", "1",
                  str(data)),
                 ("reprocess", "--store", url, "--lab", "--asn-table", str(table)),
                 *((("detect", "--store", url),) if detect else ())):
        result = run_cli(*args)
        assert result.exit_code == 0, (args, result.output)
    return url


def copy_store(url: str, directory: Path) -> str:
    """A copy of the DuckDB store at ``url`` in ``directory`` (tests that write get their own)."""
    source = Path(url.removeprefix("duckdb:///"))
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "store.duckdb"
    shutil.copyfile(source, target)
    return f"duckdb:///{target}"


# the latest verdict of each measurement, joined to it (direct SQL for checking reports)
LATEST = """
    SELECT m.*, v.outcome, v.mechanism, v.rules_version FROM measurements m
    JOIN verdicts v USING (measurement_uid)
    WHERE v.rules_version = (SELECT max(w.rules_version) FROM verdicts w
                             WHERE w.measurement_uid = m.measurement_uid)
"""


def md_table(markdown: str, heading: str) -> list[list[str]]:
    """The rows (cells as text) of the first pipe table after ``heading``, header included."""
    lines = markdown.splitlines()
    start = lines.index(heading)
    rows: list[list[str]] = []
    for line in lines[start + 1:]:
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if not all(set(c) <= {"-"} for c in cells):
                rows.append(cells)
        elif rows:
            break
    return rows


def uid_cell(cell: str) -> str:
    """The measurement uid of a Markdown cell ``[uid](#m-uid)`` (the link and the text agree)."""
    found = re.fullmatch(r"\[([^\]]+)\]\(#m-([^)]+)\)", cell)
    assert found is not None and found.group(1) == found.group(2), cell
    return found.group(1)
