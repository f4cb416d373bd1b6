"""``censorscope ingest PATH… [--store URL]``: import OONI data files into the store.

Verdicts come from the two-pass engine (``censorscope.ingest.stream``): the facts of the whole
input are learnt before any measurement is scored, so a verdict does not depend on the order of
the files; ``--jobs N`` decodes, observes and scores in N worker processes. Rows are written in
batches, each one transaction: an interrupted ingest keeps every batch written, and rerunning it
adds the rest (the store is idempotent by measurement_uid).

Problems are printed on stderr as they are found (``file:line: message``); stdout gets one line
per file (new / duplicate / skipped / errors, or why it is unsupported) and the totals, or the
report as JSON with ``--json``. Exit status 1 when a record was broken (the rest is ingested
anyway), 2 for usage errors and a store that cannot be opened, 130 when interrupted, else 0.
"""

from __future__ import annotations

import sys

import click
import orjson

from censorscope.store import default_url

from .driver import IngestReport
from .driver import ingest as run_ingest
from .exits import open_store_or_exit
from .stream import default_jobs


def _print_report(report: IngestReport) -> None:
    for f in report.files:
        if f.unsupported:
            click.echo(f"{f.path}: UNSUPPORTED: {f.unsupported}")
        else:
            click.echo(f"{f.path}: {f.ingested} new, {f.duplicates} duplicate, "
                       f"{f.skipped} skipped, {f.errors} errors")
    totals = report.as_dict()
    rate = totals["records"] / report.seconds if report.seconds else 0.0
    click.echo(
        f"total: {totals['records']} records, {totals['ingested']} new, "
        f"{totals['duplicates']} duplicate, {totals['skipped']} skipped, "
        f"{totals['errors']} errors, {totals['unsupported_files']} unsupported files; "
        f"{report.bytes / 1e6:.1f} MB in {report.seconds:.1f} s ({rate:.0f} records/s)")


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--store", "store_url", default=None, metavar="URL",
              help="Store URL (default $CENSORSCOPE_STORE or duckdb:censorscope.duckdb).")
@click.option("--batch-size", default=10_000, show_default=True, type=click.IntRange(1),
              help="Measurements per write.")
@click.option("--progress/--no-progress", default=None,
              help="Progress line on stderr (default: when stderr is a terminal).")
@click.option("--analyze/--no-analyze", "analyze", default=True, show_default=True,
              help="Score each measurement as it goes in (verdict rows and MAT flags).")
@click.option("--jobs", "-j", type=click.IntRange(1), default=None,
              help="Worker processes (default: the usable cores).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def ingest(paths: tuple[str, ...], store_url: str | None, batch_size: int,
           progress: bool | None, analyze: bool, jobs: int | None, as_json: bool) -> None:
    """Import OONI measurements: JSONL(.gz), post-cans (.tar.gz), JSON files, or
    directories laid out like OONI's bucket (raw/YYYYMMDD/HH/CC/testname/)."""
    show = sys.stderr.isatty() if progress is None else progress
    url = store_url or default_url()

    def problem(text: str) -> None:
        if show:
            click.echo("", err=True)  # off the progress line
        click.echo(text, err=True)

    try:
        store = open_store_or_exit(url)
        with store:
            report = run_ingest(paths, store, batch_size=batch_size, progress=show,
                                analyze=analyze, jobs=jobs or default_jobs(),
                                on_problem=problem)
    except KeyboardInterrupt:
        click.echo("censorscope ingest: interrupted (the batches written are kept; rerun "
                   "to add the rest)", err=True)
        sys.exit(130)
    if as_json:
        click.echo(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        _print_report(report)
    if not report.ok:
        sys.exit(1)
