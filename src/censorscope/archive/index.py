"""The archive index (SQLite): measurement_uid → can file, byte offset and length.

Also remembers the SHA-512 of every sealed body (duplicate detection across seals) and which
spool segments have been sealed, so a seal interrupted by a crash is finished, never redone.
Paths are relative to the archive directory.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ArchiveIndex", "CanLocation"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS measurements (
    uid TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    can TEXT NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    cc TEXT NOT NULL,
    test_name TEXT NOT NULL,
    report_id TEXT NOT NULL,
    received TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS measurements_digest ON measurements (digest);
CREATE TABLE IF NOT EXISTS sealed_segments (segment INTEGER PRIMARY KEY, sealed_at TEXT NOT NULL);
"""


@dataclass(frozen=True)
class CanLocation:
    """Where one measurement's gzip member is."""

    uid: str
    can: str
    offset: int
    length: int


class ArchiveIndex:
    """A connection to ``<archive>/index.sqlite``."""

    def __init__(self, archive: Path) -> None:
        self.path = Path(archive) / "index.sqlite"
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._db.commit()

    def close(self) -> None:
        self._db.close()

    def locate(self, uid: str) -> CanLocation | None:
        row = self._db.execute(
            "SELECT uid, can, offset, length FROM measurements WHERE uid = ?", (uid,)
        ).fetchone()
        return CanLocation(*row) if row else None

    def uid_for_digest(self, digest: str) -> str | None:
        row = self._db.execute(
            "SELECT uid FROM measurements WHERE digest = ? LIMIT 1", (digest,)
        ).fetchone()
        return row[0] if row else None

    def is_sealed(self, segment: int) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM sealed_segments WHERE segment = ?", (segment,)
        ).fetchone()
        return row is not None

    def commit_seal(self, segment: int, rows: Iterable[tuple[object, ...]], when: str) -> None:
        """Record a sealed segment and its rows in one transaction.

        ``rows``: ``(uid, digest, can, offset, length, cc, test_name, report_id, received)``.
        """

        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO measurements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
            self._db.execute(
                "INSERT OR IGNORE INTO sealed_segments VALUES (?, ?)", (segment, when)
            )

    def max_sealed(self) -> int:
        """The highest sealed segment number (0 if none): segment numbers are never reused."""

        row = self._db.execute("SELECT max(segment) FROM sealed_segments").fetchone()
        return int(row[0] or 0)

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM measurements").fetchone()[0])

    def uids(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT uid FROM measurements")}
