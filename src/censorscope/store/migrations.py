"""Numbered schema migrations, one list per engine.

A migration is ``(version, name, statements)`` where ``statements`` turns the engine's context
into SQL. ``schema_migrations(version, name, applied_at)`` records what ran; ``migrate()`` runs
the missing ones in order, so running it again does nothing. To change the schema, append a
migration to both lists (e.g. ``ALTER TABLE … ADD COLUMN``) and the field to the row type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from . import schema


@dataclass(frozen=True)
class ClickHouseContext:
    """Where ClickHouse DDL goes: the database, and the cluster name in the sharded layout."""

    database: str
    cluster: str | None = None


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    duckdb: Callable[[], list[str]]
    clickhouse: Callable[[ClickHouseContext], list[str]]


def _duckdb_initial() -> list[str]:
    return [schema.duckdb_create(table) for table in schema.TABLES]


def _clickhouse_initial(ctx: ClickHouseContext) -> list[str]:
    out: list[str] = []
    for table in schema.TABLES:
        if ctx.cluster is None:
            out.append(schema.clickhouse_create(table, table, ctx.database))
        else:
            out.append(schema.clickhouse_create(table, f"{table}_local", ctx.database))
            out.append(schema.clickhouse_distributed(table, ctx.database, ctx.cluster))
    return out


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, "measurements, observations, verdicts", _duckdb_initial, _clickhouse_initial),
)

LATEST: Final = MIGRATIONS[-1].version

DUCKDB_MIGRATIONS_TABLE: Final = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
    "name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
)


def clickhouse_migrations_table(database: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations (version Int64, name String, "
        "applied_at DateTime('UTC')) ENGINE = ReplacingMergeTree ORDER BY version"
    )
