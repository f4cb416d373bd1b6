"""The embedded engine: one DuckDB file, no server (the default store).

Batches go in as Arrow tables (``INSERT … SELECT * FROM <registered arrow table>``), the fast
bulk path; each ``write_batch`` is one transaction, so a measurement's rows are all in or none
is. Idempotency: uids already stored are filtered out inside the transaction, and the
measurements primary key rejects any race. One connection per store, guarded by a lock.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, Final

import duckdb
import orjson
import pyarrow as pa

from censorscope.model.rows import MeasurementRow, ObservationRow, VerdictRow

from . import detections, migrations, schema
from .aggregate import aggregate_sql
from .base import (
    FlagUpdate,
    Store,
    StoreBusy,
    aggregate_result,
    batch_checks,
    check_batch_size,
    latest_flags,
)
from .detections import DetectionWindow, naive_utc
from .points import MEASUREMENT_COLUMNS, FoldSpec, PointRow
from .search import Keyset, SearchFilter, search_sql

_ARROW = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
          "datetime": pa.timestamp("s"), "list": pa.list_(pa.string())}
_ROWS: dict[str, Any] = {"measurements": MeasurementRow, "observations": ObservationRow,
                         "verdicts": VerdictRow}


_STRUCTS: dict[str, pa.StructType] = {}
# the MAT's time buckets of measurement_start_time (a week starts on Sunday, as in OONI)
_TIME_EXPRS: Final = {
    "hour": "date_trunc('hour', measurement_start_time)",
    "day": "CAST(measurement_start_time AS DATE)",
    "week": "CAST(date_trunc('week', measurement_start_time + INTERVAL 1 DAY) "
            "- INTERVAL 1 DAY AS DATE)",
    "month": "CAST(date_trunc('month', measurement_start_time) AS DATE)",
    "year": "CAST(date_trunc('year', measurement_start_time) AS DATE)",
}


def _struct(table: str) -> pa.StructType:
    st = _STRUCTS.get(table)
    if st is None:
        st = _STRUCTS[table] = pa.struct([
            pa.field(name, _ARROW[kind]) for name, (kind, _) in
            zip(schema.columns(table), schema.kinds(table), strict=True)])
    return st


def arrow_table(table: str, rows: Sequence[tuple[Any, ...]]) -> pa.Table:
    """Rows (NamedTuples of ``table``) as an Arrow table with the store's column types.

    The tuples go to Arrow as one struct array (Arrow reads them field by field in C++, about
    twice as fast as transposing them in Python first); a row of the wrong length is an error.
    """
    return pa.Table.from_struct_array(pa.array(rows, type=_struct(table)))


class DuckDBStore(Store):
    """A store in the DuckDB file ``path`` (``:memory:`` for a throwaway one).

    ``read_only`` opens the file for reading only: any number of processes may then read it
    at once, but none may write it (DuckDB locks the file: a writer holding it makes a reader
    fail with ``StoreBusy``, and readers holding it make a writer fail so)."""

    def __init__(self, path: str, url: str | None = None, *, read_only: bool = False) -> None:
        self.path = path
        self.url = url or f"duckdb://{path}"
        try:
            self._con = duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            text = str(exc)
            if "Could not set lock" not in text:
                raise
            held = re.search(r"Conflicting lock is held in (.+?) \(PID (\d+)\)", text)
            holder = f"{held.group(1)} (PID {held.group(2)})" if held else None
            raise StoreBusy(self.url, holder, text) from None
        self._lock = threading.RLock()

    def _run(self, sql: str, params: list[Any] | None = None) -> None:
        """Execute a statement and drain its result (DuckDB keeps it pending otherwise)."""
        self._con.execute(sql, params).fetchall()

    # --- schema ----------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        with self._lock:
            self._run(migrations.DUCKDB_MIGRATIONS_TABLE)
            done = {v for (v,) in self._con.execute(
                "SELECT version FROM schema_migrations").fetchall()}
            applied: list[int] = []
            for mig in migrations.MIGRATIONS:
                if mig.version in done:
                    continue
                self._run("BEGIN TRANSACTION")
                try:
                    for stmt in mig.duckdb():
                        self._run(stmt)
                    self._run("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                                      [mig.version, mig.name, datetime.now().replace(
                                          microsecond=0)])
                    self._run("COMMIT")
                except BaseException:
                    self._run("ROLLBACK")
                    raise
                applied.append(mig.version)
            return applied

    def schema_version(self) -> int:
        with self._lock:
            exists = self._con.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_name = 'schema_migrations'").fetchall()
            if not exists[0][0]:
                return 0
            row = self._con.execute("SELECT max(version) FROM schema_migrations").fetchall()
            return int(row[0][0]) if row[0][0] is not None else 0

    # --- writes ----------------------------------------------------------------------------
    def _insert(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        name = f"_batch_{table}"
        self._con.register(name, arrow_table(table, rows))
        try:
            self._run(f"INSERT INTO {table} SELECT * FROM {name}")
        finally:
            self._con.unregister(name)

    def _existing(self, uids: Iterable[str]) -> set[str]:
        uid_list = list(uids)
        if not uid_list:
            return set()
        self._con.register("_uids", pa.table({"uid": pa.array(uid_list, type=pa.string())}))
        try:
            found = self._con.execute(
                "SELECT m.measurement_uid FROM measurements m "
                "JOIN _uids u ON m.measurement_uid = u.uid").fetchall()
        finally:
            self._con.unregister("_uids")
        return {uid for (uid,) in found}

    def write_batch(
        self,
        measurements: Sequence[MeasurementRow],
        observations: Sequence[ObservationRow] = (),
        verdicts: Sequence[VerdictRow] = (),
    ) -> int:
        unique, _ = batch_checks(measurements, observations, verdicts)
        return len(unique) - len(self._write(unique, observations, verdicts))

    def write_batch_reporting(
        self,
        measurements: Sequence[MeasurementRow],
        observations: Sequence[ObservationRow] = (),
        verdicts: Sequence[VerdictRow] = (),
    ) -> set[str]:
        """``write_batch`` that returns the uids of the batch that were already stored (and
        so skipped), found by the same look-up: the ingest driver counts duplicates with it."""
        unique, _ = batch_checks(measurements, observations, verdicts)
        return self._write(unique, observations, verdicts)

    def _write(
        self,
        unique: list[MeasurementRow],
        observations: Sequence[ObservationRow],
        verdicts: Sequence[VerdictRow],
    ) -> set[str]:
        """One transaction: the rows of ``unique`` not stored yet; returns the stored uids."""
        if not unique:
            return set()
        with self._lock:
            self._run("BEGIN TRANSACTION")
            try:
                existing = self._existing(m.measurement_uid for m in unique)
                if existing:
                    unique = [m for m in unique if m.measurement_uid not in existing]
                    observations = [o for o in observations
                                    if o.measurement_uid not in existing]
                    verdicts = [v for v in verdicts if v.measurement_uid not in existing]
                self._insert("measurements", unique)
                self._insert("observations", _unique_observations(observations))
                self._insert("verdicts", _unique_verdicts(verdicts))
                self._run("COMMIT")
            except BaseException:
                self._run("ROLLBACK")
                raise
        return existing

    def write_verdicts(self, verdicts: Sequence[VerdictRow]) -> int:
        rows = _unique_verdicts(verdicts)
        if not rows:
            return 0
        with self._lock:
            self._run("BEGIN TRANSACTION")
            try:
                name = "_batch_verdicts"
                self._con.register(name, arrow_table("verdicts", rows))
                try:
                    before = self.count("verdicts")
                    self._run(
                        f"INSERT INTO verdicts SELECT b.* FROM {name} b "
                        "WHERE NOT EXISTS (SELECT 1 FROM verdicts v WHERE "
                        "v.measurement_uid = b.measurement_uid "
                        "AND v.rules_version = b.rules_version)")
                    written = self.count("verdicts") - before
                finally:
                    self._con.unregister(name)
                self._run("COMMIT")
            except BaseException:
                self._run("ROLLBACK")
                raise
        return written

    def update_flags(self, rows: Sequence[FlagUpdate]) -> int:
        """One ``UPDATE … FROM`` joined with the new flags (registered as an Arrow table)."""
        latest = list(latest_flags(rows).values())
        if not latest:
            return 0
        uid, anomaly, confirmed, failure, blocking = zip(*latest, strict=True)
        flags = pa.table({
            "uid": pa.array(uid, type=pa.string()), "anomaly": pa.array(anomaly, pa.bool_()),
            "confirmed": pa.array(confirmed, pa.bool_()),
            "failure": pa.array(failure, pa.bool_()),
            "blocking_type": pa.array(blocking, pa.string())})
        with self._lock:
            self._con.register("_flags", flags)
            try:
                result = self._con.execute(
                    "UPDATE measurements SET anomaly = f.anomaly, confirmed = f.confirmed, "
                    "failure = f.failure, blocking_type = f.blocking_type FROM _flags f "
                    "WHERE measurements.measurement_uid = f.uid").fetchall()
            finally:
                self._con.unregister("_flags")
        return int(result[0][0])

    # --- reads -----------------------------------------------------------------------------
    def iter_uids(self, batch: int = 10_000) -> Iterator[list[str]]:
        check_batch_size(batch)
        after: str | None = None
        while True:
            with self._lock:  # keyset pages: nothing stays pending between two of them
                where, params = ("", []) if after is None else (
                    "WHERE measurement_uid > ? ", [after])
                page = [uid for (uid,) in self._con.execute(
                    f"SELECT measurement_uid FROM measurements {where}"
                    "ORDER BY measurement_uid LIMIT ?", [*params, batch]).fetchall()]
            if page:
                yield page
            if len(page) < batch:
                return
            after = page[-1]

    def has(self, uids: Iterable[str]) -> set[str]:
        with self._lock:
            return self._existing(uids)

    def _select(self, table: str, where: str, params: list[Any], order: str = "") -> list[Any]:
        cols = ", ".join(schema.columns(table))
        sql = f"SELECT {cols} FROM {table} WHERE {where}{order}"
        with self._lock:
            rows = self._con.execute(sql, params).fetchall()
        return [_ROWS[table]._make(r) for r in rows]

    def get_measurement(self, uid: str) -> MeasurementRow | None:
        rows = self._select("measurements", "measurement_uid = ?", [uid])
        return rows[0] if rows else None

    def get_observations(self, uid: str) -> list[ObservationRow]:
        return self._select("observations", "measurement_uid = ?", [uid],
                            " ORDER BY observation_idx")

    def get_verdicts(self, uid: str) -> list[VerdictRow]:
        return self._select("verdicts", "measurement_uid = ?", [uid], " ORDER BY rules_version")

    def count(self, table: str) -> int:
        if table not in schema.TABLES:
            raise ValueError(f"unknown table {table!r}")
        with self._lock:
            row = self._con.execute(f"SELECT count(*) FROM {table}").fetchall()
        return int(row[0][0])

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
        params: list[Any] = []

        def placeholder(value: Any) -> str:
            params.append(value)
            return "?"

        sql, keys = aggregate_sql(
            group_by, table="measurements", time_exprs=_TIME_EXPRS, placeholder=placeholder,
            since=since, until=until, probe_cc=probe_cc, probe_asn=probe_asn,
            test_name=test_name, domain=domain, input=input)
        with self._lock:
            cur = self._con.execute(sql, params)
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        return aggregate_result(names, rows, keys)

    def search_measurements(self, where: SearchFilter, *, order: str = "desc",
                            limit: int = 100, after: Keyset | None = None
                            ) -> list[MeasurementRow]:
        params: list[Any] = []

        def placeholder(value: Any) -> str:
            params.append(value)
            return "?"

        sql = search_sql(schema.columns("measurements"), "measurements", where, order=order,
                         limit=limit, after=after, placeholder=placeholder)
        with self._lock:
            rows = self._con.execute(sql, params).fetchall()
        return [MeasurementRow._make(r) for r in rows]

    # --- detection -------------------------------------------------------------------------
    def _points_sql(self, since: datetime | None, until: datetime | None, cc: str | None
                    ) -> tuple[str, list[Any]]:
        """CTEs ending in ``p``: the window's point rows (unordered), and their values.
        A measurement's latest verdict is the one no verdict of it with a higher
        rules_version supersedes (an anti-join: on 10 M verdicts about twice as fast as
        grouping them by measurement)."""
        where, params = _point_window(since, until, cc)
        mcols = ", ".join(f"m.{c}" for c in MEASUREMENT_COLUMNS)
        sql = (
            f"WITH m AS (SELECT {', '.join(MEASUREMENT_COLUMNS)} FROM measurements "
            f"WHERE {where}), "
            "v AS (SELECT measurement_uid, outcome, layer, mechanism, rules_version "
            "FROM verdicts v1 WHERE NOT EXISTS (SELECT 1 FROM verdicts v2 WHERE "
            "v2.measurement_uid = v1.measurement_uid "
            "AND v2.rules_version > v1.rules_version)), "
            "c AS (SELECT measurement_uid, bool_or(coalesce(tcp_success, false) "
            "OR coalesce(tls_success, false) OR coalesce(http_success, false) "
            "OR (dns_answer IS NOT NULL AND dns_failure IS NULL)) AS control_ok "
            "FROM observations WHERE origin = 'control' GROUP BY measurement_uid), "
            f"p AS (SELECT {mcols}, v.outcome, v.layer, v.mechanism, v.rules_version, "
            "c.control_ok "
            "FROM m JOIN v ON v.measurement_uid = m.measurement_uid "
            "LEFT JOIN c ON c.measurement_uid = m.measurement_uid) ")
        return sql, params

    def iter_point_rows(self, *, since: datetime | None = None, until: datetime | None = None,
                        cc: str | None = None, batch: int = 100_000,
                        fold: FoldSpec | None = None) -> Iterator[list[PointRow]]:
        check_batch_size(batch)
        ctes, params = self._points_sql(since, until, cc)
        cols = ", ".join(PointRow._fields[:-1])
        if fold is None:
            sql = f"{ctes}SELECT {cols}, 1 AS weight FROM p "
        else:
            # the fold of points.fold_rows, in SQL (keep lists as registered Arrow tables)
            clean = ("outcome = 'ok' AND test_name NOT IN (SELECT name FROM _keep_tests) "
                     "AND (domain IS NULL OR domain NOT IN (SELECT name FROM _keep_domains))")
            sql = (f"{ctes}SELECT {cols}, 1 AS weight FROM p WHERE NOT ({clean}) "
                   "UNION ALL SELECT min(measurement_uid), min(measurement_start_time), "
                   "probe_cc, probe_asn, max(probe_network_name), test_name, NULL, NULL, "
                   "'ok', NULL, NULL, max(rules_version), control_ok, count(*) "
                   f"FROM p WHERE {clean} GROUP BY probe_cc, probe_asn, test_name, "
                   "date_trunc('hour', measurement_start_time), control_ok ")
        sql += "ORDER BY measurement_start_time, measurement_uid"
        with self._lock:
            cur = self._con.cursor()  # a connection of its own: the stream stays open
        try:
            if fold is not None:
                for name, values in (("_keep_tests", fold.keep_tests),
                                     ("_keep_domains", fold.keep_domains)):
                    cur.register(name, pa.table(
                        {"name": pa.array(sorted(values), type=pa.string())}))
            for record in cur.sql(sql, params=params).to_arrow_reader(batch):
                columns = [record.column(i).to_pylist() for i in range(record.num_columns)]
                yield [PointRow._make(r) for r in zip(*columns, strict=True)]
        finally:
            cur.close()

    def blocked_keys(self, *, since: datetime | None = None, until: datetime | None = None,
                     cc: str | None = None) -> set[tuple[str, str | None, str | None]]:
        where, params = _point_window(since, until, cc, "m")
        # the blocked verdicts first (few), then whether each is its measurement's latest
        sql = (
            "WITH b AS (SELECT measurement_uid, rules_version FROM verdicts "
            "WHERE outcome IN ('blocked', 'impaired')), "
            "lv AS (SELECT measurement_uid, max(rules_version) AS rules_version FROM verdicts "
            "WHERE measurement_uid IN (SELECT measurement_uid FROM b) "
            "GROUP BY measurement_uid) "
            "SELECT DISTINCT m.test_name, m.input, m.domain FROM b "
            "JOIN lv ON lv.measurement_uid = b.measurement_uid "
            "AND lv.rules_version = b.rules_version "
            "JOIN measurements m ON m.measurement_uid = b.measurement_uid "
            f"WHERE {where}")
        with self._lock:
            rows = self._con.execute(sql, params).fetchall()
        return {(t, i, d) for t, i, d in rows}

    def get_observations_of(self, uids: Sequence[str], origin: str | None = "probe"
                            ) -> dict[str, list[ObservationRow]]:
        out: dict[str, list[ObservationRow]] = {}
        if not uids:
            return out
        cols = ", ".join(f"o.{c}" for c in schema.columns("observations"))
        cond = "" if origin is None else "WHERE o.origin = ? "
        with self._lock:
            self._con.register("_obs_uids", pa.table(
                {"uid": pa.array(list(dict.fromkeys(uids)), type=pa.string())}))
            try:
                rows = self._con.execute(
                    f"SELECT {cols} FROM observations o JOIN _obs_uids u "
                    f"ON o.measurement_uid = u.uid {cond}"
                    "ORDER BY o.measurement_uid, o.observation_idx",
                    [] if origin is None else [origin]).fetchall()
            finally:
                self._con.unregister("_obs_uids")
        for r in rows:
            out.setdefault(r[0], []).append(ObservationRow._make(r))
        return out

    def replace_detections(self, window: DetectionWindow,
                           rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, int]:
        written: dict[str, int] = {}
        with self._lock:
            self._run("BEGIN TRANSACTION")
            try:
                for table in detections.DETECTION_TABLES:
                    where, values = window.conditions(table, lambda _i: "?")
                    self._run(f"DELETE FROM {table}"
                              + (f" WHERE {' AND '.join(where)}" if where else ""), values)
                    new = [r for r in rows.get(table, ()) if detections.in_window(
                        window, table, r)]
                    if new:
                        # an event of the same id outside the window is the same event
                        self._con.executemany(f"DELETE FROM {table} WHERE id = ?",
                                              [[r[0]] for r in new])
                        marks = ", ".join("?" for _ in detections.columns(table))
                        self._con.executemany(f"INSERT INTO {table} VALUES ({marks})",
                                              [list(r) for r in new])
                    written[table] = len(new)
                self._run("COMMIT")
            except BaseException:
                self._run("ROLLBACK")
                raise
        return written

    def read_detections(self, table: str, *, cc: str | None = None,
                        id: str | None = None) -> list[dict[str, Any]]:
        if table not in detections.DETECTION_TABLES:
            raise ValueError(f"unknown detection table {table!r}")
        conds, params = [], []
        for column, value in (("cc", cc), ("id", id)):
            if value is not None:
                conds.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(conds)} " if conds else ""
        with self._lock:
            rows = self._con.execute(
                f"SELECT payload FROM {table} {where}"
                f"ORDER BY {detections.TIME_COLUMN[table]}, id", params).fetchall()
        return [orjson.loads(p) for (p,) in rows]

    def close(self) -> None:
        with self._lock:
            self._con.close()


def _unique_observations(observations: Sequence[ObservationRow]) -> list[ObservationRow]:
    """The rows of a batch without repeats of an (measurement_uid, observation_idx), first
    wins: a measurement that is twice in a batch (the same record in two input files) brings
    its rows twice, and observations have no primary key to refuse them (ClickHouse's
    ReplacingMergeTree collapses them; this keeps DuckDB equal)."""
    seen: set[tuple[str, int]] = set()
    out: list[ObservationRow] = []
    for o in observations:
        key = (o.measurement_uid, o.observation_idx)
        if key not in seen:
            seen.add(key)
            out.append(o)
    return out


def _unique_verdicts(verdicts: Sequence[VerdictRow]) -> list[VerdictRow]:
    seen: set[tuple[str, str]] = set()
    out: list[VerdictRow] = []
    for v in verdicts:
        key = (v.measurement_uid, v.rules_version)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def _point_window(since: datetime | None, until: datetime | None, cc: str | None,
                  table: str = "") -> tuple[str, list[Any]]:
    """The WHERE text (``?`` markers) and values of a point read's window (columns of the
    measurements ``table`` alias when given)."""
    t = f"{table}." if table else ""
    where = [f"{t}measurement_start_time IS NOT NULL"]
    params: list[Any] = []
    for op, value in ((">=", since), ("<", until)):
        if value is not None:
            where.append(f"{t}measurement_start_time {op} ?")
            params.append(naive_utc(value))
    if cc is not None:
        where.append(f"{t}probe_cc = ?")
        params.append(cc)
    return " AND ".join(where), params
