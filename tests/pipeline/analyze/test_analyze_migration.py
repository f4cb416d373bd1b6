"""Migration 2 (HTTP headers and small bodies in observations): a store created at version 1
is upgraded in place, keeps its rows and accepts the new columns; a new store gets the same
schema by running both migrations."""

from __future__ import annotations

from pathlib import Path

import duckdb

from censorscope.ingest import ingest
from censorscope.store import migrations, open_store

REPO = Path(__file__).resolve().parents[3]
IR = REPO.parent / "shared" / "data" / "ooni-samples" / "fastpath" / "web_connectivity_ir_fp.json"
BLOCKPAGE = REPO.parent / "shared" / "data" / "ooni-samples" / "fastpath"


def _columns(path: Path) -> list[str]:
    con = duckdb.connect(str(path))
    try:
        return [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'observations' ORDER BY ordinal_position").fetchall()]
    finally:
        con.close()


def test_version_1_store_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(migrations.DUCKDB_MIGRATIONS_TABLE)
    for stmt in migrations.MIGRATIONS[0].duckdb():
        con.execute(stmt)
    con.execute("INSERT INTO schema_migrations VALUES (1, 'v1', now()::TIMESTAMP)")
    con.close()
    assert "http_response_body" not in _columns(path)

    with open_store(f"duckdb://{path}", migrate=False) as store:
        assert store.schema_version() == 1
        assert store.migrate() == [m.version for m in migrations.MIGRATIONS[1:]]
        assert store.migrate() == []
        assert store.schema_version() == migrations.LATEST >= 2
        assert ingest([str(BLOCKPAGE)], store).ok
        rows = [o for uid in _uids(store) for o in store.get_observations(uid)]
        assert any(o.http_response_body and "<" in o.http_response_body for o in rows)
        assert any(o.http_response_headers and o.http_response_headers.startswith("{")
                   for o in rows)
    fresh = tmp_path / "new.duckdb"
    with open_store(f"duckdb://{fresh}"):
        pass
    assert _columns(fresh) == _columns(path)


def _uids(store: object) -> list[str]:
    from censorscope.ingest.analyze_cli import _stored_uids

    return _stored_uids(store)  # type: ignore[arg-type]
