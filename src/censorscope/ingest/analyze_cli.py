"""``censorscope analyze PATH…`` and ``censorscope reprocess``: verdicts from files or the store.

``analyze`` reads what ``ingest`` reads (JSONL(.gz), post-cans, JSON files, bucket dirs) in two
streaming passes (``censorscope.ingest.stream``): pass 1 learns the facts of the whole input
(and of the store with ``--store``), pass 2 prints one verdict per measurement in input order,
as JSONL or as a table, on stdout or appended to ``--out FILE`` (resumable). ``--jobs N`` runs
both passes in N worker processes. A broken record is reported on stderr as
``file:line: message`` and the run goes on; exit status 1 then (0 when every record was read,
2 for usage errors and a store that cannot be opened, 130 when interrupted).

``reprocess`` re-scores the stored observation rows with the current rules and fingerprints
(no raw file is read): it writes a verdict row per measurement for the current version — none
when that version is already stored (idempotent) — and updates the measurement's MAT flags.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click
import orjson

from censorscope.archive.raw import read_raw
from censorscope.pipeline.analyze import AnalysisContext, score, to_verdict_row
from censorscope.pipeline.observe import VerdictRow, is_measurement, with_verdict
from censorscope.store import default_url
from censorscope.store.base import FlagUpdate, Store

from .exits import EXIT_BAD_INPUT, EXIT_INTERRUPTED, fail, open_store_or_exit
from .readers import UnsupportedFormat, expand_paths, read_records
from .stream import LAB_RANGES, ContextSettings, Listener, default_jobs, stream
from .uid import measurement_uid

__all__ = ["LAB_RANGES", "analyze", "iter_measurements", "make_context", "reprocess",
           "reprocess_store", "resume_out"]



def iter_measurements(paths: list[str]) -> Iterator[tuple[dict[str, Any], str]]:
    """(measurement dict, uid) for every measurement in ``paths``, all in memory at once if
    you keep them (tests and small inputs; ``analyze`` streams instead). Bad records are
    skipped with a note on stderr."""
    for path, kind in expand_paths(paths):
        if kind is None:
            continue
        try:
            for record in read_records(path, kind):
                try:
                    obj = orjson.loads(record.data)
                except orjson.JSONDecodeError as exc:
                    click.echo(f"{record.where}: malformed JSON: {exc}", err=True)
                    continue
                items = obj if isinstance(obj, list) else [obj]
                for item in items:
                    msm = item
                    if isinstance(item, dict) and "content" in item and "format" in item \
                            and "test_keys" not in item:
                        content = item.get("content")
                        msm = orjson.loads(content) if isinstance(content, str | bytes) \
                            else content
                    if is_measurement(msm):
                        raw = record.data if not isinstance(obj, list) else None
                        yield msm, measurement_uid(msm, raw)
        except UnsupportedFormat as exc:
            click.echo(f"{path}: unsupported: {exc}", err=True)


def make_context(asn_table: str | None, public_ranges: tuple[str, ...], lab: bool
                 ) -> AnalysisContext:
    return ContextSettings(asn_table, tuple(public_ranges), lab).context()


def _stored_uids(store: Store) -> list[str]:
    """Every stored measurement_uid, ascending (for small stores and tests; stream with
    ``store.iter_uids()`` otherwise)."""
    return [uid for batch in store.iter_uids() for uid in batch]


def _learn_store(store: Store, ctx: AnalysisContext) -> int:
    """Teach ``ctx`` the facts of every stored measurement (one at a time: nothing is kept
    but the facts); returns how many were read."""
    seen = 0
    for batch in store.iter_uids():
        for uid in batch:
            meta = store.get_measurement(uid)
            if meta is not None:
                ctx.learn(meta, store.get_observations(uid))
        seen += len(batch)
    return seen


def reprocess_store(store: Store, ctx: AnalysisContext) -> dict[str, int]:
    """Re-score every stored measurement; returns counts (scored, written, skipped).

    Pass 1 learns the facts across everything stored, pass 2 scores each measurement (with its
    raw body, read back from its file or the collector's archive, for the tests whose scorers
    read test keys the rows do not keep: every test but Web Connectivity) and, when
    its verdict's rules_version is not stored yet, sets its MAT flags (``update_flags``) and
    then adds the verdict (``write_verdicts``) — in that order, so a crash in between leaves the
    verdict missing and the next run redoes both. Both passes stream the uids batch by batch
    (``iter_uids``) and hold one batch of rows at most.
    """
    counts = {"measurements": _learn_store(store, ctx), "written": 0, "skipped": 0}
    for batch in store.iter_uids():
        fresh: list[VerdictRow] = []
        flags: list[FlagUpdate] = []
        for uid in batch:
            meta = store.get_measurement(uid)
            if meta is None:
                continue
            raw = read_raw(meta) if meta.test_name != "web_connectivity" else None
            verdict = to_verdict_row(score(meta, store.get_observations(uid), ctx, raw))
            if any(v.rules_version == verdict.rules_version for v in store.get_verdicts(uid)):
                counts["skipped"] += 1
                continue
            new = with_verdict(meta, verdict)
            flags.append((uid, new.anomaly, new.confirmed, new.failure, new.blocking_type))
            fresh.append(verdict)
        store.update_flags(flags)
        counts["written"] += store.write_verdicts(fresh)
    return counts


def _table_header() -> str:
    return f"{'outcome':12} {'layer':10} {'mechanism':24} {'asn':>8} {'test':18} input"


def _table_rows(v: dict[str, Any]) -> str:
    lines = [f"{v['outcome']:12} {v['layer'] or '-':10} {v['mechanism'] or '-':24} "
             f"{v['probe_asn']:>8} {v['test_name'][:18]:18} {v['input'] or ''}"]
    for sentence in v["evidence"][:3]:
        text = sentence.get("text", sentence) if isinstance(sentence, dict) else sentence
        lines.append(f"{'':14}{text}")
    return "\n".join(lines)


def resume_out(path: Path) -> set[str]:
    """The uids already in the JSONL file ``path`` (created if missing); a partial last line
    (an interrupted write) is cut off so appending continues on a line boundary."""
    done: set[str] = set()
    if not path.exists():
        path.touch()
        return done
    with open(path, "r+b") as fh:
        good = 0
        for line in fh:
            if not line.endswith(b"\n"):
                break
            try:
                uid = orjson.loads(line).get("measurement_uid")
            except (orjson.JSONDecodeError, AttributeError):
                break
            if isinstance(uid, str):
                done.add(uid)
            good += len(line)
        fh.truncate(good)
    return done


class _Problems(Listener):
    """Problems go to stderr as ``file:line: message`` as soon as they are found, every one
    of them (broken records, records that are not measurements, damaged or unsupported
    files); at the end, the count per file."""

    def __init__(self) -> None:
        self.errors = 0
        self.paths: dict[int, str] = {}
        self.counts: dict[tuple[int, bool], int] = {}

    def file(self, fidx: int, path: str) -> None:
        self.paths[fidx] = path

    def unsupported(self, fidx: int, path: str, message: str) -> None:
        click.echo(f"{path}: unsupported: {message}", err=True)

    def problem(self, fidx: int, where: str, message: str, error: bool) -> None:
        self.errors += error
        self.counts[fidx, error] = self.counts.get((fidx, error), 0) + 1
        click.echo(f"{where}: {message}" if error else f"{where}: skipped: {message}",
                   err=True)

    def summary(self) -> None:
        for (fidx, error), n in sorted(self.counts.items()):
            what = "broken records" if error else "records skipped (not measurements)"
            click.echo(f"{self.paths.get(fidx, '?')}: {n} {what}", err=True)


_context_options = [
    click.option("--asn-table", type=click.Path(exists=True, dir_okay=False), default=None,
                 help="IP prefix → ASN table (TSV prefix, asn[, name[, cc]])."),
    click.option("--public-range", "public_ranges", multiple=True, metavar="CIDR",
                 help="Treat this bogon range as public (repeatable)."),
    click.option("--lab", is_flag=True, help="Treat the lab's address ranges as public."),
]


def _with_context_options(fn: Any) -> Any:
    for option in reversed(_context_options):
        fn = option(fn)
    return fn


def _open_store(url: str) -> Any:
    return open_store_or_exit(url)


@click.command("analyze")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "table"]), default="jsonl",
              show_default=True)
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, metavar="FILE",
              help="Append the JSONL verdicts to FILE (fsync'd per batch); a rerun skips the "
                   "measurements already there (resume after an interruption).")
@click.option("--jobs", "-j", type=click.IntRange(1), default=None,
              help="Worker processes (default: the usable cores).")
@click.option("--store", "store_url", default=None, metavar="URL",
              help="Also learn TLS facts from the measurements stored there.")
@_with_context_options
def analyze(paths: tuple[str, ...], fmt: str, out_path: Path | None, jobs: int | None,
            store_url: str | None, asn_table: str | None, public_ranges: tuple[str, ...],
            lab: bool) -> None:
    """Print one verdict per measurement (outcome, layer, mechanism, rule, evidence), in
    input order, after learning the facts of the whole input (two streaming passes)."""
    if out_path is not None and fmt != "jsonl":
        raise click.UsageError("--out writes JSONL: it cannot be combined with --format table")
    settings = ContextSettings(asn_table, tuple(public_ranges), lab)
    ctx = settings.context()
    problems = _Problems()
    try:
        if store_url:
            with _open_store(store_url) as store:
                _learn_store(store, ctx)
        try:
            done = resume_out(out_path) if out_path is not None else set()
        except OSError as exc:
            fail(f"cannot write {out_path}: {exc}")
        if out_path is not None:
            with open(out_path, "ab") as out:
                _run_analyze(paths, ctx, settings, jobs, done, problems, out, durable=True)
        elif fmt == "table":
            click.echo(_table_header())
            for chunk in stream(paths, ctx, settings=settings, jobs=jobs or default_jobs(),
                                rows=False, lines=True, listener=problems):
                for scored in chunk:
                    assert scored.line is not None
                    click.echo(_table_rows(orjson.loads(scored.line)))
        else:
            _run_analyze(paths, ctx, settings, jobs, done, problems, sys.stdout.buffer,
                         durable=False)
    except KeyboardInterrupt:
        click.echo("censorscope analyze: interrupted" + (
            f"; rerun with --out {out_path} to resume" if out_path else ""), err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:  # ``analyze … | head``: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    problems.summary()
    if problems.errors:
        sys.exit(EXIT_BAD_INPUT)


def _run_analyze(paths: tuple[str, ...], ctx: AnalysisContext, settings: ContextSettings,
                 jobs: int | None, done: set[str], problems: Listener, out: IO[bytes], *,
                 durable: bool) -> None:
    skip = done.__contains__ if done else None
    write, flush = out.write, out.flush
    for chunk in stream(paths, ctx, settings=settings, jobs=jobs or default_jobs(),
                        rows=False, lines=True, skip_uid=skip, listener=problems):
        write(b"".join(s.line for s in chunk if s.line is not None))
        flush()
        if durable:
            os.fsync(out.fileno())


@click.command("reprocess")
@click.option("--store", "store_url", default=None, metavar="URL",
              help="Store URL (default $CENSORSCOPE_STORE or duckdb:censorscope.duckdb).")
@_with_context_options
def reprocess(store_url: str | None, asn_table: str | None, public_ranges: tuple[str, ...],
              lab: bool) -> None:
    """Re-score stored measurements with the current rules and fingerprints."""
    ctx = make_context(asn_table, public_ranges, lab)
    url = store_url or default_url()
    with _open_store(url) as store:
        counts = reprocess_store(store, ctx)
    click.echo(f"reprocess: {counts['measurements']} measurements, {counts['written']} new "
               f"verdicts, {counts['skipped']} already at this version")
