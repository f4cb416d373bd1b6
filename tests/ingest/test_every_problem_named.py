"""Every rejected or skipped record is named on stderr (file:line), not only the first few,
for ``ingest`` and ``analyze``; the good records still go through."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from censorscope.cli.main import cli

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ooni-samples" / \
    "fastpath" / "report1.json"


def _mixed(tmp_path: Path) -> tuple[Path, list[int], list[int]]:
    good = orjson.loads(SAMPLE.read_bytes())
    lines, broken, skipped = [], [], []
    for i in range(1, 121):
        if i % 3 == 0:
            lines.append(b"{not json")
            broken.append(i)
        elif i % 3 == 1:
            lines.append(orjson.dumps({"hello": i}))
            skipped.append(i)
        else:
            lines.append(orjson.dumps({**good, "report_id": f"r{i}"}))
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, broken, skipped


def _named(stderr: str, path: Path, lines: list[int]) -> bool:
    return all(f"{path}:{n}:" in stderr for n in lines)


def test_ingest_names_every_broken_and_skipped_line(tmp_path: Path) -> None:
    path, broken, skipped = _mixed(tmp_path)
    result = CliRunner().invoke(cli, ["ingest", "--store", f"duckdb:///{tmp_path / 's.duckdb'}",
                                      str(path)])
    assert result.exit_code == 1
    assert len(broken) == 40 and len(skipped) == 40
    assert _named(result.stderr, path, broken) and _named(result.stderr, path, skipped)
    assert "40 new" in result.stdout


def test_analyze_names_every_broken_and_skipped_line(tmp_path: Path) -> None:
    path, broken, skipped = _mixed(tmp_path)
    result = CliRunner().invoke(cli, ["analyze", "--jobs", "1", str(path)])
    assert result.exit_code == 1
    assert _named(result.stderr, path, broken) and _named(result.stderr, path, skipped)
    assert len(result.stdout.splitlines()) == 40
    assert f"{path}: 40 broken records" in result.stderr
