"""``censorscope analyze`` prints verdicts; ``reprocess`` re-scores stored rows idempotently,
on DuckDB and on ClickHouse (single server and two shards); ``ingest`` with the analyzer
stores verdicts and MAT flags."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from censorscope.ingest import ingest
from censorscope.ingest.analyze_cli import analyze, reprocess, reprocess_store
from censorscope.pipeline.analyze import AnalysisContext
from censorscope.pipeline.analyze.fingerprints import FingerprintSource, MatchLike
from censorscope.pipeline.rules import WEB_CONNECTIVITY
from censorscope.store.base import Store
from tests.store.storekit import ENGINES, open_test_store

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO.parent / "shared" / "data" / "ooni-samples"
IR = SAMPLES / "fastpath" / "web_connectivity_ir_fp.json"
FIELDS = {"measurement_uid", "report_id", "input", "test_name", "outcome", "layer",
          "mechanism", "blocking", "confirmed", "anomaly", "failure", "rule_id",
          "rules_version", "evidence"}


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from open_test_store(request.param, tmp_path)


def test_analyze_prints_one_jsonl_verdict_per_measurement() -> None:
    result = CliRunner().invoke(analyze, [str(SAMPLES / "fastpath")])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) >= 40
    assert all(FIELDS <= set(v) for v in lines)
    [ir] = [v for v in lines if v["input"] == "https://www.facebook.com/"
            and v["probe_cc"] == "IR"]
    assert (ir["outcome"], ir["layer"], ir["confirmed"], ir["rules_version"]) == (
        "blocked", "dns", True, WEB_CONNECTIVITY.version)


def test_analyze_table_names_outcome_and_evidence() -> None:
    result = CliRunner().invoke(analyze, ["--format", "table", str(IR)])
    assert result.exit_code == 0, result.output
    assert "dns.injection.blockpage" in result.stdout and "10.10.34.36" in result.stdout


@dataclass(frozen=True)
class Renamed:
    """The default fingerprints under another version (as after a fingerprint update)."""

    inner: FingerprintSource
    version: str

    def match_dns(self, answers: Sequence[str], cc: str) -> Sequence[MatchLike]:
        return self.inner.match_dns(answers, cc)

    def match_http(self, body: str | None, headers: dict[str, str], cc: str
                   ) -> Sequence[MatchLike]:
        return self.inner.match_http(body, headers, cc)


def test_reprocess_is_idempotent_and_updates_flags(store: Store) -> None:
    report = ingest([str(SAMPLES / "fastpath")], store)
    assert report.ok and store.count("verdicts") == 0
    n = store.count("measurements")
    ir_uid = next(u for u in _uids(store) if (m := store.get_measurement(u)) is not None
                  and m.probe_cc == "IR" and m.input == "https://www.facebook.com/")
    assert not store.get_measurement(ir_uid).confirmed  # type: ignore[union-attr]

    first = reprocess_store(store, AnalysisContext.create())
    assert (first["measurements"], first["written"], first["skipped"]) == (n, n, 0)
    assert store.count("verdicts") == n
    ir = store.get_measurement(ir_uid)
    assert ir is not None and ir.confirmed and ir.anomaly and ir.blocking_type == "dns"
    [row] = store.get_verdicts(ir_uid)
    assert row.rule_id == "dns.blockpage_ip" and row.evidence

    before = store.query_aggregate(["probe_cc", "blocking_type"])
    again = reprocess_store(store, AnalysisContext.create())
    assert (again["written"], again["skipped"]) == (0, n)
    assert store.count("verdicts") == n and store.count("measurements") == n
    assert store.query_aggregate(["probe_cc", "blocking_type"]) == before

    ctx = AnalysisContext.create()
    assert ctx.fingerprints is not None
    ctx.fingerprints = Renamed(ctx.fingerprints, "fingerprints-next")
    newer = reprocess_store(store, ctx)
    assert newer["written"] == n and store.count("verdicts") == 2 * n
    versions = {v.rules_version for v in store.get_verdicts(ir_uid)}
    assert len(versions) == 2 and all(v.startswith(WEB_CONNECTIVITY.version) for v in versions)


def _uids(store: Store) -> list[str]:
    return [uid for batch in store.iter_uids() for uid in batch]


def public_only(inner: Store) -> Store:
    """A real store seen only through the ``Store`` interface (no engine internals)."""

    def delegate(name: str) -> Any:
        return lambda self, *args, **kwargs: getattr(inner, name)(*args, **kwargs)

    cls = type("PublicOnly", (Store,), {name: delegate(name)
                                        for name in Store.__abstractmethods__})
    view: Store = cls()
    view.url = inner.url
    return view


def test_reprocess_needs_only_the_public_store_api(store: Store) -> None:
    assert ingest([str(SAMPLES / "fastpath")], store).ok
    n = store.count("measurements")
    public = public_only(store)
    assert not any(hasattr(public, name) for name in ("_con", "_execute", "_insert"))
    first = reprocess_store(public, AnalysisContext.create())
    assert (first["measurements"], first["written"]) == (n, n)
    flagged = sum(r["anomaly_count"] + r["confirmed_count"] + r["failure_count"]
                  for r in store.query_aggregate(()))
    assert flagged > 0 and store.count("measurements") == n


def test_ingest_with_the_analyzer_then_reprocess_cli(tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'a.duckdb'}"
    from censorscope.store import open_store

    with open_store(url) as s:
        report = ingest([str(SAMPLES / "fastpath")], s, analyze=True)
        assert report.ok
        assert s.count("verdicts") == s.count("measurements") > 0
    result = CliRunner().invoke(reprocess, ["--store", url])
    assert result.exit_code == 0, result.output
    assert " 0 new verdicts" in result.output  # ingest stored this version already


def test_analyze_learns_from_a_store(tmp_path: Path) -> None:
    """``analyze --store URL`` reads every stored measurement through the public API first."""
    url = f"duckdb://{tmp_path / 's.duckdb'}"
    from censorscope.store import open_store

    with open_store(url) as s:
        assert ingest([str(SAMPLES / "fastpath")], s).ok
    result = CliRunner().invoke(analyze, ["--store", url, str(IR)])
    assert result.exit_code == 0, result.output
    [ir] = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert (ir["outcome"], ir["layer"], ir["confirmed"]) == ("blocked", "dns", True)
