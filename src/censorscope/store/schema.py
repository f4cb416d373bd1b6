"""Column types and table DDL for both engines, derived from the row types' ``ROW_COLUMNS``.

DuckDB gets native types (BOOLEAN, TIMESTAMP, VARCHAR[]) and primary keys. ClickHouse gets
types that 18.16 and current releases both accept: ``Nullable(...)``, ``DateTime('UTC')``,
``UInt8`` for booleans, ``Array(String)``, and ``ReplacingMergeTree`` ordered by the identity
key so a row written twice collapses (reads use ``FINAL``). ``LowCardinality`` is not used: it
is experimental on 18.16.
"""

from __future__ import annotations

from typing import Final

from censorscope.model.rows import ROW_COLUMNS

TABLES: Final = ("measurements", "observations", "verdicts")

# identity of a row: the dedup key on ClickHouse, the primary key on DuckDB (None: no PK)
KEYS: Final[dict[str, tuple[str, ...]]] = {
    "measurements": ("measurement_uid",),
    "observations": ("measurement_uid", "observation_idx"),
    "verdicts": ("measurement_uid", "rules_version"),
}
_DUCKDB_PK: Final[dict[str, bool]] = {"measurements": True, "observations": False,
                                      "verdicts": True}

_DUCKDB_TYPES: Final = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE",
                        "bool": "BOOLEAN", "datetime": "TIMESTAMP", "list": "VARCHAR[]"}
_CLICKHOUSE_TYPES: Final = {"str": "String", "int": "Int64", "float": "Float64",
                            "bool": "UInt8", "datetime": "DateTime('UTC')",
                            "list": "Array(String)"}


def columns(table: str) -> list[str]:
    """Column names of ``table`` in row order."""
    return list(ROW_COLUMNS[table])


def kinds(table: str) -> list[tuple[str, bool]]:
    """(logical type, nullable) per column of ``table``."""
    return [(kind.rstrip("?"), kind.endswith("?")) for kind in ROW_COLUMNS[table].values()]


def duckdb_type(kind: str, nullable: bool) -> str:
    base = _DUCKDB_TYPES[kind]
    return base if nullable or kind == "list" else f"{base} NOT NULL"


def clickhouse_type(kind: str, nullable: bool) -> str:
    base = _CLICKHOUSE_TYPES[kind]
    return f"Nullable({base})" if nullable and kind != "list" else base


def duckdb_create(table: str) -> str:
    cols = [f"{name} {duckdb_type(kind, null)}"
            for name, (kind, null) in zip(columns(table), kinds(table), strict=True)]
    if _DUCKDB_PK[table]:
        cols.append(f"PRIMARY KEY ({', '.join(KEYS[table])})")
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  " + ",\n  ".join(cols) + "\n)"


def clickhouse_create(table: str, name: str, database: str) -> str:
    """A ReplacingMergeTree table ``database.name`` with the columns of ``table``."""
    cols = [f"{col} {clickhouse_type(kind, null)}"
            for col, (kind, null) in zip(columns(table), kinds(table), strict=True)]
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.{name} (\n  " + ",\n  ".join(cols)
        + f"\n) ENGINE = ReplacingMergeTree ORDER BY ({', '.join(KEYS[table])})"
    )


def clickhouse_distributed(table: str, database: str, cluster: str) -> str:
    """The Distributed table ``table`` over ``table_local`` on every shard of ``cluster``,
    sharded by measurement_uid so all rows of a measurement (and its duplicates) share a shard."""
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.{table} AS {database}.{table}_local "
        f"ENGINE = Distributed({cluster}, {database}, {table}_local, "
        "cityHash64(measurement_uid))"
    )
