"""The two-pass analysis engine behind ``analyze``, ``ingest`` and (pass 1 of) ``reprocess``.

Verdicts depend on facts learnt across measurements (``AnalysisContext``: which IPs completed
TLS for which names, from which network), so the whole input must be learnt before the first
measurement is scored. Holding the decoded input to do that costs ~10× its size in memory;
instead:

- **pass 1** reads the files record by record, decodes each record once, builds its rows
  (``MeasurementRow``, ``ObservationRow``s) and the part of the raw measurement the scorer
  reads (:func:`scoring_raw`: for Web Connectivity the final response's body and headers, for
  the other tests their ``test_keys``), learns the facts into the context, and spills rows +
  trimmed raw, one ``marshal`` blob per chunk of records (rows as plain tuples, datetimes as
  ISO text: 2–3× faster than pickling the NamedTuples), to a temporary file;
- **pass 2** streams the spill back chunk by chunk and scores every measurement with the
  complete context (:func:`censorscope.pipeline.analyze.score`).

Memory is a few chunks of records plus the context (which grows with distinct facts, not
with measurements); the spill is on disk: ~4 % of the input for real Web Connectivity
measurements with big pages (a record above ``LAZY_RAW_BYTES`` keeps only where it is, and
is read back in pass 2 only if the scorer fingerprints its body), up to about the input's
size for the other tests (their ``test_keys`` are kept whole). Verdicts are those of scoring
the whole input in memory (``analyze_batch``), whatever the order of the input (tested).

``jobs`` > 1 runs both passes in worker processes: the main process cuts the input into
chunks (plain JSONL files into byte ranges the workers read themselves, other files into
lists of records); a worker decodes/observes/learns a chunk (pass 1), appends its spill to
its own file and returns where it is, its uids and the facts it learnt (``facts_only``),
which the main process merges; in pass 2 a worker scores a spilled chunk with the merged
context (loaded once per worker from a file) and returns verdict lines or rows. At most
``2 × jobs`` chunks are in flight and results are consumed in submission order, so output is
in input order and memory is flat. Workers come from a ``forkserver`` (preloaded with the
analysis modules): unlike ``fork`` it never copies a parent that holds DuckDB's threads and
locks (``ingest`` has the store open), and unlike ``spawn`` it does not re-import the package
for every worker. (As with any multiprocessing, a script calling this with ``jobs`` > 1 needs
the ``if __name__ == "__main__":`` guard.) Inputs under ``MIN_PARALLEL_BYTES`` run in-process.
"""

from __future__ import annotations

import gc
import marshal
import os
import pickle
import signal
import tarfile
import tempfile
import zlib
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from censorscope.model.ipinfo import ASNTable
from censorscope.pipeline.analyze import AnalysisContext, score, to_verdict_row
from censorscope.pipeline.observe import (
    MeasurementRow,
    ObservationRow,
    VerdictRow,
    is_measurement,
    measurement_row,
    observe,
    with_verdict,
)

from .readers import UnsupportedFormat, expand_paths, is_gzip, read_records
from .uid import measurement_uid

if TYPE_CHECKING:  # imported where the workers start (--jobs 1 never needs them)
    from concurrent.futures import Future, ProcessPoolExecutor

__all__ = ["LAB_RANGES", "ContextSettings", "Listener", "Scored", "default_jobs",
           "scoring_raw", "stream"]

