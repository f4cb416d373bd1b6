"""The store sink: spooled records → store rows → ``Store.write_batch`` (idempotent by uid).

Rows are made by the same conversion as ``censorscope ingest`` (``censorscope.ingest.rows_of``),
so a measurement received by the collector and the same one imported from a can give the same
rows (cans carry the uid, so re-importing them adds nothing).
The raw body stays in the collector's archive: given the archive's directory, each row says so
(``archive_file = "archive:<dir>"``, ``censorscope.archive.raw``), and the API, the report and
``verify`` read the body back by its uid (from its sealed can through the index, or the spool).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from censorscope.archive.raw import archive_location
from censorscope.archive.records import SpoolRecord
from censorscope.store import open_store
from censorscope.store.base import Store

__all__ = ["StoreSink", "open_sink", "open_store_url"]

LOG = logging.getLogger("censorscope.collector.sink")
RowsFn = Callable[[dict[str, Any], str], tuple[list[Any], list[Any], list[Any]]]


def _rows_function() -> RowsFn:
    """The measurement → rows conversion of ``ingest`` (``censorscope.ingest.rows_of``), with the
    collector's uid (``rows_of`` takes the uid a measurement carries)."""

    from censorscope.ingest import rows_of

    def rows(msm: dict[str, Any], uid: str) -> tuple[list[Any], list[Any], list[Any]]:
        row, observations, verdicts = rows_of({**msm, "measurement_uid": uid})
        return [row], observations, verdicts

    return rows


def open_store_url(url: str) -> Store:
    """The migrated store at ``url``: any URL ``censorscope.store.open_store`` accepts
    (``duckdb:///path``, a bare path, ``clickhouse://…``, ``clickhouse+cluster://…``)."""

    return open_store(url)


class StoreSink:
    """Writes spooled records into a store, one ``write_batch`` per feeder batch."""

    def __init__(self, store: Store, rows: RowsFn | None = None,
                 archive: Path | None = None) -> None:
        self.store = store
        self.rows = rows or _rows_function()
        self.location = archive_location(archive) if archive is not None else None
        self.skipped = 0

    def write(self, records: list[SpoolRecord]) -> None:
        measurements: list[Any] = []
        observations: list[Any] = []
        verdicts: list[Any] = []
        for record in records:
            try:
                msm = orjson.loads(record.body)
                m, o, v = self.rows(msm, record.uid)
            except Exception as exc:  # a body the pipeline cannot read stays in the archive
                LOG.warning("%s: cannot make store rows (%s); kept in the archive only",
                            record.uid, exc)
                self.skipped += 1
                continue
            if self.location is not None:
                m = [r._replace(archive_file=self.location) for r in m]
            measurements.extend(m)
            observations.extend(o)
            verdicts.extend(v)
        if measurements:
            self.store.write_batch(measurements, observations, verdicts)

    def close(self) -> None:
        self.store.close()


def open_sink(url: str, archive: Path | None = None) -> StoreSink:
    """The sink for ``--store URL`` of the collector whose archive is ``archive`` (the rows
    then point at it for their raw bodies)."""

    return StoreSink(open_store_url(url), archive=archive)
