"""``censorscope detect``, ``censorscope incidents`` and ``censorscope outages``.

``detect`` reads the stored verdicts of a window (``--since``/``--until``, ``--country``),
finds change points, incidents and outages, and replaces the window's stored results with
them (running it again over the same store changes nothing); it prints one summary line.
``incidents`` and ``outages`` print what is stored, as a table or as JSON (a list of
``Incident.to_json()`` / ``Outage.to_json()``).

Exit statuses (besides ``ingest``'s 2 for usage / a store that cannot be opened and 3 for a
busy store):

- 4: the store holds no verdicts (nothing was analysed: ingest with analysis, or reprocess);
- 5: ``--country`` names a country the store has no measurement from;
- 6: the window holds no scored measurement (``--since``/``--until`` outside the data).
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from typing import Any, Final

import click
import orjson

from censorscope.store import default_url, display_url
from censorscope.store.base import Store
from censorscope.store.detections import DetectionWindow, naive_utc

from .exits import fail, open_store_or_exit

__all__ = ["EXIT_EMPTY_WINDOW", "EXIT_NO_VERDICTS", "EXIT_UNKNOWN_COUNTRY", "detect",
           "incidents", "outages"]

EXIT_NO_VERDICTS: Final = 4
EXIT_UNKNOWN_COUNTRY: Final = 5
EXIT_EMPTY_WINDOW: Final = 6


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


def _country(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    cc = value.strip().upper()
    if len(cc) != 2 or not cc.isalpha():
        raise click.BadParameter(f"{value!r} is not a two-letter country code")
    return cc


_STORE = click.option("--store", "store_url", default=None, metavar="URL",
                      help="Store URL (default: $CENSORSCOPE_STORE or duckdb:censorscope.duckdb).")
_COUNTRY = click.option("--country", default=None, callback=_country, metavar="CC",
                        help="Only this country (two-letter code).")
_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                       show_default=True, help="Table for people, JSON for programs.")


def _check_country(store: Store, cc: str | None) -> None:
    if cc is None:
        return
    if not store.query_aggregate(["probe_cc"], probe_cc=[cc]):
        fail(f"the store has no measurement from {cc} (unknown country)", EXIT_UNKNOWN_COUNTRY)


def _window_text(window: DetectionWindow) -> str:
    since = window.since.isoformat() if window.since else "the first measurement"
    until = window.until.isoformat() if window.until else "the last"
    where = f" in {window.cc}" if window.cc else ""
    return f"from {since} to {until}{where}"


@click.command("detect")
@_STORE
@click.option("--since", default=None, callback=_when, metavar="ISO",
              help="Window start (inclusive; UTC unless the time says otherwise).")
@click.option("--until", default=None, callback=_when, metavar="ISO",
              help="Window end (exclusive).")
@_COUNTRY
def detect(store_url: str | None, since: datetime | None, until: datetime | None,
           country: str | None) -> None:
    """Find change points, incidents and outages in the stored verdicts and store them.

    Re-running over the same window replaces that window's results (idempotent)."""
    from .detection import NoPoints, run_detection  # the pipeline loads only when used

    if since is not None and until is not None and since >= until:
        fail(f"--since {since.isoformat()} is not before --until {until.isoformat()}")
    url = store_url or default_url()
    store = open_store_or_exit(url)
    try:
        if store.count("verdicts") == 0:
            fail(f"the store {display_url(url)} holds no verdicts: analyse measurements first "
                 "(censorscope ingest, or censorscope reprocess)", EXIT_NO_VERDICTS)
        _check_country(store, country)
        window = DetectionWindow(since, until, country)
        began = time.monotonic()
        try:
            run = run_detection(store, window)
        except NoPoints:
            fail(f"no scored measurement {_window_text(window)}", EXIT_EMPTY_WINDOW)
        d = run.detection
        click.echo(f"detect: {run.points} verdicts {_window_text(window)}: "
                   f"{len(d.change_points)} change points, {len(d.incidents)} incidents, "
                   f"{len(d.outages)} outages written to {url} "
                   f"in {time.monotonic() - began:.1f} s")
    finally:
        store.close()


def _read(store_url: str | None, table: str, country: str | None) -> list[dict[str, Any]]:
    url = store_url or default_url()
    store = open_store_or_exit(url)
    try:
        _check_country(store, country)
        return store.read_detections(table, cc=country)
    finally:
        store.close()


def _day(value: str | None) -> str:
    return "ongoing" if value is None else value.replace("T", " ").removesuffix("Z")


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _print_json(items: list[dict[str, Any]]) -> None:
    sys.stdout.buffer.write(orjson.dumps(items, option=orjson.OPT_INDENT_2) + b"\n")


@click.command("incidents")
@_STORE
@_COUNTRY
@_FORMAT
def incidents(store_url: str | None, country: str | None, fmt: str) -> None:
    """List the stored incidents (run ``censorscope detect`` first)."""
    items = _read(store_url, "incidents", country)
    if fmt == "json":
        _print_json(items)
        return
    if not items:
        click.echo("no incidents")
        return
    rows = []
    for inc in items:
        networks = ", ".join(f"AS{n['asn']} {_day(n['onset'])}" for n in inc["networks"])
        rows.append([inc["id"], inc["cc"], inc["target"], inc["scope"], _day(inc["start"]),
                     _day(inc["end"]), networks, inc.get("title", "")])
    _table(rows, ["id", "cc", "target", "scope", "start", "end", "networks (onset)", "title"])


@click.command("outages")
@_STORE
@_COUNTRY
@_FORMAT
def outages(store_url: str | None, country: str | None, fmt: str) -> None:
    """List the stored outages (run ``censorscope detect`` first)."""
    items = _read(store_url, "outages", country)
    if fmt == "json":
        _print_json(items)
        return
    if not items:
        click.echo("no outages")
        return
    rows = [[o["id"], o["cc"], "-" if o["asn"] is None else f"AS{o['asn']}", o["kind"],
             _day(o["start"]), _day(o["end"]), f"{o['confidence']:.2f}"] for o in items]
    _table(rows, ["id", "cc", "network", "kind", "start", "end", "confidence"])