LAB_RANGES = ("198.18.0.0/15", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
CHUNK_RECORDS = 64
CHUNK_BYTES = 8 << 20
GC_EVERY_CHUNKS = 16
# below this much input, --jobs N runs in-process (workers would cost more than they save)
MIN_PARALLEL_BYTES = 2 * CHUNK_BYTES
# Web Connectivity records above this size are read back from their file if the scorer needs
# their body, instead of spilling it (below it, spilling is cheaper than decoding again)
LAZY_RAW_BYTES = 32 << 10


_HEAP_KEPT: list[bool] = []


def _keep_heap() -> None:
    """Let glibc's malloc keep freed memory for the next chunk (once per process).

    Chunk after chunk the engine allocates then frees the same few MiB (a chunk's lines,
    their decoded measurements, rows and spill); by default glibc hands the top of the heap
    back to the kernel each time and page-faults it in again for the next chunk (3,000 real
    Web Connectivity lines: 134,000 faults, ~0.2 s of system time, ~10 % of ``analyze``).
    Allocations below 32 MiB come from the heap and up to 64 MiB of free heap is kept
    (the peak RSS is unchanged: it is the memory the engine uses at its peak anyway). A
    no-op where malloc has no ``mallopt`` (not glibc)."""
    if _HEAP_KEPT:
        return
    _HEAP_KEPT.append(True)
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, ImportError):
        return
    mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
    mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ContextSettings:
    """How to build the :class:`AnalysisContext` (picklable: workers build their own)."""

    asn_table: str | None = None
    public_ranges: tuple[str, ...] = ()
    lab: bool = False

    def context(self) -> AnalysisContext:
        return AnalysisContext.create(
            asn_table=_asn_table(self.asn_table),
            public_ranges=tuple(self.public_ranges) + (LAB_RANGES if self.lab else ()),
            fingerprints=_fingerprints())


_CACHE: dict[str, Any] = {}


def _asn_table(path: str | None) -> ASNTable | None:
    if path is None:
        return None
    key = f"asn:{path}"
    if key not in _CACHE:
        _CACHE[key] = ASNTable.from_tsv(Path(path).read_text())
    table: ASNTable = _CACHE[key]
    return table


def _fingerprints() -> Any:
    if "fp" not in _CACHE:
        _CACHE["fp"] = AnalysisContext.create().fingerprints
    return _CACHE["fp"]


# --- what the scorer needs from the raw measurement ---------------------------------------

def scoring_raw(msm: dict[str, Any]) -> dict[str, Any]:
    """The part of ``msm`` the scorers read (``Subject.raw``), so pass 2 needs no raw file.

    Web Connectivity reads only the body and headers of ``test_keys.requests[0].response``
    (``pipeline.analyze.web.final_response``: blockpage fingerprints); the other scorers read
    ``test_keys`` (``pipeline.scorers.common.test_keys``). ``score`` gives the same verdict
    with this as with the whole measurement (tested over every sample).
    """
    tk = msm.get("test_keys")
    if msm.get("test_name") != "web_connectivity" or not isinstance(tk, dict):
        return {"test_keys": tk}
    requests = tk.get("requests")
    if isinstance(requests, list) and requests:
        first = requests[0]
        if isinstance(first, dict):
            resp = first.get("response")
            if isinstance(resp, dict):
                resp = {"headers": resp.get("headers"), "body": resp.get("body")}
            first = {"response": resp}
        requests = [first]
    return {"test_keys": {"requests": requests}}


# --- pass 1: records → rows + facts -----------------------------------------------------------

# (file index, path, tar member, line, offset, bytes, the file can be re-read at offset)
Record = tuple[int, str, str | None, int | None, int, bytes, bool]
# where to read a record (or a spilled chunk) back from: (path, offset, length)
Locator = tuple[str, int, int]
# lines of a plain JSONL file a worker reads itself: (file index, path, start, end, first line)
JsonlRange = tuple[int, str, int, int, int]
# (file index, measurement row, observation rows, scoring raw or where to read it back);
# the rows are spilled as plain tuples (``marshal``), their datetimes as ISO text
Entry = tuple[int, tuple[Any, ...], list[tuple[Any, ...]], dict[str, Any] | Locator | None]
# (file index, where, message, is an error (else a skip))
Problem = tuple[int, str, str, bool]


_DATETIMES = tuple(i for i, name in enumerate(MeasurementRow._fields)
                   if name in ("measurement_start_time", "test_start_time"))


def _meta_tuple(meta: MeasurementRow) -> tuple[Any, ...]:
    """``meta`` as a plain tuple ``marshal`` takes (its datetimes as ISO text)."""
    values: list[Any] = list(meta)
    for i in _DATETIMES:
        if values[i] is not None:
            values[i] = values[i].isoformat()
    return tuple(values)


def _meta_row(values: tuple[Any, ...]) -> MeasurementRow:
    items = list(values)
    for i in _DATETIMES:
        if items[i] is not None:
            items[i] = datetime.fromisoformat(items[i])
    row: MeasurementRow = tuple.__new__(MeasurementRow, items)
    return row


