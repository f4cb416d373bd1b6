"""The measurement search as one SQL text for both engines: filters, and keyset pages.

A page is ``ORDER BY measurement_start_time, measurement_uid`` (both descending or both
ascending) ``LIMIT n``; the next page starts strictly after the last row's (time, uid), the
keyset, so every page is one bounded query whatever its depth (OONI's OFFSET pages cost more
the deeper they go, backend#636) and a row is never seen twice nor skipped, even while rows
are added before the keyset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple

from .detections import naive_utc

__all__ = ["ORDERS", "Keyset", "SearchFilter", "search_sql"]

ORDERS: Final = ("desc", "asc")


class Keyset(NamedTuple):
    """Where a page ends: the (measurement_start_time, measurement_uid) of its last row."""

    measurement_start_time: datetime
    measurement_uid: str


@dataclass(frozen=True)
class SearchFilter:
    """What the measurements must match; None means no condition. Lists match any of their
    values (an empty list matches nothing); ``since`` is inclusive, ``until`` exclusive."""

    since: datetime | None = None
    until: datetime | None = None
    probe_cc: tuple[str, ...] | None = None
    probe_asn: tuple[int, ...] | None = None
    test_name: tuple[str, ...] | None = None
    domain: tuple[str, ...] | None = None
    input: str | None = None
    report_id: str | None = None
    anomaly: bool | None = None
    confirmed: bool | None = None
    failure: bool | None = None


def search_sql(columns: list[str], table: str, where: SearchFilter, *, order: str,
               limit: int, after: Keyset | None, placeholder: Callable[[Any], str]) -> str:
    """The SELECT of one page. ``placeholder(value)`` registers a parameter, returns its
    marker. A flag is tested as ``anomaly`` / ``NOT anomaly``, which DuckDB's BOOLEAN and
    ClickHouse's UInt8 both accept."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    conds = ["measurement_start_time IS NOT NULL"]
    for op, value in ((">=", where.since), ("<", where.until)):
        if value is not None:
            conds.append(f"measurement_start_time {op} {placeholder(naive_utc(value))}")
    for column, values in (("probe_cc", where.probe_cc), ("probe_asn", where.probe_asn),
                           ("test_name", where.test_name), ("domain", where.domain)):
        if values is not None:
            conds.append(f"{column} IN ({', '.join(placeholder(v) for v in values)})"
                         if values else "1 = 0")
    for column, text in (("input", where.input), ("report_id", where.report_id)):
        if text is not None:
            conds.append(f"{column} = {placeholder(text)}")
    for column, flag in (("anomaly", where.anomaly), ("confirmed", where.confirmed),
                         ("failure", where.failure)):
        if flag is not None:
            conds.append(column if flag else f"NOT {column}")
    if after is not None:
        op = "<" if order == "desc" else ">"
        t = placeholder(naive_utc(after.measurement_start_time))
        t_again = placeholder(naive_utc(after.measurement_start_time))
        conds.append(f"(measurement_start_time {op} {t} OR (measurement_start_time = "
                     f"{t_again} AND measurement_uid {op} {placeholder(after.measurement_uid)}))")
    direction = order.upper()
    return (f"SELECT {', '.join(columns)} FROM {table} WHERE {' AND '.join(conds)} "
            f"ORDER BY measurement_start_time {direction}, measurement_uid {direction} "
            f"LIMIT {int(limit)}")
