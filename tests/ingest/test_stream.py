"""The two-pass engine (``censorscope.ingest.stream``): streaming verdicts equal in-memory
verdicts, ``--jobs 1`` and ``--jobs 2`` give the same output in the same order, ingest verdicts
do not depend on the order of the input, and the trimmed raw gives the scorers what they read."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from censorscope.ingest import ingest
from censorscope.ingest.analyze_cli import analyze, iter_measurements
from censorscope.ingest.stream import (
    LAB_RANGES,
    ContextSettings,
    learn_chunk,
    score_entries,
    scoring_raw,
    stream,
)
from censorscope.pipeline.analyze import AnalysisContext, analyze_batch, score
from censorscope.pipeline.observe import measurement_row, observe
from censorscope.store import open_store
from tests.pipeline.analyze.msmkit import PAGE, Msm

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO.parent / "shared" / "data" / "ooni-samples"
LAB_MEASUREMENTS = REPO / "tests" / "golden" / "measurements"
IP = "93.184.216.34"
CTRL_OK = {"tcp": {f"{IP}:443": (True, None)},
           "http": {"body_length": len(PAGE), "title": "Example Domain"}}


def _in_memory(paths: list[str], ctx: AnalysisContext) -> list[bytes]:
    """What ``analyze`` printed before streaming: every measurement in memory, learnt first."""
    return [orjson.dumps(v.to_json()) + b"\n"
            for v in analyze_batch(iter_measurements(paths), ctx)]


def _streamed(paths: list[str], settings: ContextSettings, jobs: int = 1) -> list[bytes]:
    lines = [s.line for chunk in stream(paths, settings.context(), settings=settings, jobs=jobs,
                                        rows=False, lines=True) for s in chunk]
    return [line for line in lines if line is not None]


def test_streaming_verdicts_equal_in_memory_verdicts_on_the_samples() -> None:
    """Every real sample (all tests, posts, lists, big Web Connectivity pages): the same
    verdict JSON, in the same order, as scoring the whole input in memory."""
    paths = [str(SAMPLES)]
    expected = _in_memory(paths, AnalysisContext.create())
    assert len(expected) > 60
    assert _streamed(paths, ContextSettings()) == expected


def test_streaming_verdicts_equal_in_memory_verdicts_on_lab_measurements() -> None:
    """The lab's recorded measurements (tests/e2e writes them), with the lab's ranges."""
    paths = [str(LAB_MEASUREMENTS)] if LAB_MEASUREMENTS.is_dir() else []
    expected = _in_memory(paths, AnalysisContext.create(public_ranges=LAB_RANGES))
    if not expected:
        pytest.skip("no lab measurements recorded in tests/golden/measurements yet")
    settings = ContextSettings(lab=True)
    assert _streamed(paths, settings) == expected
    from censorscope.ingest import stream as engine

    engine.MIN_PARALLEL_BYTES, saved = 0, engine.MIN_PARALLEL_BYTES
    try:
        assert _streamed(paths, settings, jobs=2) == expected
    finally:
        engine.MIN_PARALLEL_BYTES = saved


def _sni_pair() -> list[dict[str, Any]]:
    """A TLS timeout for www.example.com at IP, and another measurement from the same network
    that completed a handshake with www.example.org at that IP: the first is SNI blocking
    only if the second is known when it is scored."""
    blocked = (Msm("https://www.example.com/", uid="a-blocked")
               .dns("www.example.com", [IP])
               .connect(IP, 443, sni="www.example.com", tls_failure="generic_timeout_error")
               .ctrl(addrs=[IP], **CTRL_OK)).build()  # type: ignore[arg-type]
    witness = (Msm("https://www.example.org/", uid="b-witness")
               .dns("www.example.org", [IP])
               .connect(IP, 443, sni="www.example.org",
                        http={"url": "https://www.example.org/", "body": PAGE})
               .ctrl(addrs=[IP], **CTRL_OK)).build()  # type: ignore[arg-type]
    return [blocked, witness]


def _cross_measurement_jsonl() -> list[dict[str, Any]]:
    """The SNI pair (blocked first) followed by the fastpath samples, as dicts."""
    samples = [m for m, _ in iter_measurements([str(SAMPLES / "fastpath")])]
    return _sni_pair() + samples


def _write_jsonl(path: Path, msms: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(m) + b"\n" for m in msms))
    return path


def test_a_fact_learnt_later_in_the_input_counts(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "pair.jsonl", _sni_pair())
    [blocked, _] = [orjson.loads(line) for line in _streamed([str(path)], ContextSettings())]
    assert (blocked["measurement_uid"], blocked["mechanism"]) == ("a-blocked",
                                                                  "tls.timeout.sni")


@pytest.mark.slow
def test_jobs_1_and_jobs_2_print_the_same_verdicts_in_the_same_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many chunks (small and big measurements, the SNI pair far apart) through the CLI."""
    from censorscope.ingest import stream as engine

    monkeypatch.setattr(engine, "MIN_PARALLEL_BYTES", 0)
    msms = _cross_measurement_jsonl()
    big = [m for m, _ in iter_measurements([str(SAMPLES / "webconnectivity-real")])]
    corpus: list[dict[str, Any]] = []
    for i in range(6):
        for m in msms + big:
            copy = dict(m)
            copy["report_id"] = f"{m.get('report_id')}-{i}"
            copy.pop("measurement_uid", None)
            corpus.append(copy)
    corpus.insert(0, corpus.pop(0))
    path = _write_jsonl(tmp_path / "many.jsonl", corpus)
    runner = CliRunner()
    one = runner.invoke(analyze, ["--jobs", "1", str(path)])
    two = runner.invoke(analyze, ["--jobs", "2", str(path)])
    assert one.exit_code == two.exit_code == 0, one.output + two.output
    assert one.stdout.count("\n") == len(corpus)
    assert one.stdout == two.stdout
    first = json.loads(one.stdout.splitlines()[0])  # the SNI-blocked one, its witness later
    assert first["mechanism"] == "tls.timeout.sni"