class Pass1(NamedTuple):
    # the marshalled list[Entry], or where a worker wrote it (None: the entries are returned)
    spill: bytes | Locator | None
    entries: list[Entry] | None
    uids: list[str]
    problems: list[Problem]
    counts: dict[int, int]  # file index → measurements (items) read
    facts: AnalysisContext | None


def _where(path: str, member: str | None, line: int | None, index: int | None) -> str:
    place = f"{path}!{member}" if member else path
    where = f"{place}:{line}" if line is not None else place
    return where if index is None else f"{where}[{index}]"


def _unwrap(obj: Any) -> tuple[Any, str | None, bool]:
    """(measurement, why not, is an error) out of a record's object, unwrapping posts."""
    if isinstance(obj, dict) and "content" in obj and "format" in obj and "test_keys" not in obj:
        fmt = obj.get("format")
        if fmt != "json":
            return None, f"post in format {fmt!r} is not supported (legacy YAML)", False
        content = obj.get("content")
        if isinstance(content, str | bytes):
            try:
                content = orjson.loads(content)
            except orjson.JSONDecodeError as exc:
                return None, f"malformed JSON in post content: {exc}", False
        obj = content
    if not is_measurement(obj):
        return None, "not an OONI measurement (no test_name and test_keys)", False
    return obj, None, False


def learn_chunk(records: list[Record], ctx: AnalysisContext, *, spill: bool,
                keep_raw: bool = True, body_sha1: bool = True) -> Pass1:
    """Pass 1 over ``records``: rows + scoring raw of every measurement, facts into ``ctx``.
    ``body_sha1`` False: the rows are only scored (never returned), so the response bodies'
    SHA-1, which no analysis reads, is not computed."""
    entries: list[Entry] = []
    uids: list[str] = []
    problems: list[Problem] = []
    counts: dict[int, int] = {}
    learn = ctx.learn
    for fidx, path, member, line, offset, data, seekable in records:
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            counts[fidx] = counts.get(fidx, 0) + 1
            problems.append((fidx, _where(path, member, line, None),
                             f"malformed JSON: {exc}", True))
            continue
        items: list[tuple[int | None, Any]] = (list(enumerate(obj)) if isinstance(obj, list)
                                                else [(None, obj)])
        for index, item in items:
            counts[fidx] = counts.get(fidx, 0) + 1
            msm, why, error = _unwrap(item)
            if why is not None:
                problems.append((fidx, _where(path, member, line, index), why, error))
                continue
            try:
                uid = measurement_uid(msm, data if index is None else None)
                if index is None:
                    where = os.path.abspath(path)  # readable back from any working directory
                    archive = f"{where}!{member}" if member else where
                    meta = measurement_row(msm, uid, archive_file=archive,
                                           archive_offset=offset, archive_length=len(data))
                else:
                    meta = measurement_row(msm, uid)
                observations = observe(msm, uid, body_sha1=body_sha1)
                learn(meta, observations)
                raw: dict[str, Any] | Locator | None = None
                if not keep_raw:
                    pass
                elif (seekable and index is None and len(data) > LAZY_RAW_BYTES
                      and msm.get("test_name") == "web_connectivity"):
                    # the scorer reads the final body only when the page differs from the
                    # control's (~1 in 5): read big ones back then instead of spilling them
                    raw = (path, offset, len(data))
                else:
                    raw = scoring_raw(msm)
            except Exception as exc:  # one bad measurement must not stop the file
                problems.append((fidx, _where(path, member, line, index),
                                 f"cannot build rows: {exc!r}", True))
                continue
            entries.append((fidx, _meta_tuple(meta), [tuple(o) for o in observations], raw))
            uids.append(uid)
    if spill:
        return Pass1(_dump(entries), None, uids, problems, counts, None)
    return Pass1(None, entries, uids, problems, counts, None)


# --- pass 2: spill → verdicts ---------------------------------------------------------------

class Scored(NamedTuple):
    """One scored measurement: the file it came from, its rows (the measurement row with the
    verdict's MAT flags), the verdict row, and the verdict as a JSONL line."""

    fidx: int
    meta: MeasurementRow
    observations: list[ObservationRow]
    verdict: VerdictRow | None
    line: bytes | None
    error: str | None = None  # scoring failed: why (the rows are still there)


