"""Store connections for requests: a small pool of read-only stores, opened on demand.

Each request takes a store of its own (FastAPI runs the endpoints in threads, and a store
serialises its queries), gives it back afterwards, and a store that failed is closed rather
than given back. Idle stores are closed after ``linger`` seconds (None: kept).

DuckDB: stores are opened read-only, so any number of API workers (processes) read the file
at once. A DuckDB file has one writer *or* readers: while an ingest, collector or detect run
holds it, opening fails and the request is answered 503 (``StoreBusy``, with the holder's name
and Retry-After); while the API holds a connection, such a writer cannot open the file. With a
``linger`` the API lets go of the file that long after its last request, so writers can take
turns with it; on a store that is written all the time, use ClickHouse.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from censorscope.store.base import Store, StoreBusy

from .errors import StoreUnavailable

__all__ = ["StorePool"]


def _engine_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from a store engine's driver (DuckDB, clickhouse-driver), or
    from the network under it, rather than from the API's own code."""
    module = type(exc).__module__ or ""
    return module.split(".")[0] in ("duckdb", "_duckdb", "clickhouse_driver") or isinstance(
        exc, (ConnectionError, TimeoutError))


class StorePool:
    """Stores made by ``opener``; at most ``max_idle`` kept idle, each for ``linger`` s."""

    def __init__(self, opener: Callable[[], Store], *, linger: float | None,
                 max_idle: int = 16) -> None:
        self._opener, self._linger, self._max_idle = opener, linger, max_idle
        self._idle: list[tuple[Store, float]] = []  # (store, when it was given back)
        self._lock = threading.Lock()
        self._closed = False
        self._reaper: threading.Thread | None = None
        if linger is not None and linger > 0:
            self._wake = threading.Event()
            self._reaper = threading.Thread(target=self._reap, name="api-store-reaper",
                                            daemon=True)
            self._reaper.start()

    def _open(self) -> Store:
        try:
            return self._opener()
        except StoreBusy:
            raise
        except Exception as exc:
            raise StoreUnavailable(f"cannot open the store: {exc}") from exc

    @contextmanager
    def store(self) -> Iterator[Store]:
        """A store for one request."""
        with self._lock:
            store = self._idle.pop()[0] if self._idle else None
        if store is None:
            store = self._open()
        ok = False
        try:
            yield store
            ok = True
        except Exception as exc:
            if _engine_error(exc):
                raise StoreUnavailable(f"the store failed: {exc}") from exc
            raise
        finally:
            self._give_back(store, ok)

    def _give_back(self, store: Store, ok: bool) -> None:
        keep = ok and self._linger != 0
        if keep:
            with self._lock:
                keep = not self._closed and len(self._idle) < self._max_idle
                if keep:
                    self._idle.append((store, time.monotonic()))
        if not keep:
            store.close()

    def _reap(self) -> None:
        assert self._linger is not None
        while not self._wake.wait(min(self._linger / 2, 1.0)):
            cutoff = time.monotonic() - self._linger
            with self._lock:
                old = [s for s, t in self._idle if t < cutoff]
                self._idle = [(s, t) for s, t in self._idle if t >= cutoff]
            for store in old:
                store.close()

    def idle(self) -> int:
        """Stores open and idle now."""
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        """Close the idle stores; stores in use are closed when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        if self._reaper is not None:
            self._wake.set()
            self._reaper.join(timeout=5)
        for store, _ in idle:
            store.close()
