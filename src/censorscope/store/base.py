"""The store interface: one API, two engines (DuckDB embedded, ClickHouse at scale).

Writers (``ingest``, the collector) call :meth:`Store.write_batch` with every row of a batch of
measurements; it is idempotent by measurement_uid (a uid already stored adds nothing, not even
its observations or verdicts) and never leaves a measurement half-written. Readers use
``has``/``get_*`` and :meth:`Store.query_aggregate`, which returns the same result on every
engine for the same data (the store tests assert it).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Final, Self

from censorscope.model.rows import MeasurementRow, ObservationRow, VerdictRow

from .detections import DetectionWindow
from .points import FoldSpec, PointRow
from .search import Keyset, SearchFilter

__all__ = [
    "AGGREGATE_KEYS", "COUNT_KEYS", "TIME_KEYS", "FlagUpdate", "Store", "StoreBusy",
    "aggregate_result", "sort_aggregate",
]

# group-by keys query_aggregate accepts: ``hour`` (a naive UTC datetime), ``day``, ``week``
# (starting on Sunday, as OONI's toStartOfWeek), ``month`` and ``year`` (dates) are the time
# bucket of measurement_start_time in UTC
TIME_KEYS: Final = ("hour", "day", "week", "month", "year")
AGGREGATE_KEYS: Final = ("probe_cc", "probe_asn", "test_name", "day", "domain", "input",
                         "blocking_type", "platform", "software_name", "hour", "week", "month",
                         "year")
# the MAT's four mutually exclusive classes, plus their sum
COUNT_KEYS: Final = ("anomaly_count", "confirmed_count", "failure_count", "ok_count",
                     "measurement_count")
# (measurement_uid, anomaly, confirmed, failure, blocking_type): the MAT flags of a measurement
FlagUpdate = tuple[str, bool, bool, bool, str | None]



class StoreBusy(RuntimeError):
    """The store is held by another process (a DuckDB file is opened by one writer at a time:
    a running collector or ingest). ``holder`` names it when the engine says (program and
    PID), else None."""

    def __init__(self, url: str, holder: str | None, detail: str) -> None:
        self.url, self.holder, self.detail = url, holder, detail
        who = f"by {holder}" if holder else "by another process"
        super().__init__(f"the store {url} is in use {who}; stop it or use another store")

class Store(abc.ABC):
    """A measurement store. Open one with :func:`censorscope.store.open_store`."""

    url: str

    # --- schema ----------------------------------------------------------------------------
    @abc.abstractmethod
    def migrate(self) -> list[int]:
        """Apply the missing numbered migrations; return the versions applied (empty if none)."""

    @abc.abstractmethod
    def schema_version(self) -> int:
        """Highest migration version applied (0 for an empty store)."""

    # --- writes ----------------------------------------------------------------------------
    @abc.abstractmethod
    def write_batch(
        self,
        measurements: Sequence[MeasurementRow],
        observations: Sequence[ObservationRow] = (),
        verdicts: Sequence[VerdictRow] = (),
    ) -> int:
        """Write the measurements not stored yet, with their observations and verdicts.

        Rows of measurements already stored (or repeated in the batch) are dropped, so writing
        the same batch twice adds nothing. Observations/verdicts must belong to measurements of
        this batch (ValueError otherwise). Returns the number of measurements written.
        """

    @abc.abstractmethod
    def write_verdicts(self, verdicts: Sequence[VerdictRow]) -> int:
        """Add verdicts of stored measurements (e.g. a re-analysis with new rules); a
        (measurement_uid, rules_version) already stored is skipped. Returns rows written."""

    @abc.abstractmethod
    def update_flags(self, rows: Sequence[FlagUpdate]) -> int:
        """Set the MAT flags (anomaly, confirmed, failure, blocking_type) of stored measurements,
        e.g. after a re-analysis; every other column is kept. Uids not stored are ignored; for a
        uid repeated in ``rows`` the last wins. Returns the number of stored measurements set."""

    # --- reads -----------------------------------------------------------------------------
    @abc.abstractmethod
    def iter_uids(self, batch: int = 10_000) -> Iterator[list[str]]:
        """Every stored measurement_uid, ascending, in lists of at most ``batch`` (each list
        is one bounded query, so memory stays bounded and no result is held open between
        lists: the store can be used, and written, while the iterator is suspended)."""

    @abc.abstractmethod
    def has(self, uids: Iterable[str]) -> set[str]:
        """The subset of ``uids`` that is stored."""

    @abc.abstractmethod
    def get_measurement(self, uid: str) -> MeasurementRow | None:
        """The measurements row of ``uid``, or None."""

    @abc.abstractmethod
    def get_observations(self, uid: str) -> list[ObservationRow]:
        """Observation rows of ``uid`` ordered by observation_idx."""

    @abc.abstractmethod
    def get_verdicts(self, uid: str) -> list[VerdictRow]:
        """Verdict rows of ``uid`` ordered by rules_version."""

    @abc.abstractmethod
    def count(self, table: str) -> int:
        """Number of (distinct) rows in ``table`` (measurements, observations, verdicts)."""

    @abc.abstractmethod
    def query_aggregate(
        self,
        group_by: Sequence[str] = ("probe_cc", "probe_asn", "test_name", "day"),
        *,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        probe_cc: Sequence[str] | None = None,
        probe_asn: Sequence[int] | None = None,
        test_name: Sequence[str] | None = None,
        domain: Sequence[str] | None = None,
        input: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """MAT-style counts grouped by ``group_by`` (keys from ``AGGREGATE_KEYS``).

        Each result has the group keys plus ``COUNT_KEYS``: anomaly (and not confirmed nor
        failure), confirmed (and not failure), failure, ok, and the total. ``since`` is
        inclusive, ``until`` exclusive, on measurement_start_time. Sorted by the group keys
        (None first).
        """

    @abc.abstractmethod
    def search_measurements(self, where: SearchFilter, *, order: str = "desc",
                            limit: int = 100, after: Keyset | None = None
                            ) -> list[MeasurementRow]:
        """At most ``limit`` measurements matching ``where``, ordered by
        (measurement_start_time, measurement_uid) ``order`` ("desc" or "asc"), starting after
        the keyset ``after`` (the last row of the previous page). Measurements without a
        start time are never returned. One bounded query per page (see search.py)."""

    # --- detection (migration 4; see detections.py and points.py) -------------------------
    @abc.abstractmethod
    def iter_point_rows(self, *, since: datetime | None = None, until: datetime | None = None,
                        cc: str | None = None, batch: int = 100_000,
                        fold: FoldSpec | None = None) -> Iterator[list[PointRow]]:
        """Every measurement of the window (``since`` inclusive, ``until`` exclusive, one
        country or all) that has a verdict, with its latest verdict and ``control_ok``,
        ordered by (measurement_start_time, measurement_uid), in lists of at most ``batch``;
        with ``fold``, the clean measurements folded (``points.FoldSpec``). Streamed over a
        connection of its own: the store may be queried while the iterator is suspended."""

    def blocked_keys(self, *, since: datetime | None = None, until: datetime | None = None,
                     cc: str | None = None) -> set[tuple[str, str | None, str | None]]:
        """(test_name, input, domain) of the window's measurements whose latest verdict is
        ``blocked`` or ``impaired`` (what a fold must keep; engines may do it in SQL)."""
        return {(r.test_name, r.input, r.domain)
                for rows in self.iter_point_rows(since=since, until=until, cc=cc)
                for r in rows if r.outcome in ("blocked", "impaired")}

    @abc.abstractmethod
    def get_observations_of(self, uids: Sequence[str], origin: str | None = "probe"
                            ) -> dict[str, list[ObservationRow]]:
        """Observation rows of ``uids`` (of one ``origin``, or all for None) by uid, each list
        ordered by observation_idx; uids without rows are absent."""

    @abc.abstractmethod
    def replace_detections(self, window: DetectionWindow,
                           rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, int]:
        """Replace the stored detection results of ``window`` by ``rows`` (table → rows in
        ``detections.columns(table)`` order, from ``detections.result_rows``): every stored
        row of the window not among them is removed. Returns the rows written per table."""

    @abc.abstractmethod
    def read_detections(self, table: str, *, cc: str | None = None,
                        id: str | None = None) -> list[dict[str, Any]]:
        """The stored events of ``table`` (change_points, incidents, outages) as their JSON
        (``payload``), of one country or all (and only the event ``id`` when given), ordered
        by time then id."""

    # --- life cycle ------------------------------------------------------------------------
    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection(s)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def check_group_by(group_by: Sequence[str]) -> list[str]:
    keys = list(group_by)
    unknown = [k for k in keys if k not in AGGREGATE_KEYS]
    if unknown:
        raise ValueError(f"cannot group by {unknown}; choose from {list(AGGREGATE_KEYS)}")
    if len(set(keys)) != len(keys):
        raise ValueError(f"repeated group-by key in {keys}")
    return keys


def sort_aggregate(rows: list[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """Sort by the group keys with None first, the same way on every engine."""
    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple((row[k] is not None, row[k] if row[k] is not None else 0) for k in keys)

    return sorted(rows, key=key)


def aggregate_result(
    names: Sequence[str], rows: Sequence[Sequence[Any]], keys: Sequence[str]
) -> list[dict[str, Any]]:
    """Engine result rows → ``query_aggregate``'s dicts (counts as int), sorted by ``keys``.
    A sum over no rows is 0 (DuckDB's SQL says NULL: an ungrouped query that matches
    nothing gives one row of zeros on every engine)."""
    result = [
        {n: (int(v or 0) if n.endswith("_count") else _naive(v)) for n, v in
         zip(names, r, strict=True)}
        for r in rows
    ]
    return sort_aggregate(result, keys)


def _naive(value: Any) -> Any:
    """A time bucket as a naive UTC datetime (ClickHouse gives ``hour`` with its zone)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def latest_flags(rows: Sequence[FlagUpdate]) -> dict[str, FlagUpdate]:
    """``rows`` by uid, the last one winning (``update_flags``' rule for repeats)."""
    return {row[0]: row for row in rows}


def check_batch_size(batch: int) -> None:
    if batch < 1:
        raise ValueError(f"iter_uids batch must be at least 1, not {batch}")


def batch_checks(
    measurements: Sequence[MeasurementRow],
    observations: Sequence[ObservationRow],
    verdicts: Sequence[VerdictRow],
) -> tuple[list[MeasurementRow], set[str]]:
    """Measurements without repeats (first wins) and their uids; ValueError for orphans."""
    seen: set[str] = set()
    unique: list[MeasurementRow] = []
    for row in measurements:
        if row.measurement_uid not in seen:
            seen.add(row.measurement_uid)
            unique.append(row)
    for obs in observations:
        if obs.measurement_uid not in seen:
            raise ValueError(f"observation of {obs.measurement_uid!r} without its measurement")
    for verdict in verdicts:
        if verdict.measurement_uid not in seen:
            raise ValueError(f"verdict of {verdict.measurement_uid!r} without its measurement")
    return unique, seen