def score_entries(entries: list[Entry], ctx: AnalysisContext, *, rows: bool, lines: bool,
                  skip: frozenset[int] = frozenset()) -> list[Scored]:
    """Pass 2: score ``entries`` (those at a position in ``skip`` are left out)."""
    out: list[Scored] = []
    dumps = orjson.dumps
    new = tuple.__new__
    for i, (fidx, mtuple, otuples, raw) in enumerate(entries):
        if i in skip:
            continue
        meta = _meta_row(mtuple)
        observations: list[ObservationRow] = [new(ObservationRow, o) for o in otuples]
        if isinstance(raw, tuple):
            raw = _LazyRaw(raw)
        try:
            verdict = score(meta, observations, ctx, raw)
            line = dumps(verdict.to_json()) + b"\n" if lines else None
        except Exception as exc:  # one measurement the scorer chokes on must not stop the run
            out.append(Scored(fidx, meta, observations if rows else [], None, None,
                              f"{meta.measurement_uid}: cannot score: {exc!r}"))
            continue
        if rows:
            vrow = to_verdict_row(verdict)
            out.append(Scored(fidx, with_verdict(meta, vrow), observations, vrow, line))
        else:
            out.append(Scored(fidx, meta, [], None, line))
    return out


_FILES: dict[str, int] = {}  # path → open descriptor, for reading records back (pass 2)


def _pread(path: str, offset: int, length: int) -> bytes:
    fd = _FILES.get(path)
    if fd is None:
        fd = _FILES[path] = os.open(path, os.O_RDONLY)
    return os.pread(fd, length, offset)


def _close_files() -> None:
    while _FILES:
        os.close(_FILES.popitem()[1])


class _LazyRaw(dict):  # type: ignore[type-arg]
    """The scoring raw of a measurement, read back from its file on first use: a dict for
    the scorers (``Subject.raw``), filled only if one of them looks inside."""

    __slots__ = ("_at",)

    def __init__(self, at: Locator) -> None:
        super().__init__()
        self._at: Locator | None = at

    def _load(self) -> None:
        at = self._at
        if at is not None:
            self._at = None
            msm, _, _ = _unwrap(orjson.loads(_pread(*at)))
            if isinstance(msm, dict):
                self.update(scoring_raw(msm))

    def get(self, key: Any, default: Any = None) -> Any:
        self._load()
        return dict.get(self, key, default)

    def __getitem__(self, key: Any) -> Any:
        self._load()
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        self._load()
        return dict.__contains__(self, key)

    def __iter__(self) -> Iterator[Any]:
        self._load()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._load()
        return dict.__len__(self)

    def keys(self) -> Any:
        self._load()
        return dict.keys(self)

    def values(self) -> Any:
        self._load()
        return dict.values(self)

    def items(self) -> Any:
        self._load()
        return dict.items(self)

    def __eq__(self, other: object) -> bool:
        self._load()
        return dict.__eq__(self, other)

    __hash__ = None


def _entries(blob: bytes) -> list[Entry]:
    entries: list[Entry] = (marshal.loads(memoryview(blob)[1:]) if blob[:1] == b"M"
                            else pickle.loads(memoryview(blob)[1:]))
    return entries


def _dump(entries: list[Entry]) -> bytes:
    """The spill blob of ``entries``: ``marshal`` (fast), or pickle when a value is not one
    marshal takes (a row field of an unexpected type)."""
    try:
        return b"M" + marshal.dumps(entries)
    except ValueError:
        return b"P" + pickle.dumps(entries, protocol=5)


# --- worker processes -------------------------------------------------------------------------

_W: dict[str, Any] = {}


def _worker_init(settings: ContextSettings) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    gc.disable()
    _keep_heap()
    _W["settings"] = settings
    _W["tasks"] = 0


def _worker_gc() -> None:
    _W["tasks"] += 1
    if _W["tasks"] % GC_EVERY_CHUNKS == 0:
        gc.collect()


