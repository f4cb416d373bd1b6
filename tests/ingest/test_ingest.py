"""Ingest of real OONI samples and of every file format, on every store engine."""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from storekit import SAMPLE_DIRS, SAMPLES, sample_files

from censorscope.ingest import ingest
from censorscope.ingest.cli import ingest as ingest_cmd
from censorscope.model.ids import record_uid
from censorscope.store.base import Store


def _expected(msm: dict[str, Any]) -> dict[str, Any]:
    """The measurements columns straight from the source JSON (the spec of field-for-field)."""
    ann = msm.get("annotations") or {}

    def asn(v: Any) -> int | None:
        return int(v[2:]) if isinstance(v, str) and v.startswith("AS") else None

    def ts(v: Any) -> datetime | None:
        return datetime.strptime(v, "%Y-%m-%d %H:%M:%S") if v else None

    inp = msm.get("input")
    if isinstance(inp, list):
        inp = "{" + ",".join(inp) + "}"
    return {
        "report_id": msm.get("report_id") or "", "input": inp,
        "probe_cc": msm.get("probe_cc") or "ZZ", "probe_asn": asn(msm.get("probe_asn")) or 0,
        "probe_network_name": msm.get("probe_network_name"), "test_name": msm["test_name"],
        "test_version": msm.get("test_version"), "software_name": msm.get("software_name"),
        "software_version": msm.get("software_version"),
        "measurement_start_time": ts(msm.get("measurement_start_time")),
        "test_start_time": ts(msm.get("test_start_time")),
        "test_runtime": msm.get("test_runtime"), "platform": ann.get("platform"),
        "engine_name": ann.get("engine_name"), "engine_version": ann.get("engine_version"),
        "architecture": ann.get("architecture"), "network_type": ann.get("network_type"),
        "resolver_ip": msm.get("resolver_ip"), "resolver_asn": asn(msm.get("resolver_asn")),
        "resolver_network_name": msm.get("resolver_network_name"),
    }


def test_all_real_samples_ingest_and_read_back(store: Store) -> None:
    report = ingest([str(SAMPLES / d) for d in SAMPLE_DIRS], store)
    files = sample_files()
    assert report.total("errors") == 0
    unsupported = sorted(Path(f.path).name for f in report.files if f.unsupported)
    assert unsupported == sorted(p.name for p in (SAMPLES / "fastpath").glob("*.yaml"))
    assert all("YAML" in f.unsupported for f in report.files if f.unsupported)
    distinct = {record_uid(orjson.loads(p.read_bytes()), p.read_bytes()) for p in files}
    assert report.total("ingested") == store.count("measurements") == len(distinct)
    assert report.total("ingested") + report.total("duplicates") == len(files)
    for path in files:
        msm = orjson.loads(path.read_bytes())
        uid = record_uid(msm, path.read_bytes())
        row = store.get_measurement(uid)
        assert row is not None, path
        got = row._asdict()
        for key, value in _expected(msm).items():
            assert got[key] == value, (path.name, key)
        assert row.archive_file is not None
        assert Path(row.archive_file).read_bytes()[:row.archive_length] == path.read_bytes()[
            :row.archive_length]
    again = ingest([str(SAMPLES / d) for d in SAMPLE_DIRS], store)
    assert again.total("ingested") == 0
    assert again.total("duplicates") == len(files)
    assert store.count("measurements") == len(distinct)


def _measurements(n: int = 6) -> list[dict[str, Any]]:
    files = sample_files()[:n]
    return [orjson.loads(p.read_bytes()) for p in files]


def test_jsonl_gz_with_broken_line(duck: Store, tmp_path: Path) -> None:
    msms = _measurements()
    lines = [orjson.dumps(m) for m in msms]
    lines.insert(2, b'{"test_name": "web_connectivity", broken')
    path = tmp_path / "2024012414_IT_webconnectivity.n0.0.jsonl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"\n".join(lines) + b"\n")
    report = ingest([str(path)], duck)
    (f,) = report.files
    assert (f.ingested, f.errors) == (len(msms), 1)
    assert f.problems[0].startswith(f"{path}:3: malformed JSON")
    assert duck.count("measurements") == len(msms)
    # the archive pointer finds the body in the decompressed stream
    row = duck.get_measurement(record_uid(msms[3], orjson.dumps(msms[3])))
    assert row is not None and row.archive_offset is not None and row.archive_length
    body = gzip.decompress(path.read_bytes())[row.archive_offset:][:row.archive_length]
    assert orjson.loads(body) == msms[3]


