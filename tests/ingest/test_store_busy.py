"""A DuckDB store held by another process: every command says so in one line, names the
holder, and exits 3 (its own status, distinct from bad input and usage errors)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from censorscope.cli.main import cli

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ooni-samples" / \
    "fastpath" / "report1.json"

HOLDER = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture
def held_store(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "held.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    try:
        yield f"duckdb:///{path}", proc.pid
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()


@pytest.mark.parametrize("argv", [
    ["ingest", str(SAMPLE)],
    ["analyze", str(SAMPLE)],
    ["reprocess"],
    ["verify"],
])
def test_a_held_store_is_one_line_naming_the_holder_and_exit_3(
        held_store: tuple[str, int], argv: list[str]) -> None:
    url, pid = held_store
    start = time.monotonic()
    result = CliRunner().invoke(cli, [argv[0], "--store", url, *argv[1:]])
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if "in use" in line]
    assert len(lines) == 1 and f"PID {pid}" in lines[0], result.output
    assert "Traceback" not in result.output
    assert time.monotonic() - start < 30