def _records_of(task: list[Record] | JsonlRange) -> list[Record]:
    """The records of a task: as sent, or read from a range of a plain JSONL file (what
    ``readers._read_jsonl`` yields for those lines)."""
    if isinstance(task, list):
        return task
    fidx, path, start, end, lineno = task
    block = _pread(path, start, end - start)
    records: list[Record] = []
    pos = 0
    for line in block.split(b"\n"):
        data = line.strip()
        if data:
            lead = len(line) - len(line.lstrip()) if data is not line else 0
            records.append((fidx, path, None, lineno, start + pos + lead, data, True))
        pos += len(line) + 1
        lineno += 1
    return records


def _spill_write(spill_dir: str, blob: bytes) -> Locator:
    """Append ``blob`` to this worker's spill file; where it is."""
    fd = _W.get("spill_fd")
    if _W.get("spill_dir") != spill_dir or fd is None:
        path = os.path.join(spill_dir, f"spill-{os.getpid()}.bin")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        _W["spill_fd"], _W["spill_dir"], _W["spill_path"] = fd, spill_dir, path
    offset = os.lseek(fd, 0, os.SEEK_END)
    view = memoryview(blob)
    while view:
        view = view[os.write(fd, view):]
    return _W["spill_path"], offset, len(blob)


def _worker_learn(task: list[Record] | JsonlRange, keep_raw: bool, spill_dir: str | None,
                  body_sha1: bool = True) -> Pass1:
    ctx = _W["settings"].context()
    result = learn_chunk(_records_of(task), ctx, spill=spill_dir is not None,
                         keep_raw=keep_raw, body_sha1=body_sha1)
    if spill_dir is not None:  # the rows stay here, on disk: only where they are goes back
        assert isinstance(result.spill, bytes)
        result = result._replace(spill=_spill_write(spill_dir, result.spill))
    _worker_gc()
    return result._replace(facts=ctx.facts_only())


def _worker_score(at: Locator, skip: frozenset[int], facts_path: str, rows: bool,
                  lines: bool) -> list[Scored]:
    if _W.get("facts_path") != facts_path:
        ctx = _W["settings"].context()
        with open(facts_path, "rb") as fh:
            ctx.merge(pickle.load(fh))
        _W["ctx"], _W["facts_path"] = ctx, facts_path
    result = score_entries(_entries(_pread(*at)), _W["ctx"], rows=rows, lines=lines,
                           skip=skip)
    _worker_gc()
    return result