def _postcan(path: Path, msms: list[dict[str, Any]], compress: bool) -> None:
    with tarfile.open(path, "w:gz" if compress else "w") as tar:
        for i, msm in enumerate(msms):
            data = orjson.dumps({"format": "json", "content": msm})
            info = tarfile.TarInfo(f"2024012414_IT_webconnectivity/x_{i}.post")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_postcans_in_bucket_layout(duck: Store, tmp_path: Path) -> None:
    msms = _measurements()
    bucket = tmp_path / "raw" / "20240124" / "14" / "IT" / "webconnectivity"
    bucket.mkdir(parents=True)
    _postcan(bucket / "2024012414_IT_webconnectivity.n0.0.tar.gz", msms[:3], compress=True)
    _postcan(bucket / "2024012414_IT_webconnectivity.n0.1.tar.gz", msms[3:], compress=False)
    (bucket / "README.txt").write_text("not data")
    report = ingest([str(tmp_path / "raw")], duck)
    assert [Path(f.path).name for f in report.files] == [
        "2024012414_IT_webconnectivity.n0.0.tar.gz", "2024012414_IT_webconnectivity.n0.1.tar.gz"]
    assert report.total("ingested") == len(msms) and report.ok
    post = orjson.dumps({"format": "json", "content": msms[4]})
    row = duck.get_measurement(record_uid(msms[4], post))
    assert row is not None and row.archive_file is not None
    assert row.archive_file.endswith("n0.1.tar.gz!2024012414_IT_webconnectivity/x_1.post")
    assert row.archive_length == len(post)
    again = ingest([str(tmp_path / "raw")], duck)
    assert again.total("ingested") == 0 and again.total("duplicates") == len(msms)


def test_truncated_gzip_keeps_what_was_read(duck: Store, tmp_path: Path) -> None:
    msms = _measurements(8)
    data = gzip.compress(b"\n".join(orjson.dumps(m) for m in msms) + b"\n")
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    report = ingest([str(path)], duck, batch_size=2)
    (f,) = report.files
    assert f.errors == 1 and "cannot read file" in f.problems[-1]
    assert 0 < f.ingested < len(msms)
    assert duck.count("measurements") == f.ingested


def test_non_measurements_and_yaml_are_reported(duck: Store, tmp_path: Path) -> None:
    (tmp_path / "list.json").write_bytes(orjson.dumps([{"a": 1}, _measurements(1)[0]]))
    (tmp_path / "post.json").write_bytes(orjson.dumps({"format": "yaml", "content": "---"}))
    shutil.copy(SAMPLES / "fastpath" / "binary_city.yaml", tmp_path / "old.yaml")
    report = ingest([str(tmp_path)], duck)
    by_name = {Path(f.path).name: f for f in report.files}
    assert by_name["list.json"].ingested == 1 and by_name["list.json"].skipped == 1
    assert "not supported" in by_name["post.json"].problems[0]
    assert by_name["old.yaml"].unsupported and "YAML" in by_name["old.yaml"].unsupported
    assert report.ok


def test_cli_reports_and_exit_status(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_bytes(b"\n".join(orjson.dumps(m) for m in _measurements(3)) + b"\nnot json\n")
    url = f"duckdb://{tmp_path / 'cli.duckdb'}"
    result = CliRunner().invoke(ingest_cmd, [str(good), "--store", url, "--no-progress"])
    assert result.exit_code == 1, result.output
    assert f"{good}:4: malformed JSON" in result.stderr  # per-line problems on stderr
    assert "3 new" in result.stdout
    result = CliRunner().invoke(ingest_cmd, [str(good), "--store", url, "--json"])
    report = orjson.loads(result.stdout)
    assert (report["ingested"], report["duplicates"], report["errors"]) == (0, 3, 1)


@pytest.mark.parametrize("bad", [b"", b"[]", b"null", b"{}"])
def test_degenerate_files_do_not_crash(duck: Store, tmp_path: Path, bad: bytes) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(bad)
    report = ingest([str(path)], duck)
    assert report.total("ingested") == 0
    assert duck.count("measurements") == 0
