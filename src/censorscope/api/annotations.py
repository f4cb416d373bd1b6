"""The annotation sidecar: analysts' findings and feedback labels on verdicts, in SQLite.

The API opens the measurement store read-only (a DuckDB file has one writer process, and
that is ``ingest``, the collector or ``detect``), so what people write through the API is
kept beside it, in a SQLite file (``censorscope serve --annotations FILE``; default: beside a
DuckDB store, ``<store>.annotations.sqlite``; for ClickHouse or an in-memory store,
``censorscope-annotations.sqlite`` in the working directory).

Many worker processes write it safely: the file is in WAL mode (readers never wait for the
writer), each write is one ``BEGIN IMMEDIATE`` transaction (writers queue on SQLite's lock,
``busy_timeout`` 10 s) with ``synchronous=FULL`` (a write answered 201 is on disk), and every
operation opens its own connection (no connection is shared between threads). Reads of a file
that does not exist yet answer empty lists; the file and its tables are made by the first
write. Rows are listed in the order they were written (SQLite's rowid).
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import orjson

__all__ = ["AnnotationStore", "default_annotations_path"]

BUSY_TIMEOUT_S: Final = 10.0
SCHEMA_VERSION: Final = 1
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS findings (
    id TEXT PRIMARY KEY, created TEXT NOT NULL, token_id TEXT NOT NULL, role TEXT NOT NULL,
    incident_id TEXT, measurement_uid TEXT, text TEXT NOT NULL, links TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS findings_incident ON findings (incident_id);
CREATE INDEX IF NOT EXISTS findings_measurement ON findings (measurement_uid);
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY, created TEXT NOT NULL, token_id TEXT NOT NULL, role TEXT NOT NULL,
    measurement_uid TEXT NOT NULL, rules_version TEXT NOT NULL, label TEXT NOT NULL,
    comment TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_measurement ON feedback (measurement_uid);
"""
_FINDING_COLUMNS: Final = ("id", "created", "token_id", "role", "incident_id",
                           "measurement_uid", "text", "links")
_FEEDBACK_COLUMNS: Final = ("id", "created", "token_id", "role", "measurement_uid",
                            "rules_version", "label", "comment")


def default_annotations_path(store_url: str) -> Path:
    """Where the sidecar of the store at ``store_url`` lies by default."""
    parts = urlsplit(store_url)
    scheme = parts.scheme.lower()
    if scheme in ("", "duckdb"):
        path = unquote(store_url.split(":", 1)[1]) if scheme == "duckdb" else store_url
        if path.startswith("//"):
            path = path[2:]
        if path and path not in ("/:memory:", ":memory:"):
            p = Path(path)
            return p.with_name(f"{p.stem}.annotations.sqlite")
    return Path("censorscope-annotations.sqlite")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _finding(row: Sequence[Any]) -> dict[str, Any]:
    out = dict(zip(_FINDING_COLUMNS, row, strict=True))
    out["links"] = orjson.loads(out["links"])
    return out


def _feedback(row: Sequence[Any]) -> dict[str, Any]:
    return dict(zip(_FEEDBACK_COLUMNS, row, strict=True))


class AnnotationStore:
    """Findings and feedback in the SQLite file at ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _connect(self, *, write: bool) -> Iterator[sqlite3.Connection | None]:
        """A connection of its own (None for a read of a file not made yet); a write runs
        in one immediate transaction, the schema made first."""
        if not write and not self.path.exists():
            yield None
            return
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        with closing(con):
            con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            if not write:
                yield con
                return
            if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = FULL")
            con.execute("BEGIN IMMEDIATE")
            try:
                if con.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            con.execute(statement)
                    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # --- findings ------------------------------------------------------------------------
    def add_finding(self, *, token_id: str, role: str, incident_id: str | None,
                    measurement_uid: str | None, text: str, links: Sequence[str]
                    ) -> dict[str, Any]:
        row = (f"fnd-{secrets.token_hex(6)}", _now(), token_id, role, incident_id,
               measurement_uid, text, orjson.dumps(list(links)).decode())
        with self._connect(write=True) as con:
            assert con is not None
            con.execute(f"INSERT INTO findings ({', '.join(_FINDING_COLUMNS)}) "
                        f"VALUES ({', '.join('?' for _ in row)})", row)
        return _finding(row)

    def findings(self, *, incident_id: str | None = None, measurement_uid: str | None = None,
                 limit: int = 100, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
        """(how many match, the page of them in the order written)."""
        where, params = [], []
        for column, value in (("incident_id", incident_id),
                              ("measurement_uid", measurement_uid)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        cond = f"WHERE {' AND '.join(where)} " if where else ""
        with self._connect(write=False) as con:
            if con is None or not _has_table(con, "findings"):
                return 0, []
            total = con.execute(f"SELECT count(*) FROM findings {cond}", params).fetchone()[0]
            rows = con.execute(f"SELECT {', '.join(_FINDING_COLUMNS)} FROM findings {cond}"
                               "ORDER BY rowid LIMIT ? OFFSET ?",
                               [*params, limit, offset]).fetchall()
        return int(total), [_finding(r) for r in rows]

    def finding(self, finding_id: str) -> dict[str, Any] | None:
        with self._connect(write=False) as con:
            if con is None or not _has_table(con, "findings"):
                return None
            row = con.execute(f"SELECT {', '.join(_FINDING_COLUMNS)} FROM findings "
                              "WHERE id = ?", (finding_id,)).fetchone()
        return None if row is None else _finding(row)

    def delete_finding(self, finding_id: str) -> dict[str, Any] | None:
        """Remove a finding; returns it (None when there was none)."""
        with self._connect(write=True) as con:
            assert con is not None
            row = con.execute(f"SELECT {', '.join(_FINDING_COLUMNS)} FROM findings "
                              "WHERE id = ?", (finding_id,)).fetchone()
            if row is not None:
                con.execute("DELETE FROM findings WHERE id = ?", (finding_id,))
        return None if row is None else _finding(row)

    # --- feedback ------------------------------------------------------------------------
    def add_feedback(self, *, token_id: str, role: str, measurement_uid: str,
                     rules_version: str, label: str, comment: str) -> dict[str, Any]:
        row = (f"fb-{secrets.token_hex(6)}", _now(), token_id, role, measurement_uid,
               rules_version, label, comment)
        with self._connect(write=True) as con:
            assert con is not None
            con.execute(f"INSERT INTO feedback ({', '.join(_FEEDBACK_COLUMNS)}) "
                        f"VALUES ({', '.join('?' for _ in row)})", row)
        return _feedback(row)

    def feedback(self, measurement_uid: str) -> list[dict[str, Any]]:
        with self._connect(write=False) as con:
            if con is None or not _has_table(con, "feedback"):
                return []
            rows = con.execute(f"SELECT {', '.join(_FEEDBACK_COLUMNS)} FROM feedback "
                               "WHERE measurement_uid = ? ORDER BY rowid",
                               (measurement_uid,)).fetchall()
        return [_feedback(r) for r in rows]


def _has_table(con: sqlite3.Connection, name: str) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                       (name,)).fetchone() is not None
