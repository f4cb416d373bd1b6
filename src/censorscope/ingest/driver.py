"""The ingest driver: files → records → measurement + observation (+ verdict) rows → store.

Streaming with bounded memory (``censorscope.ingest.stream``): with verdicts, pass 1 decodes
every record once, builds its rows and learns the cross-measurement facts, spilling the rows
to a temporary file; pass 2 scores them with the facts of the whole input (so a verdict does
not depend on the order of the input) and the rows are written in
batches (``batch_size`` measurements, ``batch_bytes`` of raw JSON or ``MAX_BATCH_OBSERVATIONS``
observation rows, whichever comes first). Large batches are cheaper: DuckDB writes a
transaction that appends at least a row group (122,880 rows) straight to the database file
instead of through its write-ahead log.
A record that fails (malformed JSON, not a measurement, a row that cannot be built) is
reported with its ``file:line`` and skipped; the rest goes in. A measurement's rows are built
completely before they join a batch, and a batch is written atomically, so there are never
partial rows. Re-ingesting adds nothing (the store is idempotent by measurement_uid).
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from censorscope.pipeline.analyze import AnalysisContext
from censorscope.pipeline.observe import (
    MeasurementRow,
    ObservationRow,
    VerdictRow,
    measurement_row,
    observe,
    with_verdict,
)
from censorscope.store.base import Store

from .readers import RawRecord
from .stream import ContextSettings, Listener, stream
from .uid import measurement_uid

__all__ = ["Analyzer", "FileReport", "IngestReport", "ingest", "rows_of"]

# measurement dict, its rows → a verdict (``pipeline.analyze.ingest_analyzer``) or None
Analyzer = Callable[[dict[str, Any], MeasurementRow, list[ObservationRow]], VerdictRow | None]

MAX_LISTED_ERRORS = 50
MAX_LISTED_SKIPS = 3
# the rows of a batch are what ingest keeps in memory (~2–3 KB per observation row with
# their Arrow copy and DuckDB's buffers): 32,768 rows keep ingest's peak RSS near 250 MiB
# whatever the input size (bench/ingest.py), at the price of transactions below DuckDB's
# row group (122,880 rows), which go through its write-ahead log
MAX_BATCH_OBSERVATIONS = 32_768


@dataclass
class FileReport:
    """What happened to one file."""

    path: str
    records: int = 0
    ingested: int = 0
    duplicates: int = 0
    skipped: int = 0
    errors: int = 0
    unsupported: str | None = None
    problems: list[str] = field(default_factory=list)

    def problem(self, where: str, message: str, *, error: bool) -> None:
        if error:
            self.errors += 1
            listed = self.errors <= MAX_LISTED_ERRORS
        else:
            self.skipped += 1
            listed = self.skipped <= MAX_LISTED_SKIPS
        if listed:
            self.problems.append(f"{where}: {message}" if error else
                                 f"{where}: skipped: {message}")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class IngestReport:
    """Totals over every file, and the per-file reports."""

    files: list[FileReport] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0

    def total(self, name: str) -> int:
        return sum(int(getattr(f, name)) for f in self.files)

    @property
    def ok(self) -> bool:
        return self.total("errors") == 0

    def as_dict(self) -> dict[str, Any]:
        keys = ("records", "ingested", "duplicates", "skipped", "errors")
        return {
            **{k: self.total(k) for k in keys},
            "unsupported_files": sum(1 for f in self.files if f.unsupported),
            "bytes": self.bytes, "seconds": round(self.seconds, 3),
            "files": [f.as_dict() for f in self.files],
        }


def rows_of(msm: dict[str, Any], record: RawRecord | None = None, *,
            analyze: Analyzer | None = None
            ) -> tuple[MeasurementRow, list[ObservationRow], list[VerdictRow]]:
    """Every row of one measurement (what the collector writes for one submission, too)."""
    uid = measurement_uid(msm, record.data if record is not None else None)
    if record is not None:
        where = os.path.abspath(record.path)  # readable back from any working directory
        archive = f"{where}!{record.member}" if record.member else where
        row = measurement_row(msm, uid, archive_file=archive, archive_offset=record.offset,
                              archive_length=len(record.data))
    else:
        row = measurement_row(msm, uid)
    observations = observe(msm, uid)
    verdicts: list[VerdictRow] = []
    if analyze is not None:
        verdict = analyze(msm, row, observations)
        if verdict is not None:
            verdicts.append(verdict)
            row = with_verdict(row, verdict)
    return row, observations, verdicts


class _Batch:
    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.measurements: list[MeasurementRow] = []
        self.observations: list[ObservationRow] = []
        self.verdicts: list[VerdictRow] = []
        self.owners: list[FileReport] = []
        self.bytes = 0


class _Progress:
    """One status line on stderr, rewritten at most twice a second."""

    def __init__(self, enabled: bool, stream: Any) -> None:
        self.enabled, self.stream = enabled, stream
        self.last = 0.0
        self.start = time.monotonic()

    def update(self, report: IngestReport, current: str, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.last < 0.5:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-6)
        n = report.total("records")
        line = (f"\ringest: {len(report.files)} files, {n} records "
                f"({report.total('ingested')} new, {report.total('errors')} errors), "
                f"{report.bytes / 1e6:.1f} MB, {n / elapsed:.0f}/s  {current[-40:]}")
        self.stream.write(line.ljust(120)[:160])
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Ctrl-C during a batch write takes effect after it (as KeyboardInterrupt): DuckDB turns
    a SIGINT that lands inside a query into its own errors, which would hide the interrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _flush(store: Store, batch: _Batch) -> None:
    """Write ``batch`` (one transaction, not interrupted by Ctrl-C), count its new and
    duplicate measurements, and empty it."""
    if not batch.measurements:
        return
    uids = [m.measurement_uid for m in batch.measurements]
    write_reporting = getattr(store, "write_batch_reporting", None)
    with _sigint_deferred():
        if write_reporting is not None:  # one uid look-up instead of two (DuckDB)
            stored = write_reporting(batch.measurements, batch.observations, batch.verdicts)
        else:
            stored = store.has(uids)
            store.write_batch(batch.measurements, batch.observations, batch.verdicts)
    seen: set[str] = set()
    for uid, owner in zip(uids, batch.owners, strict=True):
        if uid in stored or uid in seen:
            owner.duplicates += 1
        else:
            owner.ingested += 1
        seen.add(uid)
    batch.clear()  # drop the rows before collecting their cycles
    if not gc.isenabled():
        gc.collect()


class _Reports(Listener):
    """Fills the per-file reports from what the engine reads."""

    def __init__(self, report: IngestReport, bar: _Progress,
                 on_problem: Callable[[str], None] | None) -> None:
        self.report, self.bar, self.on_problem = report, bar, on_problem

    def file(self, fidx: int, path: str) -> None:
        self.report.files.append(FileReport(path))
        self.bar.update(self.report, path)

    def unsupported(self, fidx: int, path: str, message: str) -> None:
        self.report.files[fidx].unsupported = message
        if self.on_problem is not None:
            self.on_problem(f"{path}: unsupported: {message}")

    def problem(self, fidx: int, where: str, message: str, error: bool) -> None:
        freport = self.report.files[fidx]
        freport.problem(where, message, error=error)
        if self.on_problem is not None:  # every one is named on stderr
            self.on_problem(f"{where}: {message}" if error else f"{where}: skipped: {message}")

    def records(self, fidx: int, count: int) -> None:
        self.report.files[fidx].records += count

    def bytes_read(self, nbytes: int) -> None:
        self.report.bytes += nbytes
        if self.report.files:
            self.bar.update(self.report, self.report.files[-1].path)


def ingest(
    paths: Iterable[str],
    store: Store,
    *,
    batch_size: int = 10_000,
    batch_bytes: int = 1 << 30,
    analyze: bool | AnalysisContext = False,
    settings: ContextSettings | None = None,
    jobs: int = 1,
    progress: bool = False,
    progress_stream: Any = None,
    on_problem: Callable[[str], None] | None = None,
) -> IngestReport:
    """Ingest every file under ``paths`` into ``store``; see the module docstring.

    ``analyze``: also score every measurement (True: with a context built from ``settings``,
    or in the given context), with the facts of the whole input learnt first (two passes,
    ``censorscope.ingest.stream``). ``jobs`` > 1 decodes, observes and scores in that many
    worker processes. ``on_problem`` gets each listed problem (``file:line: message``) as it
    is found.
    """
    import sys

    report = IngestReport()
    bar = _Progress(progress, progress_stream or sys.stderr)
    batch = _Batch()
    started = time.monotonic()
    settings = settings or ContextSettings()
    ctx = (analyze if isinstance(analyze, AnalysisContext)
           else settings.context() if analyze else AnalysisContext(fingerprints=None))
    listener = _Reports(report, bar, on_problem)
    chunks = stream(paths, ctx, settings=settings, jobs=jobs, rows=True,
                    score_it=analyze is not False, listener=listener)
    try:
        for chunk in chunks:
            for scored in chunk:
                meta = scored.meta
                batch.measurements.append(meta)
                batch.observations.extend(scored.observations)
                if scored.verdict is not None:
                    batch.verdicts.append(scored.verdict)
                batch.owners.append(report.files[scored.fidx])
                batch.bytes += meta.archive_length or 0
                if (len(batch.measurements) >= batch_size or batch.bytes >= batch_bytes
                        or len(batch.observations) >= MAX_BATCH_OBSERVATIONS):
                    _flush(store, batch)
        _flush(store, batch)
    finally:
        chunks.close()
    report.seconds = time.monotonic() - started
    bar.update(report, "", force=True)
    bar.done()
    return report
