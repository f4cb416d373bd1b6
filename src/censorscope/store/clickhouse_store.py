"""The scale-out engine: ClickHouse over its native protocol (clickhouse-driver).

Tables are ``ReplacingMergeTree`` ordered by the row identity (schema.py) and every read uses
``FINAL``, so a row written twice is counted once. ``write_batch`` first asks which uids are
stored and writes only the others, observations and verdicts before the measurements row: the
measurements row is the commit mark that ``has()`` reads, so a crash mid-batch leaves no
visible measurement and the retry rewrites the same rows (which collapse).

Cluster layout (``clickhouse+cluster://…?cluster=NAME``): each shard has ``<table>_local``; a
``Distributed`` table ``<table>`` on every shard fans out, sharded by ``cityHash64(uid)`` so all
rows of one measurement, and any duplicates, live on the same shard (``FINAL`` is per shard).
Migrations run on every host of the cluster (read from ``system.clusters``); no ZooKeeper.

``update_flags`` has no UPDATE to use (18.16 has no mutations worth the name): it re-inserts the
newest measurements row (read with ``FINAL``) with the new flags, and ``ReplacingMergeTree``
keeps the row inserted last for the key, so ``FINAL`` reads see the new flags at once and merges
drop the old row later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any, Final

import orjson
from clickhouse_driver import Client

from censorscope.model.rows import MeasurementRow, ObservationRow, VerdictRow

from . import detections, migrations, schema
from .aggregate import aggregate_sql
from .base import (
    FlagUpdate,
    Store,
    aggregate_result,
    batch_checks,
    check_batch_size,
    latest_flags,
)
from .detections import DetectionWindow, naive_utc
from .points import MEASUREMENT_COLUMNS, FoldSpec, PointRow, fold_rows, rebatch
from .search import Keyset, SearchFilter, search_sql

_ROWS: dict[str, Any] = {"measurements": MeasurementRow, "observations": ObservationRow,
                         "verdicts": VerdictRow}
_UID_CHUNK = 5000
# the MAT's time buckets of measurement_start_time, in SQL that 18.16 and current releases
# both run (toStartOfWeek is younger: a week starting on Sunday is the Monday of the next day,
# less one day)
_TIME_EXPRS: Final = {
    "hour": "toStartOfHour(measurement_start_time)",
    "day": "toDate(measurement_start_time)",
    "week": "toMonday(toDate(measurement_start_time) + 1) - 1",
    "month": "toStartOfMonth(measurement_start_time)",
    "year": "toStartOfYear(measurement_start_time)",
}


def _to_python(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "bool":
        return bool(value)
    if kind == "datetime" and isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _to_column(kind: str, values: Sequence[Any]) -> list[Any]:
    if kind == "bool":
        return [None if v is None else int(v) for v in values]
    if kind == "list":
        return [v or [] for v in values]
    return list(values)


class ClickHouseStore(Store):
    """A store in ClickHouse database ``database`` at ``host:port`` (optionally a cluster)."""

    def __init__(self, host: str, port: int, database: str, *, cluster: str | None = None,
                 user: str = "default", password: str = "", url: str | None = None,
                 connect: Callable[[str, int], Any] | None = None) -> None:
        """``connect(host, port)`` makes a client (default: clickhouse-driver's native
        ``Client``); anything with its ``execute``, ``execute_iter`` and ``disconnect`` will
        do — the tests run every statement of this store on an in-process current ClickHouse
        (chDB) that way."""
        if cluster is not None and not cluster.replace("_", "").isalnum():
            raise ValueError(f"bad ClickHouse cluster name {cluster!r}")
        self.host, self.port, self.database, self.cluster = host, port, database, cluster
        self._user, self._password = user, password
        self.url = url or f"clickhouse://{host}:{port}/{database}"
        self._connector = connect
        self._client = self._connect(host, port)
        self._lock = threading.RLock()
        self._settings = {"insert_distributed_sync": 1} if cluster else {}

    def _connect(self, host: str, port: int) -> Any:
        if self._connector is not None:
            return self._connector(host, port)
        return Client(host=host, port=port, user=self._user, password=self._password,
                      connect_timeout=5, send_receive_timeout=300)

    def _execute(self, sql: str, params: Any = None, **kwargs: Any) -> Any:
        with self._lock:
            return self._client.execute(sql, params, **kwargs)

    # --- schema ----------------------------------------------------------------------------
    def _hosts(self) -> list[tuple[str, int]]:
        if self.cluster is None:
            return [(self.host, self.port)]
        rows = self._execute(
            "SELECT host_address, port FROM system.clusters WHERE cluster = %(c)s "
            "ORDER BY shard_num, replica_num", {"c": self.cluster})
        if not rows:
            raise ValueError(f"cluster {self.cluster!r} is not in the server's remote_servers")
        return [(str(h), int(p)) for h, p in rows]

    def migrate(self) -> list[int]:
        ctx = migrations.ClickHouseContext(self.database, self.cluster)
        applied: set[int] = set()
        for host, port in self._hosts():
            client = self._connect(host, port)
            try:
                client.execute(f"CREATE DATABASE IF NOT EXISTS {self.database}")
                client.execute(migrations.clickhouse_migrations_table(self.database))
                done = {v for (v,) in client.execute(
                    f"SELECT version FROM {self.database}.schema_migrations FINAL")}
                for mig in migrations.MIGRATIONS:
                    if mig.version in done:
                        continue
                    for stmt in mig.clickhouse(ctx):
                        client.execute(stmt)
                    client.execute(
                        f"INSERT INTO {self.database}.schema_migrations "
                        "(version, name, applied_at) VALUES",
                        [(mig.version, mig.name, datetime.now(UTC).replace(microsecond=0))])
                    applied.add(mig.version)
            finally:
                client.disconnect()
        return sorted(applied)

    def schema_version(self) -> int:
        exists = self._execute(
            "SELECT count() FROM system.tables WHERE database = %(d)s "
            "AND name = 'schema_migrations'", {"d": self.database})
        if not exists[0][0]:
            return 0
        row = self._execute(f"SELECT max(version) FROM {self.database}.schema_migrations")
        return int(row[0][0]) if row else 0

    # --- writes ----------------------------------------------------------------------------
    def _insert(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        cols = schema.columns(table)
        data = [_to_column(kind, col) for (kind, _), col in
                zip(schema.kinds(table), zip(*rows, strict=True), strict=True)]
        self._execute(f"INSERT INTO {self.database}.{table} ({', '.join(cols)}) VALUES",
                      data, columnar=True, settings=self._settings)

    def write_batch(
        self,
        measurements: Sequence[MeasurementRow],
        observations: Sequence[ObservationRow] = (),
        verdicts: Sequence[VerdictRow] = (),
    ) -> int:
        unique, _ = batch_checks(measurements, observations, verdicts)
        if not unique:
            return 0
        with self._lock:
            existing = self.has(m.measurement_uid for m in unique)
            if existing:
                unique = [m for m in unique if m.measurement_uid not in existing]
                observations = [o for o in observations if o.measurement_uid not in existing]
                verdicts = [v for v in verdicts if v.measurement_uid not in existing]
            self._insert("observations", observations)
            self._insert("verdicts", verdicts)
            self._insert("measurements", unique)
        return len(unique)

    def write_verdicts(self, verdicts: Sequence[VerdictRow]) -> int:
        if not verdicts:
            return 0
        with self._lock:
            uids = sorted({v.measurement_uid for v in verdicts})
            stored: set[tuple[str, str]] = set()
            for i in range(0, len(uids), _UID_CHUNK):
                chunk = tuple(uids[i:i + _UID_CHUNK])
                stored.update(
                    (u, rv) for u, rv in self._execute(
                        f"SELECT measurement_uid, rules_version FROM {self.database}.verdicts "
                        "FINAL WHERE measurement_uid IN %(u)s", {"u": chunk}))
            fresh: list[VerdictRow] = []
            for v in verdicts:
                key = (v.measurement_uid, v.rules_version)
                if key not in stored:
                    stored.add(key)
                    fresh.append(v)
            self._insert("verdicts", fresh)
        return len(fresh)

    def update_flags(self, rows: Sequence[FlagUpdate]) -> int:
        latest = latest_flags(rows)
        uids = sorted(latest)
        updated = 0
        with self._lock:
            for i in range(0, len(uids), _UID_CHUNK):
                stored = self._select_where(
                    "measurements", "measurement_uid IN %(u)s",
                    {"u": tuple(uids[i:i + _UID_CHUNK])}, "measurement_uid")
                new = []
                for row in stored:
                    _, anomaly, confirmed, failure, blocking = latest[row.measurement_uid]
                    new.append(row._replace(anomaly=anomaly, confirmed=confirmed,
                                            failure=failure, blocking_type=blocking))
                self._insert("measurements", new)
                updated += len(new)
        return updated

    # --- reads -----------------------------------------------------------------------------
    def iter_uids(self, batch: int = 10_000) -> Iterator[list[str]]:
        check_batch_size(batch)
        after: str | None = None
        while True:  # keyset pages: one bounded query each, nothing held between them
            where, params = ("", {}) if after is None else (
                "WHERE measurement_uid > %(after)s ", {"after": after})
            page = [uid for (uid,) in self._execute(
                f"SELECT DISTINCT measurement_uid FROM {self.database}.measurements {where}"
                f"ORDER BY measurement_uid LIMIT {int(batch)}", params)]
            if page:
                yield page
            if len(page) < batch:
                return
            after = page[-1]

    def has(self, uids: Iterable[str]) -> set[str]:
        uid_list = list(dict.fromkeys(uids))
        found: set[str] = set()
        for i in range(0, len(uid_list), _UID_CHUNK):
            chunk = tuple(uid_list[i:i + _UID_CHUNK])
            rows = self._execute(
                f"SELECT DISTINCT measurement_uid FROM {self.database}.measurements "
                "WHERE measurement_uid IN %(u)s", {"u": chunk})
            found.update(uid for (uid,) in rows)
        return found

    def _select(self, table: str, uid: str, order: str) -> list[Any]:
        return self._select_where(table, "measurement_uid = %(u)s", {"u": uid}, order)

    def _select_where(self, table: str, where: str, params: dict[str, Any],
                      order: str) -> list[Any]:
        cols = schema.columns(table)
        kinds = [k for k, _ in schema.kinds(table)]
        rows = self._execute(
            f"SELECT {', '.join(cols)} FROM {self.database}.{table} FINAL "
            f"WHERE {where} ORDER BY {order}", params)
        return [_ROWS[table]._make(_to_python(k, v) for k, v in zip(kinds, r, strict=True))
                for r in rows]

    def get_measurement(self, uid: str) -> MeasurementRow | None:
        rows = self._select("measurements", uid, "measurement_uid")
        return rows[0] if rows else None

    def get_observations(self, uid: str) -> list[ObservationRow]:
        return self._select("observations", uid, "observation_idx")

    def get_verdicts(self, uid: str) -> list[VerdictRow]:
        return self._select("verdicts", uid, "rules_version")

    def count(self, table: str) -> int:
        if table not in schema.TABLES:
            raise ValueError(f"unknown table {table!r}")
        rows = self._execute(f"SELECT count() FROM {self.database}.{table} FINAL")
        return int(rows[0][0])

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
        params: dict[str, Any] = {}

        def placeholder(value: Any) -> str:
            name = f"p{len(params)}"
            params[name] = value
            return f"%({name})s"

        sql, keys = aggregate_sql(
            group_by, table=f"{self.database}.measurements FINAL", time_exprs=_TIME_EXPRS,
            placeholder=placeholder, since=since, until=until, probe_cc=probe_cc,
            probe_asn=probe_asn, test_name=test_name, domain=domain, input=input)
        rows, types = self._execute(sql, params, with_column_types=True)
        return aggregate_result([n for n, _ in types], rows, keys)

    def search_measurements(self, where: SearchFilter, *, order: str = "desc",
                            limit: int = 100, after: Keyset | None = None
                            ) -> list[MeasurementRow]:
        params: dict[str, Any] = {}

        def placeholder(value: Any) -> str:
            name = f"p{len(params)}"
            params[name] = value
            return f"%({name})s"

        cols = schema.columns("measurements")
        kinds = [k for k, _ in schema.kinds("measurements")]
        sql = search_sql(cols, f"{self.database}.measurements FINAL", where, order=order,
                         limit=limit, after=after, placeholder=placeholder)
        rows = self._execute(sql, params)
        return [MeasurementRow._make(_to_python(k, v) for k, v in zip(kinds, r, strict=True))
                for r in rows]

    # --- detection -------------------------------------------------------------------------
    def iter_point_rows(self, *, since: datetime | None = None, until: datetime | None = None,
                        cc: str | None = None, batch: int = 100_000,
                        fold: FoldSpec | None = None) -> Iterator[list[PointRow]]:
        check_batch_size(batch)
        stream = self._point_rows(since, until, cc, batch)
        if fold is None:
            yield from stream
        else:
            yield from rebatch(fold_rows((r for rows in stream for r in rows), fold), batch)

    def _point_rows(self, since: datetime | None, until: datetime | None, cc: str | None,
                    batch: int) -> Iterator[list[PointRow]]:
        db = self.database
        where = ["isNotNull(measurement_start_time)"]
        params: dict[str, Any] = {}
        for name, op, value in (("since", ">=", since), ("until", "<", until)):
            if value is not None:
                where.append(f"measurement_start_time {op} %({name})s")
                params[name] = naive_utc(value)
        if cc is not None:
            where.append("probe_cc = %(cc)s")
            params["cc"] = cc
        mcols = ", ".join(MEASUREMENT_COLUMNS)
        # joins by measurement_uid: on a cluster every row of a measurement is on one shard,
        # so each shard joins its own rows (distributed_product_mode = local). Every joined
        # subquery has an alias: current releases refuse one without
        # (joined_subquery_requires_alias), 18.16 takes both.
        sql = (
            f"SELECT {mcols}, outcome, layer, mechanism, rules_version, has_control, "
            "control_ok FROM ("
            f" SELECT {mcols}, outcome, layer, mechanism, rules_version FROM ("
            f"  SELECT {mcols} FROM {db}.measurements FINAL WHERE {' AND '.join(where)}"
            "  ) AS m ALL INNER JOIN ("
            "   SELECT measurement_uid, rules_version, outcome, layer, mechanism"
            f"   FROM {db}.verdicts FINAL WHERE (measurement_uid, rules_version) IN ("
            "    SELECT measurement_uid, max(rules_version)"
            f"    FROM {db}.verdicts FINAL GROUP BY measurement_uid)"
            "  ) AS v USING measurement_uid"
            ") AS mv ANY LEFT JOIN ("
            " SELECT measurement_uid, toUInt8(1) AS has_control,"
            "  max(ifNull(tcp_success, 0) OR ifNull(tls_success, 0) OR ifNull(http_success, 0)"
            "   OR (isNotNull(dns_answer) AND isNull(dns_failure))) AS control_ok"
            f" FROM {db}.observations FINAL WHERE origin = 'control' GROUP BY measurement_uid"
            ") AS c USING measurement_uid "
            "ORDER BY measurement_start_time, measurement_uid")
        settings: dict[str, Any] = {"max_block_size": batch}
        if self.cluster is not None:
            settings["distributed_product_mode"] = "local"
        client = self._connect(self.host, self.port)  # the stream has a connection of its own
        try:
            out: list[PointRow] = []
            for r in client.execute_iter(sql, params, settings=settings):
                out.append(PointRow(
                    r[0], _to_python("datetime", r[1]), r[2], r[3], r[4], r[5], r[6], r[7],
                    r[8], r[9], r[10], r[11], bool(r[13]) if r[12] else None))
                if len(out) >= batch:
                    yield out
                    out = []
            if out:
                yield out
        finally:
            client.disconnect()

    def get_observations_of(self, uids: Sequence[str], origin: str | None = "probe"
                            ) -> dict[str, list[ObservationRow]]:
        out: dict[str, list[ObservationRow]] = {}
        uid_list = list(dict.fromkeys(uids))
        cond = "" if origin is None else " AND origin = %(o)s"
        for i in range(0, len(uid_list), _UID_CHUNK):
            for row in self._select_where(
                    "observations", f"measurement_uid IN %(u)s{cond}",
                    {"u": tuple(uid_list[i:i + _UID_CHUNK]), "o": origin},
                    "measurement_uid, observation_idx"):
                out.setdefault(row.measurement_uid, []).append(row)
        return out

    def _live(self, table: str, cols: str, window: DetectionWindow | None,
              cc: str | None = None, id_: str | None = None) -> tuple[str, dict[str, Any]]:
        """SQL over the newest version of every id of ``table`` that is not a tombstone
        (``t_``: its time, ``cc_`` its country), restricted to ``window``, ``cc`` or one
        ``id_``."""
        tcol = detections.TIME_COLUMN[table]
        params: dict[str, Any] = {}
        where = ["d_ = 0"]
        inner = ""
        if id_ is not None:
            inner = "WHERE id = %(id)s "
            params["id"] = id_
        if window is not None:
            conds, values = window.conditions(table, lambda i: f"%(w{i})s",
                                              time_column="t_", cc_column="cc_")
            where += conds
            params.update({f"w{i}": v for i, v in enumerate(values)})
        if cc is not None:
            where.append("cc_ = %(cc)s")
            params["cc"] = cc
        sql = (f"SELECT {cols} FROM (SELECT id, argMax(deleted, version) AS d_, "
               f"argMax({tcol}, version) AS t_, argMax(cc, version) AS cc_, "
               f"argMax(payload, version) AS p_ FROM {self.database}.{table} {inner}"
               "GROUP BY id) "
               f"WHERE {' AND '.join(where)}")
        return sql, params

    def replace_detections(self, window: DetectionWindow,
                           rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, int]:
        written: dict[str, int] = {}
        version = time.time_ns()
        with self._lock:
            for table in detections.DETECTION_TABLES:
                new = [r for r in rows.get(table, ()) if detections.in_window(window, table, r)]
                sql, params = self._live(table, "id", window)
                stale = {i for (i,) in self._execute(sql, params)} - {r[0] for r in new}
                cols = detections.columns(table)
                tomb = [_tombstone(table, i) for i in sorted(stale)]
                data = [(*r, version, 0) for r in new] + [(*t, version, 1) for t in tomb]
                if data:
                    self._execute(
                        f"INSERT INTO {self.database}.{table} "
                        f"({', '.join(cols)}, version, deleted) VALUES",
                        [list(c) for c in zip(*data, strict=True)], columnar=True,
                        settings=self._settings)
                written[table] = len(new)
        return written

    def read_detections(self, table: str, *, cc: str | None = None,
                        id: str | None = None) -> list[dict[str, Any]]:
        if table not in detections.DETECTION_TABLES:
            raise ValueError(f"unknown detection table {table!r}")
        sql, params = self._live(table, "p_", None, cc, id)
        rows = self._execute(sql + " ORDER BY t_, id", params)
        return [orjson.loads(p) for (p,) in rows]

    def close(self) -> None:
        with self._lock:
            self._client.disconnect()


_EPOCH = datetime(1970, 1, 1)


def _tombstone(table: str, id_: str) -> tuple[Any, ...]:
    """A row of ``table`` with id ``id_`` and neutral values (its ``deleted`` flag is what
    counts)."""
    neutral = {"str": "", "int": 0, "datetime": _EPOCH}
    return tuple(id_ if name == "id" else (None if null else neutral[kind])
                 for name, kind, null in detections.spec(table))
