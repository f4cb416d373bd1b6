"""``censorscope alerts``: announce the store's incidents and outages; ``--list`` the past.

A run reads the incidents and outages ``censorscope detect`` stored, decides the alerts
(:mod:`.hysteresis`) against the state file (``--state``, default ``FEED.state.json``),
rewrites the Atom feed (``--feed``) and POSTs each new alert to every ``--webhook``, signed
with the secret read from ``--secret-file`` (never from the command line, never printed).

Exit status: 0 done (or nothing to announce); 1 a webhook delivery failed after its retries
(it is retried on the next run) or was rejected; 2 usage error, unreadable secret or state,
a store that cannot be opened; 3 the store is busy (held by another process).
"""

from __future__ import annotations

import json
import stat
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import click

from censorscope.store import default_url, open_store
from censorscope.store.base import Store, StoreBusy

from .episodes import Episode, from_json, parse_time
from .hysteresis import Policy
from .run import DEFAULT_EVIDENCE_URL, Settings, run, state_path_for
from .state import AlertRecord, StateError, load
from .webhook import RetryPolicy

__all__ = ["alerts", "data_clock", "parse_duration", "read_secret"]

EXIT_DELIVERY = 1
EXIT_USAGE = 2
EXIT_STORE_BUSY = 3
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"censorscope alerts: {message}", err=True)
    sys.exit(code)


def parse_duration(text: str) -> timedelta:
    """``90``, ``90s``, ``30m``, ``6h``, ``2d`` → timedelta; ValueError otherwise."""
    text = text.strip().lower()
    unit = text[-1] if text and text[-1] in _UNITS else "s"
    number = text[:-1] if text and text[-1] in _UNITS else text
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"bad duration {text!r} (e.g. 90s, 30m, 6h, 2d)") from None
    if value < 0:
        raise ValueError(f"negative duration {text!r}")
    return timedelta(seconds=value * _UNITS[unit])


def read_secret(path: Path) -> bytes:
    """The shared secret in ``path`` (surrounding whitespace stripped). Warns on stderr when
    the file is readable by group or others; the secret itself is never shown."""
    try:
        mode = path.stat().st_mode
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise ValueError(f"cannot read the secret file {path}: {exc.strerror}") from None
    if not secret:
        raise ValueError(f"the secret file {path} is empty")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        click.echo(f"censorscope alerts: warning: {path} is readable by others "
                   f"(chmod 600 {path})", err=True)
    return secret


def data_clock(store: Store) -> datetime | None:
    """The time of the latest scored measurement in the store (None: there is none). Reads
    only the latest days that have measurements, until one of them has a scored one."""
    days = sorted({r["day"] for r in store.query_aggregate(("day",)) if r["day"] is not None},
                  reverse=True)
    for day in days:
        latest: datetime | None = None
        for rows in store.iter_point_rows(since=datetime(day.year, day.month, day.day)):
            for row in rows:
                t = row.measurement_start_time
                if latest is None or t > latest:
                    latest = t
        if latest is not None:
            return latest
    return None


def _read_episodes(store: Store, cc: str | None) -> list[Episode]:
    out = [from_json("incident", d) for d in store.read_detections("incidents", cc=cc)]
    out += [from_json("outage", d) for d in store.read_detections("outages", cc=cc)]
    return out


def _open(url: str) -> Store:
    try:
        return open_store(url)
    except StoreBusy as exc:
        _fail(str(exc), EXIT_STORE_BUSY)
    except Exception as exc:  # any failure to open: one line, no traceback
        _fail(f"cannot open the store {url}: {exc}")


def _deliveries(alert: AlertRecord) -> str:
    return ", ".join(f"{d.sink} {d.status}" + (f" ({d.error})" if d.error else "")
                     for d in alert.deliveries) or "-"


def _list(state_path: Path, fmt: str) -> None:
    try:
        state = load(state_path)
    except StateError as exc:
        _fail(str(exc))
    if fmt == "json":
        click.echo(json.dumps([a.to_json() for a in state.alerts], indent=1))
        return
    if not state.alerts:
        click.echo(f"no alerts yet in {state_path}")
        return
    for a in state.alerts:
        click.echo(f"{a.seq:>4}  {a.made_at:%Y-%m-%d %H:%M:%S}  {a.event:<7}  {a.title}")
        click.echo(f"      {a.summary}")
        click.echo(f"      deliveries: {_deliveries(a)}")


