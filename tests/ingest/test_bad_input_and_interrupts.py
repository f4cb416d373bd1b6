"""Bad input and interruptions: a broken line or a damaged file is named on stderr
(``file:line: message``) and the run goes on (exit 1); a store that cannot be opened is a
one-line error (exit 2); ``analyze --out`` and ``ingest`` interrupted by a real SIGINT and
rerun give every verdict once, like an uninterrupted run."""

from __future__ import annotations

import gzip
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from censorscope.ingest.analyze_cli import analyze, iter_measurements, reprocess, resume_out
from censorscope.ingest.cli import ingest as ingest_cmd
from censorscope.store import open_store

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO.parent / "shared" / "data" / "ooni-samples"
CLI = [sys.executable, "-m", "censorscope.cli.main"]


def _samples(n: int | None = None) -> list[dict[str, Any]]:
    msms = [m for m, _ in iter_measurements([str(SAMPLES / "fastpath")])]
    return msms[:n] if n else msms


def _lines(msms: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(m) + b"\n" for m in msms)


def _corpus(path: Path, count: int) -> Path:
    """``count`` distinct small real measurements (the fastpath samples, new report ids)."""
    samples = _samples()
    with open(path, "wb") as fh:
        for i in range(count):
            msm = dict(samples[i % len(samples)])
            msm.pop("measurement_uid", None)
            msm["report_id"] = f"r{i}"
            fh.write(orjson.dumps(msm) + b"\n")
    return path


def _uids(jsonl: str) -> list[str]:
    return [orjson.loads(line)["measurement_uid"] for line in jsonl.splitlines() if line]


def test_a_damaged_gzip_after_a_good_file_is_named_and_the_good_verdicts_printed(
        tmp_path: Path) -> None:
    msms = _samples(8)
    good = tmp_path / "good.jsonl"
    good.write_bytes(_lines(msms[:4]) + b'{"test_name": "web_connectivity", broken\n'
                     + _lines(msms[4:]))
    data = bytearray(gzip.compress(_lines(msms)))
    data[-8] ^= 0xFF  # the CRC32 of the gzip trailer
    crc = tmp_path / "damaged.jsonl.gz"
    crc.write_bytes(bytes(data))
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress(_lines(msms))[:300])
    result = CliRunner().invoke(analyze, ["--jobs", "1", str(good), str(crc), str(cut)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert len(_uids(result.stdout)) >= len(msms)  # good.jsonl's 8 (and what was readable)
    assert _uids(result.stdout)[:8] == [
        orjson.loads(line)["measurement_uid"]
        for line in CliRunner().invoke(analyze, ["--jobs", "1", str(good)]).stdout.splitlines()]
    assert f"{good}:5: malformed JSON" in result.stderr
    assert f"{crc}: cannot read file" in result.stderr
    assert f"{cut}: cannot read file" in result.stderr


def test_an_unreadable_store_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db.duckdb"
    bad.write_bytes(b"this is not a DuckDB file" * 100)
    url = f"duckdb://{bad}"
    data = tmp_path / "m.jsonl"
    data.write_bytes(_lines(_samples(2)))
    for command, args in ((ingest_cmd, [str(data), "--store", url]),
                          (reprocess, ["--store", url]),
                          (analyze, ["--store", url, str(data)])):
        result = CliRunner().invoke(command, args)
        assert result.exit_code == 2, (command.name, result.output)
        assert result.stderr.startswith("censorscope: cannot open the store")
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_resume_out_cuts_a_partial_last_line(tmp_path: Path) -> None:
    out = tmp_path / "v.jsonl"
    out.write_bytes(b'{"measurement_uid": "a"}\n{"measurement_uid": "b"}\n{"measurem')
    assert resume_out(out) == {"a", "b"}
    assert out.read_bytes().endswith(b'"b"}\n')
    assert resume_out(tmp_path / "new.jsonl") == set()


def _interrupt_when(cmd: list[str], ready: Any, timeout: float = 120.0) -> int:
    """Run ``cmd``, send it SIGINT as soon as ``ready()``; its exit status."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while proc.poll() is None and not ready() and time.monotonic() < deadline:
        time.sleep(0.005)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=timeout)
    assert b"Traceback" not in err, err.decode()
    return proc.returncode


@pytest.mark.slow
def test_analyze_out_interrupted_then_rerun_has_every_verdict_once(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl", 12_000)
    full, part = tmp_path / "full.jsonl", tmp_path / "part.jsonl"
    subprocess.run([*CLI, "analyze", "--jobs", "1", "--out", str(full), str(corpus)],
                   check=True, capture_output=True)
    expected = full.read_text()
    assert len(_uids(expected)) == 12_000

    cmd = [*CLI, "analyze", "--jobs", "2", "--out", str(part), str(corpus)]
    code = _interrupt_when(cmd, lambda: part.exists() and part.stat().st_size > 0)
    assert code == 130  # interrupted mid-file, in pass 2
    written = part.read_bytes()
    assert 0 < written.count(b"\n") < 12_000
    subprocess.run(cmd, check=True, capture_output=True)  # resume
    got = part.read_text()
    assert len(_uids(got)) == len(set(_uids(got))) == 12_000
    assert sorted(got.splitlines()) == sorted(expected.splitlines())
    assert got.startswith(written.decode()[: written.rfind(b"\n") + 1])


@pytest.mark.slow
def test_ingest_interrupted_then_rerun_stores_everything_once(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus.jsonl", 8_000)
    db = tmp_path / "s.duckdb"
    url = f"duckdb://{db}"
    cmd = [*CLI, "ingest", "--jobs", "1", "--batch-size", "500", "--no-progress",
           "--store", url, str(corpus)]
    wal = Path(f"{db}.wal")

    def committed() -> bool:  # a batch went in (DuckDB appended it to its write-ahead log,
        # which holds only the schema's few KB before)
        return wal.exists() and wal.stat().st_size > 1 << 20

    assert _interrupt_when(cmd, committed) == 130
    with open_store(url) as store:
        partial = store.count("measurements")
    assert 0 < partial < 8_000
    rerun = subprocess.run(cmd, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{8_000 - partial} new, {partial} duplicate" in rerun.stdout
    full = f"duckdb://{tmp_path / 'full.duckdb'}"
    subprocess.run([*cmd[:-2], full, str(corpus)], check=True, capture_output=True)
    counts = []
    for each in (url, full):
        with open_store(each) as store:
            uids = [u for batch in store.iter_uids() for u in batch]
            assert len(uids) == len(set(uids)) == 8_000
            counts.append((uids, store.count("observations"), store.count("verdicts")))
    assert counts[0] == counts[1]