def _pool(jobs: int, settings: ContextSettings) -> ProcessPoolExecutor:
    """``jobs`` workers forked by a forkserver preloaded with this module (a worker that
    dies makes the pool broken, and the run fails, instead of being respawned forever)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    mp = multiprocessing.get_context("forkserver")
    mp.set_forkserver_preload(["censorscope.ingest.stream"])
    return ProcessPoolExecutor(jobs, mp_context=mp, initializer=_worker_init,
                               initargs=(settings,))


def _ordered(pool: Any, fn: Callable[..., Any], tasks: Iterable[tuple[Any, ...]],
             window: int) -> Iterator[Any]:
    """``fn(*task)`` for every task, in order, with at most ``window`` tasks in flight."""
    if pool is None:
        for task in tasks:
            yield fn(*task)
        return
    pending: deque[Future[Any]] = deque()
    for task in tasks:
        pending.append(pool.submit(fn, *task))
        while len(pending) >= window or (pending and pending[0].done()):
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


# --- the driver -----------------------------------------------------------------------------

class Listener:
    """What the engine reports while it reads (all in input order, during pass 1)."""

    def file(self, fidx: int, path: str) -> None:
        """A new file starts."""

    def unsupported(self, fidx: int, path: str, message: str) -> None:
        """The file is in a format censorscope does not read."""

    def problem(self, fidx: int, where: str, message: str, error: bool) -> None:
        """A record was broken (``error``) or not a measurement (skipped)."""

    def records(self, fidx: int, count: int) -> None:
        """``count`` more measurements (items) of file ``fidx`` were read."""

    def bytes_read(self, nbytes: int) -> None:
        """``nbytes`` more bytes of records were read."""


def _jsonl_ranges(fidx: int, path: str) -> Iterator[JsonlRange]:
    """A plain JSONL file cut at line ends into ranges of about ``CHUNK_BYTES`` (the main
    process only counts lines; the workers read the bytes)."""
    with open(path, "rb") as fh:
        start, lineno, carry = 0, 1, 0
        while block := fh.read(CHUNK_BYTES):
            cut = block.rfind(b"\n")
            if cut < 0:  # a line longer than the block: keep reading
                carry += len(block)
                continue
            end = start + carry + cut + 1
            yield fidx, path, start, end, lineno
            lineno += block.count(b"\n", 0, cut + 1)
            start, carry = end, len(block) - cut - 1
        if carry:
            yield fidx, path, start, start + carry, lineno


def _read_chunks(paths: Iterable[str], listener: Listener, ranges: bool,
                 names: dict[int, str]) -> Iterator[list[Record] | JsonlRange]:
    """The records of every file, in chunks (or, with ``ranges``, plain JSONL files as
    ranges for the workers to read); unreadable files are reported (what was read before
    the damage is kept) and the run goes on."""
    chunk: list[Record] = []
    size = 0
    fidx = -1
    for path, kind in expand_paths(list(paths)):
        if kind is None:
            continue
        fidx += 1
        names[fidx] = path
        listener.file(fidx, path)
        try:
            seekable = kind in ("jsonl", "json", "sniff") and not is_gzip(path)
            if ranges and seekable and kind == "jsonl":
                if chunk:
                    yield chunk
                    chunk, size = [], 0
                yield from _jsonl_ranges(fidx, path)
                continue
            for rec in read_records(path, kind):
                chunk.append((fidx, rec.path, rec.member, rec.line, rec.offset, rec.data,
                              seekable and rec.member is None))
                size += len(rec.data)
                if len(chunk) >= CHUNK_RECORDS or size >= CHUNK_BYTES:
                    yield chunk
                    chunk, size = [], 0
        except UnsupportedFormat as exc:
            listener.unsupported(fidx, path, str(exc))
        except (OSError, EOFError, ValueError, tarfile.TarError, zlib.error) as exc:
            # a truncated or corrupt gzip/tar, an unreadable file: the run goes on
            listener.problem(fidx, path, f"cannot read file: {exc}", True)
    if chunk:
        yield chunk


def _report(result: Pass1, chunk_bytes: int, listener: Listener) -> None:
    for fidx, n in result.counts.items():
        listener.records(fidx, n)
    listener.bytes_read(chunk_bytes)
    for fidx, where, message, error in result.problems:
        listener.problem(fidx, where, message, error)


def _input_bytes(paths: list[str]) -> int:
    total = 0
    for path, kind in expand_paths(paths):
        if kind is not None:
            try:
                total += os.path.getsize(path)
            except OSError:
                pass
    return total


def stream(
    paths: Iterable[str],
    ctx: AnalysisContext,
    *,
    settings: ContextSettings | None = None,
    jobs: int = 1,
    rows: bool = True,
    lines: bool = False,
    score_it: bool = True,
    skip_uid: Callable[[str], bool] | None = None,
    listener: Listener | None = None,
    spill_dir: str | None = None,
) -> Generator[list[Scored], None, None]:
    """Verdicts (and rows) for every measurement under ``paths``, chunk by chunk, in input
    order; see the module docstring.

    ``ctx`` may already hold facts (``analyze --store``); it learns the whole input. With
    ``jobs`` > 1 the workers build their contexts from ``settings`` (which must describe how
    ``ctx`` was made) plus the facts learnt. ``rows``: return the rows and the verdict row;
    ``lines``: the verdict as a JSONL line. ``score_it`` False: one pass, rows only (``ingest
    --no-analyze``). ``skip_uid(uid)`` True: learn from the measurement but do not score or
    return it (``analyze --out`` resuming).
    """
    listener = listener or Listener()
    paths = list(paths)
    jobs = max(1, jobs)
    _keep_heap()
    if jobs > 1 and _input_bytes(paths) < MIN_PARALLEL_BYTES:
        jobs = 1  # a small input: starting workers would cost more than they save
    if jobs > 1 and settings is None:
        raise ValueError("jobs > 1 needs the ContextSettings the workers build ctx from")
    pool = _pool(jobs, settings) if jobs > 1 and settings is not None else None
    window = 2 * jobs
    gc_was_enabled = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        with tempfile.TemporaryDirectory(prefix="censorscope-spill-", dir=spill_dir) as tmp:
            yield from _run(paths, ctx, pool, window, rows=rows, lines=lines, score_it=score_it,
                            skip_uid=skip_uid, listener=listener, tmp=tmp,
                            settings=settings)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        _close_files()
        gc.unfreeze()
        if gc_was_enabled:
            gc.enable()


def _run(paths: Iterable[str], ctx: AnalysisContext, pool: Any, window: int, *, rows: bool,
         lines: bool, score_it: bool, skip_uid: Callable[[str], bool] | None,
         listener: Listener, tmp: str, settings: ContextSettings | None) -> Iterator[list[Scored]]:
    sizes: deque[int] = deque()
    names: dict[int, str] = {}  # file index → path
    # rows that are only scored (not returned) need no body SHA-1
    body_sha1 = rows or not score_it

    def tasks() -> Iterator[tuple[Any, ...]]:
        for task in _read_chunks(paths, listener, pool is not None, names):
            sizes.append(sum(len(r[5]) for r in task) if isinstance(task, list)
                         else task[3] - task[2])
            yield (task, score_it, tmp if score_it else None, body_sha1) if pool is not None \
                else (task,)

    def local_learn(chunk: list[Record]) -> Pass1:
        return learn_chunk(chunk, ctx, spill=score_it, keep_raw=score_it, body_sha1=body_sha1)

    fn: Callable[..., Pass1] = _worker_learn if pool is not None else local_learn
    # the spilled chunks: (where, positions to skip), in input order
    index: list[tuple[Locator, frozenset[int]]] = []
    spill_path = os.path.join(tmp, "spill.bin")
    ndone = 0
    with open(spill_path, "w+b") as spill:
        for result in _ordered(pool, fn, tasks(), window):
            _report(result, sizes.popleft(), listener)
            ndone += 1
            if pool is None and ndone % GC_EVERY_CHUNKS == 0:
                gc.collect()
            if result.facts is not None:
                ctx.merge(result.facts)
            if not score_it:  # one pass: rows as they come
                assert result.entries is not None
                new = tuple.__new__
                yield [Scored(fidx, _meta_row(m),
                              [new(ObservationRow, o) for o in obs], None, None)
                       for fidx, m, obs, _ in result.entries]
                continue
            skip = frozenset(i for i, uid in enumerate(result.uids) if skip_uid(uid)) \
                if skip_uid is not None else frozenset()
            if len(skip) == len(result.uids):
                continue
            if isinstance(result.spill, bytes):
                index.append(((spill_path, spill.tell(), len(result.spill)), skip))
                spill.write(result.spill)
            else:
                assert result.spill is not None
                index.append((result.spill, skip))
        if not score_it:
            return
        spill.flush()
        yield from _pass2(index, ctx, pool, window, rows=rows, lines=lines, tmp=tmp,
                          listener=listener, names=names)


def _pass2(index: list[tuple[Locator, frozenset[int]]], ctx: AnalysisContext, pool: Any,
           window: int, *, rows: bool, lines: bool, tmp: str, listener: Listener,
           names: dict[int, str]) -> Iterator[list[Scored]]:
    facts_path = os.path.join(tmp, "facts.pickle")
    if pool is not None:
        with open(facts_path, "wb") as fh:
            pickle.dump(ctx.facts_only(), fh, protocol=5)

    def tasks() -> Iterator[tuple[Any, ...]]:
        for at, skip in index:
            yield (at, skip, facts_path, rows, lines) if pool is not None else (at, skip)

    def local_score(at: Locator, skip: frozenset[int]) -> list[Scored]:
        return score_entries(_entries(_pread(*at)), ctx, rows=rows, lines=lines, skip=skip)

    fn: Callable[..., list[Scored]] = _worker_score if pool is not None else local_score
    for n, scored in enumerate(_ordered(pool, fn, tasks(), window), 1):
        if pool is None and n % GC_EVERY_CHUNKS == 0:
            gc.collect()
        failed = [s for s in scored if s.error is not None]
        for s in failed:
            listener.problem(s.fidx, s.meta.archive_file or names.get(s.fidx, "?"),
                             s.error or "", True)
        if failed and not rows:
            scored = [s for s in scored if s.error is None]
        yield scored
