"""Migration 3 (``verdicts.evidence_data``: the evidence as data): a store at version 2 is
upgraded in place and keeps its verdicts (their evidence_data is None); verdicts written by the
analysis carry the JSON of their evidence items, which reads back into equal Evidence."""

from __future__ import annotations

from pathlib import Path

import duckdb
import orjson
from storekit import dataset

from censorscope.model.evidence import Evidence
from censorscope.pipeline.analyze.analyzer import analyze_measurement, to_verdict_row
from censorscope.pipeline.observe import measurement_row
from censorscope.store import migrations, open_store

REPO = Path(__file__).resolve().parents[2]
TOR = REPO.parent / "shared" / "data" / "ooni-samples" / "fastpath" / "tor.json"


def _verdict_columns(path: Path) -> list[str]:
    con = duckdb.connect(str(path))
    try:
        return [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'verdicts' ORDER BY ordinal_position").fetchall()]
    finally:
        con.close()


def test_version_2_store_gets_evidence_data(tmp_path: Path) -> None:
    ms, obs, vs = dataset(copies=1)
    old = [v._replace(evidence_data=None) for v in vs]
    path = tmp_path / "v2.duckdb"
    con = duckdb.connect(str(path))
    con.execute(migrations.DUCKDB_MIGRATIONS_TABLE)
    for m in migrations.MIGRATIONS[:2]:
        for stmt in m.duckdb():
            con.execute(stmt)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                    [m.version, m.name])
    con.close()
    assert "evidence_data" not in _verdict_columns(path)
    with open_store(f"duckdb://{path}", migrate=False) as store:
        assert store.schema_version() == 2
        assert store.migrate() == [3, 4]  # 4: the detection tables
        assert store.schema_version() == migrations.LATEST == 4
        assert store.write_batch(ms, obs, old) == len(ms)
        assert store.get_verdicts(old[0].measurement_uid) == [old[0]]
    assert _verdict_columns(path)[-1] == "evidence_data"
    fresh = tmp_path / "new.duckdb"
    with open_store(f"duckdb://{fresh}"):
        pass
    assert _verdict_columns(fresh) == _verdict_columns(path)


def test_analysis_verdict_rows_carry_evidence_data(tmp_path: Path) -> None:
    msm = orjson.loads(TOR.read_bytes())
    verdict = analyze_measurement(msm, uid="tor-1")
    row = to_verdict_row(verdict)
    assert row.evidence_data is not None
    data = orjson.loads(row.evidence_data)
    assert [Evidence.from_json(d) for d in data] == list(verdict.evidence)
    assert [d["text"] for d in data] == row.evidence
    with open_store(f"duckdb://{tmp_path / 's.duckdb'}") as store:
        assert store.write_batch([measurement_row(msm, "tor-1")], [], [row]) == 1
        assert store.get_verdicts("tor-1") == [row]
