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
from .detections import clickhouse_detection_ddl, duckdb_detection_ddl


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


# Columns that later migrations add (version → table → columns): the tables of migration 1 are
# created without them, so that every store, old or new, reaches the same schema the same way.
ADDED_COLUMNS: Final[dict[int, dict[str, tuple[str, ...]]]] = {
    2: {"observations": ("http_response_headers", "http_response_body")},
    3: {"verdicts": ("evidence_data",)},
}


def _later(table: str, after: int) -> set[str]:
    return {c for v, tables in ADDED_COLUMNS.items() if v > after for c in tables.get(table, ())}


def _drop_columns(ddl: str, drop: set[str]) -> str:
    """``CREATE TABLE`` text (one column per line) without the columns in ``drop``."""
    if not drop:
        return ddl
    lines = [ln for ln in ddl.split("\n") if ln.strip().split(" ", 1)[0] not in drop]
    for i in range(len(lines) - 1):
        if lines[i + 1].startswith(")") and lines[i].endswith(","):
            lines[i] = lines[i][:-1]
    return "\n".join(lines)


def _duckdb_initial() -> list[str]:
    return [_drop_columns(schema.duckdb_create(table), _later(table, 1))
            for table in schema.TABLES]


def _clickhouse_initial(ctx: ClickHouseContext) -> list[str]:
    out: list[str] = []
    for table in schema.TABLES:
        drop = _later(table, 1)
        if ctx.cluster is None:
            out.append(_drop_columns(schema.clickhouse_create(table, table, ctx.database), drop))
        else:
            out.append(_drop_columns(
                schema.clickhouse_create(table, f"{table}_local", ctx.database), drop))
            out.append(schema.clickhouse_distributed(table, ctx.database, ctx.cluster))
    return out


def _column_type(table: str, column: str, engine: str) -> str:
    kind = schema.kinds(table)[schema.columns(table).index(column)]
    return (schema.duckdb_type(*kind) if engine == "duckdb"
            else schema.clickhouse_type(*kind))


def _duckdb_add(version: int) -> Callable[[], list[str]]:
    def statements() -> list[str]:
        return [f"ALTER TABLE {table} ADD COLUMN {col} {_column_type(table, col, 'duckdb')}"
                for table, cols in ADDED_COLUMNS[version].items() for col in cols]
    return statements


def _clickhouse_add(version: int) -> Callable[[ClickHouseContext], list[str]]:
    def statements(ctx: ClickHouseContext) -> list[str]:
        out: list[str] = []
        for table, cols in ADDED_COLUMNS[version].items():
            names = [table] if ctx.cluster is None else [f"{table}_local", table]
            for name in names:
                out += [f"ALTER TABLE {ctx.database}.{name} ADD COLUMN {col} "
                        f"{_column_type(table, col, 'clickhouse')}" for col in cols]
        return out
    return statements


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, "measurements, observations, verdicts", _duckdb_initial, _clickhouse_initial),
    Migration(2, "observations: HTTP response headers and small bodies (fingerprints)",
              _duckdb_add(2), _clickhouse_add(2)),
    Migration(3, "verdicts: evidence as data (JSON claims, sources and facts)",
              _duckdb_add(3), _clickhouse_add(3)),
    Migration(4, "detection: change_points, incidents, outages (key columns + JSON payload)",
              duckdb_detection_ddl,
              lambda ctx: clickhouse_detection_ddl(ctx.database, ctx.cluster)),
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
