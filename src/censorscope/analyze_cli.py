"""``censorscope analyze PATH…`` and ``censorscope reprocess``: verdicts from files or the store.

``analyze`` reads what ``ingest`` reads (JSONL(.gz), post-cans, JSON files, bucket dirs), learns
the TLS facts of the whole input (and of the store with ``--store``) and prints one verdict per
measurement, as JSONL or as a table. ``reprocess`` re-scores the stored observation rows with the
current rules and fingerprints (no raw file is read): it writes a verdict row per measurement
for the current version — none when that version is already stored (idempotent) — and updates
the measurement's MAT flags.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import orjson

from censorscope.ingest.readers import UnsupportedFormat, expand_paths, read_records
from censorscope.ingest.uid import measurement_uid
from censorscope.model.ipinfo import ASNTable
from censorscope.pipeline.analyze import (
    AnalysisContext,
    analyze_batch,
    score,
    to_verdict_row,
)
from censorscope.pipeline.observe import VerdictRow, is_measurement, with_verdict
from censorscope.store import default_url, open_store
from censorscope.store.base import FlagUpdate, Store

__all__ = ["analyze", "iter_measurements", "make_context", "reprocess", "reprocess_store"]

LAB_RANGES = ("198.18.0.0/15", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")


def iter_measurements(paths: list[str]) -> Iterator[tuple[dict[str, Any], str]]:
    """(measurement dict, uid) for every measurement in ``paths`` (bad records skipped with a
    note on stderr)."""
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
                    if isinstance(item, dict) and "content" in item and "test_keys" not in item:
                        content = item.get("content")
                        msm = orjson.loads(content) if isinstance(content, str | bytes) \
                            else content
                    if is_measurement(msm):
                        raw = record.data if len(items) == 1 and msm is item else None
                        yield msm, measurement_uid(msm, raw)
        except UnsupportedFormat as exc:
            click.echo(f"{path}: unsupported: {exc}", err=True)


def make_context(asn_table: str | None, public_ranges: tuple[str, ...], lab: bool
                 ) -> AnalysisContext:
    table = ASNTable.from_tsv(Path(asn_table).read_text()) if asn_table else None
    ranges = tuple(public_ranges) + (LAB_RANGES if lab else ())
    return AnalysisContext.create(asn_table=table, public_ranges=ranges)


def _stored_uids(store: Store) -> list[str]:
    """Every stored measurement_uid, ascending (for small stores and tests; stream with
    ``store.iter_uids()`` otherwise)."""
    return [uid for batch in store.iter_uids() for uid in batch]


def _learn_store(store: Store, ctx: AnalysisContext) -> int:
    """Teach ``ctx`` the facts of every stored measurement; returns how many were read."""
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

    Pass 1 learns the facts across everything stored, pass 2 scores each measurement and, when
    its verdict's rules_version is not stored yet, sets its MAT flags (``update_flags``) and
    then adds the verdict (``write_verdicts``) — in that order, so a crash in between leaves the
    verdict missing and the next run redoes both. Streams the uids batch by batch.
    """
    counts = {"measurements": _learn_store(store, ctx), "written": 0, "skipped": 0}
    for batch in store.iter_uids():
        fresh: list[VerdictRow] = []
        flags: list[FlagUpdate] = []
        for uid in batch:
            meta = store.get_measurement(uid)
            if meta is None:
                continue
            verdict = to_verdict_row(score(meta, store.get_observations(uid), ctx))
            if any(v.rules_version == verdict.rules_version for v in store.get_verdicts(uid)):
                counts["skipped"] += 1
                continue
            new = with_verdict(meta, verdict)
            flags.append((uid, new.anomaly, new.confirmed, new.failure, new.blocking_type))
            fresh.append(verdict)
        store.update_flags(flags)
        counts["written"] += store.write_verdicts(fresh)
    return counts


def _table(verdicts: list[dict[str, Any]]) -> None:
    click.echo(f"{'outcome':12} {'layer':10} {'mechanism':24} {'asn':>8} {'test':18} input")
    for v in verdicts:
        click.echo(f"{v['outcome']:12} {v['layer'] or '-':10} {v['mechanism'] or '-':24} "
                   f"{v['probe_asn']:>8} {v['test_name'][:18]:18} {v['input'] or ''}")
        for sentence in v["evidence"][:3]:
            click.echo(f"{'':14}{sentence}")


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


@click.command("analyze")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "table"]), default="jsonl",
              show_default=True)
@click.option("--store", "store_url", default=None, metavar="URL",
              help="Also learn TLS facts from the measurements stored there.")
@_with_context_options
def analyze(paths: tuple[str, ...], fmt: str, store_url: str | None, asn_table: str | None,
            public_ranges: tuple[str, ...], lab: bool) -> None:
    """Print one verdict per measurement (outcome, layer, mechanism, rule, evidence)."""
    ctx = make_context(asn_table, public_ranges, lab)
    if store_url:
        with open_store(store_url) as store:
            _learn_store(store, ctx)
    verdicts = [v.to_json() for v in analyze_batch(iter_measurements(list(paths)), ctx)]
    if fmt == "table":
        _table(verdicts)
        return
    out = sys.stdout.buffer
    for v in verdicts:
        out.write(orjson.dumps(v) + b"\n")
    out.flush()


@click.command("reprocess")
@click.option("--store", "store_url", default=None, metavar="URL",
              help="Store URL (default $CENSORSCOPE_STORE or duckdb:censorscope.duckdb).")
@_with_context_options
def reprocess(store_url: str | None, asn_table: str | None, public_ranges: tuple[str, ...],
              lab: bool) -> None:
    """Re-score stored measurements with the current rules and fingerprints."""
    ctx = make_context(asn_table, public_ranges, lab)
    with open_store(store_url or default_url()) as store:
        counts = reprocess_store(store, ctx)
    click.echo(f"reprocess: {counts['measurements']} measurements, {counts['written']} new "
               f"verdicts, {counts['skipped']} already at this version")
