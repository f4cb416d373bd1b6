"""``reprocess`` scores a stored measurement whose scorer reads test keys (``throttling``) from
its raw body, read back from the file ``ingest`` read it from: the rows alone would leave it
``insufficient``. The measurements are the lab's (az-2020-war, Uninet in the throttled phase)."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from censorscope.cli.main import cli
from censorscope.store import open_store

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "measurements" \
    / "az-2020-war-throttling.jsonl"


def _outcomes(url: str) -> list[tuple[str, str | None]]:
    with open_store(url, read_only=True) as store:
        uids = [u for batch in store.iter_uids() for u in batch]
        return sorted((v.outcome, v.mechanism) for u in uids for v in store.get_verdicts(u))


def _run(*args: str) -> None:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output


def test_reprocess_reads_the_raw_body_a_scorer_needs(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    shutil.copyfile(GOLDEN, source)
    url = f"duckdb:///{tmp_path / 'store.duckdb'}"
    _run("ingest", "--store", url, "--no-analyze", "--no-progress", str(source))
    _run("reprocess", "--store", url, "--lab")
    got = _outcomes(url)
    assert got == [("impaired", "throttle.ip"), ("impaired", "throttle.sni")], got


def test_without_the_raw_body_the_verdict_says_insufficient(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    shutil.copyfile(GOLDEN, source)
    url = f"duckdb:///{tmp_path / 'store.duckdb'}"
    _run("ingest", "--store", url, "--no-analyze", "--no-progress", str(source))
    source.unlink()
    _run("reprocess", "--store", url, "--lab")
    assert {o for o, _ in _outcomes(url)} == {"insufficient"}
