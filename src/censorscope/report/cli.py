"""``censorscope report``: the written report of a country's incidents and outages.

Reads the store (``--store``) for ``--country`` (and ``--target``) over ``--since``/``--until``,
and writes ``--out DIR``: ``report.html``, ``report.md``, ``report.json`` and ``charts/`` (see
:mod:`.write`), into a temporary directory beside it renamed to ``DIR`` only when complete.
Prints the path of each report file.

Exit statuses (one line ``censorscope: …`` on stderr):

- 1: the report could not be written (a chart, the PDF printer or the disk failed); nothing
  is left behind and an existing ``DIR`` is kept;
- 2: usage error (bad time, country, format, URL), a store that cannot be opened, an output
  directory that cannot be created, ``--format pdf`` without Chromium;
- 3: the store is busy (held by another process);
- 4: the store holds no verdicts;
- 5: the store has no measurement from ``--country``;
- 6: the window holds no scored measurement;
- 7: nothing to report: no incident (of ``--target``) or outage of the country in the window
  is stored (run ``censorscope detect``).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import click

from censorscope.store import default_url, display_url, open_store
from censorscope.store.base import Store, StoreBusy
from censorscope.store.detections import naive_utc
from censorscope.store.migrations import LATEST

from .problems import EXIT_STORE_BUSY, EXIT_USAGE, ReportProblem

__all__ = ["EXIT_NOT_WRITTEN", "report"]

EXIT_NOT_WRITTEN = 1


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """``censorscope: message`` on stderr, then exit with ``code``."""
    click.echo(f"censorscope: {message}", err=True)
    sys.exit(code)


def _open(url: str) -> Store:
    """The store read-only (other readers may share it); a store of an older schema is
    opened to be migrated first, as every writing command would."""
    try:
        store = open_store(url, read_only=True)
        if store.schema_version() >= LATEST:
            return store
        store.close()
        return open_store(url)
    except StoreBusy as exc:
        fail(str(exc), EXIT_STORE_BUSY)
    except Exception as exc:  # any failure to open: one line, no traceback
        fail(f"cannot open the store {display_url(url)}: {exc}")


def _when(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 time "
                                 "(e.g. 2022-09-14 or 2022-09-14T12:00:00Z)") from None
    return naive_utc(parsed) if parsed.tzinfo is not None else parsed


def _country(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    cc = value.strip().upper()
    if len(cc) != 2 or not cc.isalpha():
        raise click.BadParameter(f"{value!r} is not a two-letter country code")
    return cc


def _formats(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    from .write import FORMATS

    chosen = tuple(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise click.BadParameter(f"{value!r}: choose one or more of {', '.join(FORMATS)}, "
                                 "separated by commas")
    return chosen


def _explorer(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    url = value.strip()
    if not url.startswith(("http://", "https://")) or any(ch.isspace() or ch in "<>\"'"
                                                          for ch in url):
        raise click.BadParameter(f"{value!r} is not an http(s) URL")
    return url.rstrip("/")


@click.command("report")
@click.option("--store", "store_url", default=None, metavar="URL",
              help="Store URL (default: $CENSORSCOPE_STORE or duckdb:censorscope.duckdb).")
@click.option("--country", required=True, callback=_country, metavar="CC",
              help="The country (two-letter code).")
@click.option("--target", default=None, metavar="NAME",
              help="A service (tiktok) or a domain (www.example.org); default: every "
                   "incident of the country.")
@click.option("--since", default=None, callback=_when, metavar="ISO",
              help="Window start (inclusive; UTC unless the time says otherwise).")
@click.option("--until", default=None, callback=_when, metavar="ISO",
              help="Window end (exclusive).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), metavar="DIR",
              help="Directory to write (replaced only once the new report is complete).")
@click.option("--format", "formats", default="html,md", show_default=True, callback=_formats,
              metavar="LIST", help="Any of html, md, pdf, separated by commas.")
@click.option("--png", is_flag=True, help="Also write each chart as PNG.")
@click.option("--explorer-url", default=None, callback=_explorer, metavar="BASE",
              help="Link each cited measurement to BASE/measurement/<uid>.")
def report(store_url: str | None, country: str, target: str | None, since: datetime | None,
           until: datetime | None, out: Path, formats: tuple[str, ...], png: bool,
           explorer_url: str | None) -> None:
    """Write the report of a country's incidents and outages (HTML, Markdown, PDF)."""
    from .gather import gather_facts
    from .pdf import PdfError, find_chromium
    from .target import ReportTarget
    from .write import write_report

    if since is not None and until is not None and since >= until:
        fail(f"--since {since.isoformat()} is not before --until {until.isoformat()}")
    try:
        named = ReportTarget.parse(target) if target is not None else None
    except ValueError as exc:
        fail(f"--target: {exc}")
    if "pdf" in formats:
        try:
            find_chromium()
        except PdfError as exc:
            fail(str(exc))
    url = store_url or default_url()
    store = _open(url)
    try:
        facts = gather_facts(store, country, named, since, until)
    except ReportProblem as exc:
        fail(str(exc), exc.code)
    finally:
        store.close()
    try:
        paths = write_report(facts, out, formats, png=png, explorer_url=explorer_url)
    except (PermissionError, FileExistsError, NotADirectoryError) as exc:
        fail(f"cannot write the report to {out}: {exc}")
    except Exception as exc:  # a chart, the printer, the disk: nothing was left behind
        fail(f"the report was not written ({type(exc).__name__}: {exc}); {out} is unchanged",
             EXIT_NOT_WRITTEN)
    for path in paths:
        click.echo(str(path))
