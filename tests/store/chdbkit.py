"""A current ClickHouse engine in process: chDB (``pip install chdb``) behind the client
interface ``ClickHouseStore`` uses (clickhouse-driver's ``execute`` / ``execute_iter`` /
``disconnect``), so the store's own SQL — migrations, inserts, MAT, search, point reads,
detection tables — runs unchanged on a current release while the suite's servers are
Debian's 18.16.

What the native driver does on the client, this does the same way: ``%(name)s`` parameters
are substituted with clickhouse-driver's own escaping (``escape_params``, server time zone
UTC); an ``INSERT … VALUES`` with columnar data (which the driver sends as Native blocks) is
sent as SQL text, each value a literal written by the same escaping. Results are read as
``JSONCompact`` and turned into the Python values the driver gives for each column type
(``DateTime('UTC')`` → aware UTC datetimes, ``Date`` → dates, ``Nullable`` → None,
``Array`` → lists, integers as ints). Per-query settings (cluster inserts, block sizes) are
not used: chDB is one node.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
from chdb import session as chdb_session
from clickhouse_driver.util.escape import escape_param, escape_params

from censorscope.store.clickhouse_store import ClickHouseStore

__all__ = ["ChdbClient", "chdb_store"]

_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+\S+\s*\([^)]*\)\s*VALUES\s*$", re.IGNORECASE)
_OUTPUT = ("SETTINGS output_format_json_quote_64bit_integers = 0, "
           "output_format_json_quote_denormals = 1, output_format_json_named_tuples_as_objects"
           " = 0")


class _ServerInfo:
    @staticmethod
    def get_timezone() -> str:
        return "UTC"


class _Context:
    server_info = _ServerInfo()


_CONTEXT = _Context()


def _inner(type_: str, wrapper: str) -> str | None:
    prefix = f"{wrapper}("
    return type_[len(prefix):-1] if type_.startswith(prefix) and type_.endswith(")") else None


def convert(type_: str, value: Any) -> Any:
    """A JSONCompact value of ClickHouse type ``type_`` as clickhouse-driver returns it."""
    for wrapper in ("Nullable", "LowCardinality"):
        inner = _inner(type_, wrapper)
        if inner is not None:
            return None if value is None else convert(inner, value)
    if value is None:
        return None
    inner = _inner(type_, "Array")
    if inner is not None:
        return [convert(inner, v) for v in value]
    if type_.startswith("DateTime64"):
        raise TypeError(f"unexpected column type {type_}")
    if type_.startswith("DateTime"):
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    if type_ in ("Date", "Date32"):
        return date.fromisoformat(value)
    if type_.startswith(("Int", "UInt")):
        return int(value)
    if type_.startswith("Float"):
        return float(value)
    if type_ == "String" or type_.startswith("FixedString"):
        return value
    if type_ == "Bool":
        return bool(value)
    raise TypeError(f"no conversion for column type {type_}")


def _literal(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return str(escape_param(value, _CONTEXT))


class ChdbClient:
    """One chDB session seen through clickhouse-driver's ``Client`` methods."""

    def __init__(self, session: Any, lock: threading.Lock) -> None:
        self._session, self._lock = session, lock
        self.statements: list[str] = []

    def _run(self, sql: str, fmt: str = "JSONCompact") -> Any:
        self.statements.append(sql)
        with self._lock:
            return self._session.query(sql, fmt)

    def execute(self, query: str, params: Any = None, *, with_column_types: bool = False,
                columnar: bool = False, settings: dict[str, Any] | None = None,
                **_: Any) -> Any:
        if _INSERT.match(query):
            rows: Sequence[Sequence[Any]] = (list(zip(*params, strict=True)) if columnar
                                             else params)
            if rows:
                values = ", ".join("(" + ", ".join(_literal(v) for v in row) + ")"
                                   for row in rows)
                self._run(f"{query.strip()} {values}", "CSV")
            return len(rows)
        sql = query if params is None else query % escape_params(params, _CONTEXT)
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            self._run(sql, "CSV")
            return []
        result = self._run(f"{sql} {_OUTPUT}")
        text = result.bytes() if hasattr(result, "bytes") else bytes(result)
        if not text.strip():
            return ([], []) if with_column_types else []
        body = orjson.loads(text)
        types = [(c["name"], c["type"]) for c in body["meta"]]
        out = [tuple(convert(t, v) for (_, t), v in zip(types, row, strict=True))
               for row in body["data"]]
        return (out, types) if with_column_types else out

    def execute_iter(self, query: str, params: Any = None, **kw: Any) -> Iterator[Any]:
        yield from self.execute(query, params, **kw)

    def disconnect(self) -> None:
        """The session outlives its clients (the store opens several)."""


def chdb_store(path: Path, database: str = "censorscope") -> tuple[ClickHouseStore, Any]:
    """A migrated ``ClickHouseStore`` whose every statement runs on a chDB session kept in
    ``path``; returns the store and the session (close it after the store)."""
    session = chdb_session.Session(str(path))
    lock = threading.Lock()
    clients: list[ChdbClient] = []

    def connect(_host: str, _port: int) -> ChdbClient:
        client = ChdbClient(session, lock)
        clients.append(client)
        return client

    store = ClickHouseStore("chdb", 0, database, url=f"chdb://{path}/{database}",
                            connect=connect)
    store.chdb_clients = clients  # type: ignore[attr-defined]
    store.migrate()
    return store, session
