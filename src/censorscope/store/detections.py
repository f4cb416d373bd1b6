"""The tables detection writes (migration 4): change points, incidents, outages.

Each row keeps the key columns a query filters on (country, network, target, kind, times) and
the whole event as JSON (``payload``: the event's ``to_json()``, the exact shape ``censorscope
incidents --format json`` prints). ``id`` is the event's content-derived id.

A detection run covers a *window* (``since`` inclusive, ``until`` exclusive, optionally one
country): writing its result replaces every stored row of the window (the row's time is
``at_time`` for a change point, ``start_time`` for an incident or outage), so running
detection again over the same verdicts leaves the same rows.

- DuckDB: ``DELETE`` of the window's rows and ``INSERT`` of the new ones, one transaction.
- ClickHouse (no usable ``DELETE`` on 18.16): ``ReplacingMergeTree(version)`` ordered by
  ``id`` with a ``deleted`` flag; a run inserts its rows with a new version and a tombstone
  (``deleted = 1``) for each stored id of the window it no longer finds. Reads take the row of
  the highest version per id (``argMax``) and drop tombstones, so they are exact before merges.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from censorscope.model.detection import ChangePoint, Incident, Outage

from .schema import clickhouse_type, duckdb_type

__all__ = [
    "DETECTION_TABLES", "TIME_COLUMN", "DetectionWindow", "clickhouse_detection_ddl", "columns",
    "duckdb_detection_ddl", "in_window", "naive_utc", "result_rows", "spec",
]

# table -> (column, logical type, nullable); the logical types are schema.py's
_COLUMNS: Final[dict[str, tuple[tuple[str, str, bool], ...]]] = {
    "change_points": (
        ("id", "str", False), ("cc", "str", False), ("asn", "int", False),
        ("target", "str", False), ("layer", "str", False), ("kind", "str", False),
        ("at_time", "datetime", False), ("detector", "str", False), ("payload", "str", False),
    ),
    "incidents": (
        ("id", "str", False), ("cc", "str", False), ("target", "str", False),
        ("scope", "str", False), ("start_time", "datetime", False),
        ("end_time", "datetime", True), ("detector", "str", False), ("payload", "str", False),
    ),
    "outages": (
        ("id", "str", False), ("cc", "str", False), ("asn", "int", True),
        ("kind", "str", False), ("start_time", "datetime", False),
        ("end_time", "datetime", True), ("detector", "str", False), ("payload", "str", False),
    ),
}
DETECTION_TABLES: Final = tuple(_COLUMNS)
TIME_COLUMN: Final = {"change_points": "at_time", "incidents": "start_time",
                      "outages": "start_time"}


def columns(table: str) -> list[str]:
    return [name for name, _, _ in _COLUMNS[table]]


def spec(table: str) -> tuple[tuple[str, str, bool], ...]:
    """(column, logical type, nullable) of ``table``."""
    return _COLUMNS[table]


@dataclass(frozen=True)
class DetectionWindow:
    """What one detection run covered: ``since`` (inclusive) to ``until`` (exclusive), None
    for open ends; ``cc`` one country, or None for all."""

    since: datetime | None = None
    until: datetime | None = None
    cc: str | None = None

    def conditions(self, table: str, placeholder: Any, *, time_column: str | None = None,
                   cc_column: str = "cc") -> tuple[list[str], list[Any]]:
        """SQL conditions selecting the window's rows of ``table``, with their values;
        ``placeholder(i)`` spells the i-th parameter marker (the column names may be
        aliases)."""
        column = time_column or TIME_COLUMN[table]
        where: list[str] = []
        values: list[Any] = []
        for op, value in ((">=", self.since), ("<", self.until)):
            if value is not None:
                where.append(f"{column} {op} {placeholder(len(values))}")
                values.append(naive_utc(value))
        if self.cc is not None:
            where.append(f"{cc_column} = {placeholder(len(values))}")
            values.append(self.cc)
        return where, values


def naive_utc(t: datetime) -> datetime:
    """``t`` as a naive UTC datetime (the store's times); naive input is taken as UTC."""
    return t if t.tzinfo is None else t.astimezone(UTC).replace(tzinfo=None)


def _naive(t: datetime | None) -> datetime | None:
    return None if t is None else naive_utc(t).replace(microsecond=0)


def _payload(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def result_rows(change_points: Sequence[ChangePoint], incidents: Sequence[Incident],
                outages: Sequence[Outage]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of one detection result per table, in the columns' order (repeated ids
    collapse to one row: the same event found twice is stored once)."""
    cps = {c.id: (c.id, c.key.probe_cc, c.key.probe_asn, c.key.target, c.key.layer, c.kind,
                  _naive(c.at), c.detector, _payload(c.to_json())) for c in change_points}
    incs = {i.id: (i.id, i.cc, i.target, i.scope, _naive(i.start), _naive(i.end), i.detector,
                   _payload(i.to_json())) for i in incidents}
    outs = {o.id: (o.id, o.cc, o.asn, o.kind, _naive(o.start), _naive(o.end), o.detector,
                   _payload(o.to_json())) for o in outages}
    return {"change_points": [cps[k] for k in sorted(cps)],
            "incidents": [incs[k] for k in sorted(incs)],
            "outages": [outs[k] for k in sorted(outs)]}


def in_window(window: DetectionWindow, table: str, row: tuple[Any, ...]) -> bool:
    """Whether a result row lies in ``window`` (a run writes only those: an event outside
    the window it read would not be replaced by the next run of the same window)."""
    names = columns(table)
    t = row[names.index(TIME_COLUMN[table])]
    if window.since is not None and t < naive_utc(window.since):
        return False
    if window.until is not None and t >= naive_utc(window.until):
        return False
    return window.cc is None or row[names.index("cc")] == window.cc


def duckdb_detection_ddl() -> list[str]:
    out = []
    for table, cols in _COLUMNS.items():
        defs = [f"{name} {duckdb_type(kind, null)}" for name, kind, null in cols]
        defs.append("PRIMARY KEY (id)")
        out.append(f"CREATE TABLE IF NOT EXISTS {table} (\n  " + ",\n  ".join(defs) + "\n)")
    return out


def clickhouse_detection_ddl(database: str, cluster: str | None) -> list[str]:
    """``ReplacingMergeTree(version)`` tables with a ``deleted`` flag; on a cluster a
    ``_local`` table per shard and a Distributed one sharded by ``cityHash64(id)``."""
    out = []
    for table, cols in _COLUMNS.items():
        defs = [f"{name} {clickhouse_type(kind, null)}" for name, kind, null in cols]
        defs += ["version UInt64", "deleted UInt8"]
        name = table if cluster is None else f"{table}_local"
        out.append(f"CREATE TABLE IF NOT EXISTS {database}.{name} (\n  " + ",\n  ".join(defs)
                   + "\n) ENGINE = ReplacingMergeTree(version) ORDER BY id")
        if cluster is not None:
            out.append(f"CREATE TABLE IF NOT EXISTS {database}.{table} AS {database}.{name} "
                       f"ENGINE = Distributed({cluster}, {database}, {name}, cityHash64(id))")
    return out
