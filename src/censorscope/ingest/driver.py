"""The ingest driver: files → records → measurement + observation (+ verdict) rows → store.

Streaming with bounded memory: records are decoded one at a time and rows are written in
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
import tarfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from censorscope.pipeline.observe import (
    MeasurementRow,
    ObservationRow,
    VerdictRow,
    is_measurement,
    measurement_row,
    observe,
    with_verdict,
)
from censorscope.store.base import Store

from .readers import RawRecord, UnsupportedFormat, expand_paths, read_records
from .uid import measurement_uid

__all__ = ["Analyzer", "FileReport", "IngestReport", "ingest", "rows_of"]

# measurement dict, its rows → a verdict (issue 5's analysis plugs in here) or None
Analyzer = Callable[[dict[str, Any], MeasurementRow, list[ObservationRow]], VerdictRow | None]

MAX_LISTED_ERRORS = 50
MAX_LISTED_SKIPS = 3
# the rows of a batch are what ingest keeps in memory (~2–3 KB per observation row with
# their Arrow copy and DuckDB's buffers); above DuckDB's row group (122,880) on purpose
MAX_BATCH_OBSERVATIONS = 150_000


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


def _unwrap(obj: Any) -> tuple[Any, str | None]:
    """A measurement out of a ``{"format": "json", "content": …}`` post; (None, why) if not."""
    if isinstance(obj, dict) and "content" in obj and "format" in obj and "test_keys" not in obj:
        fmt = obj.get("format")
        if fmt != "json":
            return None, f"post in format {fmt!r} is not supported (legacy YAML)"
        content = obj.get("content")
        if isinstance(content, str | bytes):
            try:
                content = orjson.loads(content)
            except orjson.JSONDecodeError as exc:
                return None, f"malformed JSON in post content: {exc}"
        return content, None
    return obj, None


def rows_of(msm: dict[str, Any], record: RawRecord | None = None, *,
            analyze: Analyzer | None = None
            ) -> tuple[MeasurementRow, list[ObservationRow], list[VerdictRow]]:
    """Every row of one measurement (what the collector writes for one submission, too)."""
    uid = measurement_uid(msm, record.data if record is not None else None)
    if record is not None:
        archive = f"{record.path}!{record.member}" if record.member else record.path
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
def _batched_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for the ingest loop; ``_flush`` collects instead.

    Decoding allocates thousands of containers per measurement while a batch keeps ~10^4 row
    tuples alive, so the automatic collector would re-scan the batch over and over (about a
    fifth of the ingest time). Objects alive at the start are frozen (not re-scanned); cyclic
    garbage lives at most until the end of its batch, so memory stays bounded.
    """
    enabled = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


def _flush(store: Store, batch: _Batch) -> None:
    """Write ``batch``, count its new and duplicate measurements, and empty it."""
    if not batch.measurements:
        return
    uids = [m.measurement_uid for m in batch.measurements]
    write_reporting = getattr(store, "write_batch_reporting", None)
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


def _measurements(record: RawRecord, report: FileReport) -> Iterator[tuple[int | None, Any]]:
    """(index in the record's list or None, decoded object) for the record; lists of
    measurements are expanded (``_where`` names the place, for messages)."""
    try:
        obj = orjson.loads(record.data)
    except orjson.JSONDecodeError as exc:
        report.records += 1
        report.problem(record.where, f"malformed JSON: {exc}", error=True)
        return
    if isinstance(obj, list):
        yield from enumerate(obj)
    else:
        yield None, obj


def _where(record: RawRecord, index: int | None) -> str:
    """``file:line`` of a record, ``file:line[i]`` of the i-th measurement in its list."""
    return record.where if index is None else f"{record.where}[{index}]"


def ingest(
    paths: Iterable[str],
    store: Store,
    *,
    batch_size: int = 10_000,
    batch_bytes: int = 1 << 30,
    analyze: Analyzer | None = None,
    progress: bool = False,
    progress_stream: Any = None,
) -> IngestReport:
    """Ingest every file under ``paths`` into ``store``; see the module docstring."""
    import sys

    report = IngestReport()
    bar = _Progress(progress, progress_stream or sys.stderr)
    batch = _Batch()
    started = time.monotonic()
    with _batched_gc():
        for path, kind in expand_paths(list(paths)):
            if kind is None:
                continue
            freport = FileReport(path)
            report.files.append(freport)
            try:
                for record in read_records(path, kind):
                    report.bytes += len(record.data)
                    for index, obj in _measurements(record, freport):
                        freport.records += 1
                        msm, why = _unwrap(obj)
                        if why is not None:
                            freport.problem(_where(record, index), why, error=False)
                            continue
                        if not is_measurement(msm):
                            freport.problem(_where(record, index), "not an OONI measurement "
                                            "(no test_name and test_keys)", error=False)
                            continue
                        try:
                            rows = rows_of(msm, record if index is None else None,
                                           analyze=analyze)
                        except Exception as exc:  # one bad measurement must not stop the file
                            freport.problem(_where(record, index), f"cannot build rows: "
                                            f"{exc!r}", error=True)
                            continue
                        batch.measurements.append(rows[0])
                        batch.observations.extend(rows[1])
                        batch.verdicts.extend(rows[2])
                        batch.owners.append(freport)
                        batch.bytes += len(record.data)
                        if (len(batch.measurements) >= batch_size or batch.bytes >= batch_bytes
                                or len(batch.observations) >= MAX_BATCH_OBSERVATIONS):
                            _flush(store, batch)
                    bar.update(report, path)
            except UnsupportedFormat as exc:
                freport.unsupported = str(exc)
            except (OSError, EOFError, ValueError, tarfile.TarError, zlib.error) as exc:
                # a truncated gzip/tar or an unreadable file: what was read before still counts
                freport.problem(path, f"cannot read file: {exc}", error=True)
        _flush(store, batch)
    report.seconds = time.monotonic() - started
    bar.update(report, "", force=True)
    bar.done()
    return report
