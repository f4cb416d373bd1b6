"""The measurement store: one interface (``base.Store``), two engines.

``open_store(url)`` picks the engine from the URL:

- ``duckdb:///abs/path/file.duckdb``, ``duckdb:relative.duckdb``, ``duckdb:///:memory:``, or a
  plain file path — the embedded default;
- ``clickhouse://host:9000/db`` — one ClickHouse server (native protocol);
- ``clickhouse+cluster://host:9000/db?cluster=NAME`` — sharded tables behind Distributed ones.

``user``/``password`` may be given in the URL for ClickHouse. The default URL is
``$CENSORSCOPE_STORE`` or ``duckdb:censorscope.duckdb`` (in the current directory).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from .base import Store

__all__ = ["DEFAULT_URL", "default_url", "display_url", "open_store"]

DEFAULT_URL = "duckdb:censorscope.duckdb"


def default_url() -> str:
    return os.environ.get("CENSORSCOPE_STORE") or DEFAULT_URL


def display_url(url: str) -> str:
    """``url`` without its password (``clickhouse://user:secret@host`` → ``clickhouse://user@host``):
    what a store calls itself (``store.url``) in messages, reports and cost traces."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))


def open_store(url: str | None = None, *, migrate: bool = True,
               read_only: bool = False) -> Store:
    """Open the store at ``url`` (default: ``default_url()``), migrated unless told not to.

    ``read_only`` (readers such as the API) never migrates; a DuckDB file is then opened
    read-only, so several reader processes can share it (and no writer can open it meanwhile).
    """
    url = url or default_url()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    store: Store
    if scheme in ("", "duckdb") or (len(scheme) == 1 and os.name == "nt"):
        from .duckdb_store import DuckDBStore

        if scheme == "duckdb":
            path = unquote(url.split(":", 1)[1])
            if path.startswith("//"):
                path = path[2:]  # duckdb:///abs → /abs ; duckdb:///:memory: → /:memory:
            if path == "/:memory:":
                path = ":memory:"
        else:
            path = url
        if not path:
            raise ValueError(f"no DuckDB file in store URL {url!r}")
        store = DuckDBStore(path, url=url, read_only=read_only)
    elif scheme in ("clickhouse", "clickhouse+cluster"):
        from .clickhouse_store import ClickHouseStore

        query = parse_qs(parts.query)
        cluster = query.get("cluster", [None])[0]
        if scheme == "clickhouse+cluster" and not cluster:
            raise ValueError(f"{url!r}: clickhouse+cluster needs ?cluster=NAME")
        database = parts.path.strip("/") or "censorscope"
        if not database.replace("_", "").isalnum():
            raise ValueError(f"bad ClickHouse database name {database!r}")
        store = ClickHouseStore(
            parts.hostname or "127.0.0.1", parts.port or 9000, database,
            cluster=cluster if scheme == "clickhouse+cluster" else None,
            user=unquote(parts.username or "default"), password=unquote(parts.password or ""),
            url=display_url(url))
    else:
        raise ValueError(f"unknown store URL scheme in {url!r} (duckdb:, clickhouse:, "
                         "clickhouse+cluster:)")
    if migrate and not read_only:
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
    return store