@click.command("alerts")
@click.option("--store", "store_url", default=None, envvar="CENSORSCOPE_STORE",
              help="Store URL (default $CENSORSCOPE_STORE or duckdb:censorscope.duckdb).")
@click.option("--feed", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Atom feed file to (re)write.")
@click.option("--state", "state_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Alert state file [default: FEED.state.json].")
@click.option("--webhook", "webhooks", multiple=True,
              help="POST each alert to this http(s) URL (repeatable).")
@click.option("--secret-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="File holding the webhooks' shared secret (HMAC-SHA256).")
@click.option("--list", "list_only", is_flag=True, help="List the past alerts and exit.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="--list output.")
@click.option("--country", default=None, help="Only this country's incidents and outages.")
@click.option("--quiet", "quiet_text", default="1h", show_default=True,
              help="Hysteresis: how long an end (or a scope change) must hold.")
@click.option("--clock", type=click.Choice(["data", "wall"]), default="data",
              show_default=True,
              help="What the quiet period is measured on: the latest measurement's time, or "
                   "the wall clock.")
@click.option("--now", "now_text", default=None, help="Use this ISO time as now (tests).")
@click.option("--evidence-url", default=DEFAULT_EVIDENCE_URL, show_default=True,
              help="Link template of a measurement ({uid}).")
@click.option("--feed-url", default=None, help="The feed's public URL (its self link).")
@click.option("--attempts", default=5, show_default=True, type=click.IntRange(1, 20),
              help="Webhook: attempts per alert.")
@click.option("--retry-time", default=30.0, show_default=True,
              type=click.FloatRange(0.1, 3600), help="Webhook: seconds for all attempts.")
def alerts(store_url: str | None, feed: Path | None, state_path: Path | None,
           webhooks: tuple[str, ...], secret_file: Path | None, list_only: bool, fmt: str,
           country: str | None, quiet_text: str, clock: str, now_text: str | None,
           evidence_url: str, feed_url: str | None, attempts: int, retry_time: float) -> None:
    """Announce incidents and outages once (Atom feed, signed webhooks); --list the past."""
    if state_path is None:
        if feed is None:
            _fail("give --feed FILE (the state goes next to it) or --state FILE")
        state_path = state_path_for(feed)
    if list_only:
        _list(state_path, fmt)
        return
    if not feed and not webhooks:
        click.echo("censorscope alerts: no --feed and no --webhook: alerts are only recorded "
                   f"in {state_path}", err=True)
    try:
        quiet = parse_duration(quiet_text)
        now_given = parse_time(now_text) if now_text else None
        secret = read_secret(secret_file) if secret_file else None
        settings = Settings(
            state=state_path, feed=feed, webhooks=webhooks, secret=secret,
            evidence_url=evidence_url, feed_url=feed_url, policy=Policy(quiet),
            retry=RetryPolicy(attempts=attempts, total=retry_time))
    except ValueError as exc:
        _fail(str(exc))
    url = store_url or default_url()
    store = _open(url)
    try:
        current = _read_episodes(store, country.upper() if country else None)
        now = now_given
        if now is None and clock == "data":
            now = data_clock(store)
    except ValueError as exc:
        _fail(f"{url}: {exc}")
    finally:
        store.close()
    if now is None:
        now = datetime.now(UTC).replace(tzinfo=None)
    if not current:
        click.echo(f"censorscope alerts: no incidents or outages in {url} "
                   "(run censorscope detect first?)", err=True)
    try:
        report = run(current, settings, now=now)
    except StateError as exc:
        _fail(str(exc))
    for a in report.made:
        click.echo(f"{a.event:<7}  {a.title}")
    if not report.made:
        click.echo("no new alerts")
    bad = report.count("failed") + report.count("rejected")
    if report.deliveries:
        click.echo(f"webhooks: {report.count('delivered')} delivered, "
                   f"{report.count('failed')} failed, {report.count('rejected')} rejected")
    if bad:
        for a, d in report.deliveries:
            if d.status != "delivered":
                click.echo(f"censorscope alerts: {a.id} to {d.sink}: {d.status} after "
                           f"{d.attempts} attempts ({d.error})", err=True)
        sys.exit(EXIT_DELIVERY)