def test_ingest_verdicts_do_not_depend_on_the_input_order(tmp_path: Path) -> None:
    msms = _cross_measurement_jsonl()
    shuffled = list(msms)
    random.Random(7).shuffle(shuffled)
    shuffled.remove(msms[1])
    shuffled.insert(0, msms[0])  # the blocked measurement first: its witness comes later
    shuffled.append(msms[1])
    verdicts = []
    for name, order in (("in", msms), ("shuffled", shuffled)):
        path = _write_jsonl(tmp_path / f"{name}.jsonl", order)
        with open_store(f"duckdb://{tmp_path / name}.duckdb") as store:
            report = ingest([str(path)], store, analyze=True, batch_size=7)
            distinct = len({m.get("measurement_uid") or orjson.dumps(m) for m in msms})
            assert report.ok and report.total("ingested") == distinct
            verdicts.append({uid: store.get_verdicts(uid)
                             for batch in store.iter_uids() for uid in batch})
    assert verdicts[0] == verdicts[1]
    [blocked] = verdicts[0]["a-blocked"]
    assert blocked.mechanism == "tls.timeout.sni"


def test_ingest_with_two_jobs_stores_what_one_job_stores(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from censorscope.ingest import stream as engine

    monkeypatch.setattr(engine, "MIN_PARALLEL_BYTES", 0)  # workers even for a small input
    stored = []
    for jobs, analyze_it in ((1, True), (2, True), (1, False), (2, False)):
        with open_store(f"duckdb://{tmp_path / str(jobs)}{analyze_it}.duckdb") as store:
            report = ingest([str(SAMPLES / "fastpath")], store, analyze=analyze_it, jobs=jobs)
            assert report.ok
            uids = [uid for batch in store.iter_uids() for uid in batch]
            stored.append([(store.get_measurement(u), store.get_observations(u),
                            store.get_verdicts(u)) for u in uids])
    assert stored[0] == stored[1] and stored[0] and stored[2] == stored[3] and stored[2]


def test_scoring_raw_gives_the_scorers_what_the_whole_measurement_gives() -> None:
    """For every sample, scoring with the trimmed raw is scoring with the whole dict."""
    ctx = AnalysisContext.create()
    pairs = list(iter_measurements([str(SAMPLES)]))
    rows = [(measurement_row(m, uid), observe(m, uid), m) for m, uid in pairs]
    for meta, obs, _ in rows:
        ctx.learn(meta, obs)
    for meta, obs, msm in rows:
        whole = score(meta, obs, ctx, msm).to_json()
        assert score(meta, obs, ctx, scoring_raw(msm)).to_json() == whole, meta.measurement_uid
    big = orjson.loads((SAMPLES / "webconnectivity-real" / "youtube" / "measurement.json")
                       .read_bytes())
    assert len(orjson.dumps(scoring_raw(big))) < len(orjson.dumps(big)) * 0.7


def test_big_web_connectivity_records_are_read_back_when_their_body_is_needed(
        tmp_path: Path) -> None:
    """A record above LAZY_RAW_BYTES keeps only where it is; the scorer that needs its body
    gets it from the file (a blockpage that only the body shows)."""
    padding = "<!-- " + "p" * 40_000 + " -->"
    blockpage = ("<html><head><title>Blocked</title></head><body>"
                 "<iframe src=\"http://10.10.34.34/?type=Invalid Site&policy=MainPolicy\">"
                 f"</iframe>{padding}</body></html>")
    msm = (Msm("http://www.example.com/", cc="IR", uid="big-blockpage")
           .dns("www.example.com", [IP])
           .connect(IP, 80, http={"url": "http://www.example.com/", "body": blockpage,
                                  "code": 403})
           .ctrl(addrs=[IP], **CTRL_OK)).build()  # type: ignore[arg-type]
    path = _write_jsonl(tmp_path / "big.jsonl", [msm])
    record = path.read_bytes().rstrip(b"\n")
    ctx = AnalysisContext.create()
    result = learn_chunk([(0, str(path), None, 1, 0, record, True)], ctx, spill=False)
    assert result.entries is not None
    [(_, _, _, raw)] = result.entries
    assert raw == (str(path), 0, len(record))  # not the body: where to read it back
    [scored] = score_entries(result.entries, ctx, rows=True, lines=True)
    expected = analyze_batch([(msm, "big-blockpage")], AnalysisContext.create())[0]
    assert scored.line == orjson.dumps(expected.to_json()) + b"\n"
    assert expected.mechanism == "http.blockpage"


def test_jsonl_ranges_read_by_workers_are_the_records_the_reader_yields(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With --jobs > 1 a plain JSONL file goes to the workers as byte ranges: the records (line
    numbers, offsets, bytes) must be what ``read_records`` yields, whatever the cuts."""
    from censorscope.ingest import stream as engine
    from censorscope.ingest.readers import read_records

    monkeypatch.setattr(engine, "CHUNK_BYTES", 50)
    path = tmp_path / "cuts.jsonl"
    path.write_bytes(b'{"a": 1}\n\n   {"b": 2}  \n' + b'{"long": "' + b"x" * 300 + b'"}\n'
                     + b"not json\n" + b'{"c": 3}\n' * 7 + b'{"last": "no newline"}')
    expected = [(0, r.path, r.member, r.line, r.offset, r.data, True)
                for r in read_records(str(path), "jsonl")]
    got = [rec for rng in engine._jsonl_ranges(0, str(path))
           for rec in engine._records_of(rng)]
    engine._close_files()
    assert got == expected and len(got) == 12
    result = CliRunner().invoke(analyze, ["--jobs", "2", str(path)])
    assert f"{path}:5: malformed JSON" in result.stderr and result.exit_code == 1


def test_a_measurement_the_scorer_fails_on_is_reported_and_the_run_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from censorscope.ingest import stream as engine

    real = engine.score

    def choking(meta: Any, observations: Any, ctx: Any, raw: Any = None) -> Any:
        if meta.measurement_uid == "b-witness":
            raise ValueError("boom")
        return real(meta, observations, ctx, raw)

    monkeypatch.setattr(engine, "score", choking)
    path = _write_jsonl(tmp_path / "pair.jsonl", _sni_pair())
    result = CliRunner().invoke(analyze, ["--jobs", "1", str(path)])
    assert result.exit_code == 1
    assert [json.loads(line)["measurement_uid"] for line in result.stdout.splitlines()] == [
        "a-blocked"]
    assert f"{path}: b-witness: cannot score: ValueError('boom')" in result.stderr
    with open_store(f"duckdb://{tmp_path / 's.duckdb'}") as store:
        report = ingest([str(path)], store, analyze=True)
        assert report.total("errors") == 1 and report.total("ingested") == 2
        assert store.get_verdicts("b-witness") == [] and store.get_verdicts("a-blocked")
        assert store.get_observations("b-witness")


def test_lab_tiktok_verdicts_do_not_depend_on_the_input_order(tmp_path: Path) -> None:
    """The AZ TikTok lab corpus (SNI blocking proven by other measurements of the same
    network): the same verdict per measurement whatever the order of the lines."""
    corpus = LAB_MEASUREMENTS / "az-2022-tiktok.jsonl"
    if not corpus.exists():
        pytest.skip("no lab measurements recorded in tests/golden/measurements yet")
    lines = [line for line in corpus.read_bytes().splitlines() if line.strip()]
    settings = ContextSettings(lab=True)
    by_uid = []
    for seed in (None, 1, 2):
        order = list(lines)
        if seed is not None:
            random.Random(seed).shuffle(order)
        path = tmp_path / f"az-{seed}.jsonl"
        path.write_bytes(b"\n".join(order) + b"\n")
        verdicts = [orjson.loads(v) for v in _streamed([str(path)], settings)]
        by_uid.append({v["measurement_uid"]: v for v in verdicts})
    assert by_uid[0] == by_uid[1] == by_uid[2] and len(by_uid[0]) == len(lines)
    assert any(v["mechanism"] == "tls.timeout.sni" for v in by_uid[0].values())
