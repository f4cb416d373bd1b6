"""The MAT aggregation as one SQL text for both engines (they differ only in the time bucket
expressions, the table reference and the placeholder style)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from .base import TIME_KEYS, check_group_by

# the MAT's classes (ooni-backend §3.3); booleans are BOOLEAN on DuckDB, UInt8 on ClickHouse,
# and ``AND``/``NOT`` work on both
_COUNTS = (
    ("anomaly_count", "anomaly AND NOT confirmed AND NOT failure"),
    ("confirmed_count", "confirmed AND NOT failure"),
    ("failure_count", "failure"),
    ("ok_count", "NOT anomaly AND NOT confirmed AND NOT failure"),
)


def _as_datetime(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value
    return datetime.combine(value, time())


def aggregate_sql(
    group_by: Sequence[str],
    *,
    table: str,
    time_exprs: Mapping[str, str],
    placeholder: Callable[[Any], str],
    since: datetime | date | None,
    until: datetime | date | None,
    probe_cc: Sequence[str] | None,
    probe_asn: Sequence[int] | None,
    test_name: Sequence[str] | None,
    domain: Sequence[str] | None,
    input: Sequence[str] | None = None,
) -> tuple[str, list[str]]:
    """(SQL, key names). ``time_exprs`` spells each of ``TIME_KEYS`` (hour … year) over
    measurement_start_time in the engine's SQL; ``placeholder(value)`` registers a parameter,
    returns its marker."""
    keys = check_group_by(group_by)
    selects = [f"{time_exprs[k]} AS {k}" if k in TIME_KEYS else k for k in keys]
    where: list[str] = []
    if since is not None:
        where.append(f"measurement_start_time >= {placeholder(_as_datetime(since))}")
    if until is not None:
        where.append(f"measurement_start_time < {placeholder(_as_datetime(until))}")
    for column, values in (("probe_cc", probe_cc), ("probe_asn", probe_asn),
                           ("test_name", test_name), ("domain", domain), ("input", input)):
        if values is not None:
            items = list(values)
            if not items:
                where.append("1 = 0")
            else:
                where.append(f"{column} IN ({', '.join(placeholder(v) for v in items)})")
    counts = [f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END) AS {name}" for name, cond in _COUNTS]
    counts.append("count(*) AS measurement_count")
    sql = f"SELECT {', '.join([*selects, *counts])} FROM {table}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if keys:
        sql += " GROUP BY " + ", ".join(keys)
    return sql, keys
