"""``censorscope probe run`` end to end against a loopback web site (no root needed)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from censorscope.cli.main import cli
from censorscope.probe.runner import run_measurements


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_help_explains_the_command() -> None:
    result = CliRunner().invoke(cli, ["probe", "run", "--help"])
    assert result.exit_code == 0
    for flag in ("--experiment", "--input", "--input-file", "--test-list", "--category",
                 "--parallel", "--output", "--resume", "--config", "--control-url",
                 "--public-range", "--timeout-scale", "--report-id", "Examples", "lab exec"):
        assert flag in result.output


def test_run_writes_measurements_warns_and_summarises(
    site: int, config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    url = f"http://localhost:{site}/"
    result = CliRunner().invoke(cli, [
        "probe", "run", "--config", str(config), "-i", url, "-i", "htp:/broken",
        "-i", f"http://127.0.0.1:{site}/x", "-o", str(out), "--parallel", "2", "--no-progress",
    ])
    assert result.exit_code == 0, result.output
    lines = _lines(out)
    assert sorted(m["input"] for m in lines) == sorted([url, f"http://127.0.0.1:{site}/x"])
    m = next(x for x in lines if x["input"] == url)
    assert (m["probe_cc"], m["probe_asn"], m["probe_network_name"]) == ("AM", "AS44395", "Ucom")
    assert m["test_name"] == "web_connectivity" and m["test_version"] == "0.5.28"
    assert m["report_id"].split("_")[1:4] == ["webconnectivity", "AM", "44395"]
    assert m["test_keys"]["control_failure"] == "connection_refused"
    assert m["test_keys"]["requests"][0]["response"]["code"] == 200
    assert m["test_helpers"]["backend"]["address"].startswith("http://127.0.0.1:")
    assert "skipping input 'htp:/broken'" in result.output
    assert "warning: the control" in result.output
    assert "unknown (no control)" in result.output  # summary table row


def test_resume_skips_done_inputs_and_redoes_a_torn_one(
    site: int, config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    urls = [f"http://localhost:{site}/{i}" for i in range(3)]
    first = CliRunner().invoke(cli, ["probe", "run", "--config", str(config), "-o", str(out),
                                     "--no-progress", "-i", urls[0], "-i", urls[1]])
    assert first.exit_code == 0, first.output
    text = out.read_text()
    last = text.splitlines()[-1]
    out.write_text(text[: len(text) - len(last) - 1] + last[:40])  # tear the last line
    torn_input = json.loads(last)["input"]
    inputs = [arg for u in urls for arg in ("-i", u)]
    again = CliRunner().invoke(cli, ["probe", "run", "--config", str(config), "-o", str(out),
                                     "--no-progress", "--resume", *inputs])
    assert again.exit_code == 0, again.output
    lines = _lines(out)
    assert sorted(m["input"] for m in lines) == sorted(urls)
    assert len({m["report_id"] for m in lines}) == 1, "the resumed run continues the report"
    assert "torn last line" in again.output
    assert torn_input in {m["input"] for m in lines[1:]}


def test_full_output_file_is_a_clear_error_and_loses_nothing(
    site: int, config: Path, tmp_path: Path
) -> None:
    one = run_measurements([f"http://localhost:{site}/"], json.loads(config.read_text()))
    size = len(json.dumps(one[0]).encode()) + 64
    out = tmp_path / "out.jsonl"
    limit = int(size * 2.5)
    exe = Path(sys.executable).with_name("censorscope")
    args = [str(exe), "probe", "run", "--config", str(config), "-o", str(out), "--no-progress"]
    for i in range(5):
        args += ["-i", f"http://localhost:{site}/{i}"]

    def limit_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(args, capture_output=True, text=True, timeout=60,
                          preexec_fn=limit_size, env={**os.environ, "COLUMNS": "120"})
    assert proc.returncode == 1
    assert "maximum size" in proc.stderr and "--resume" in proc.stderr
    data = out.read_bytes()
    assert data.endswith(b"\n")
    written = [json.loads(x) for x in data.splitlines()]
    assert 1 <= len(written) < 5
    assert f"{len(written)} written" in proc.stderr
