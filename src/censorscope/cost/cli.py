"""``censorscope cost``: what a disruption costs, low / central / high, with its trace.

Given a country, a year, a kind and a duration::

    censorscope cost --country AZ --year 2020 --kind national --days 1
    censorscope cost --country AZ --year 2020 --kind services --days 13 --services facebook,x
    censorscope cost --country AZ --year 2020 --kind regional --days 2 --affected-share 40

or a detected event of a store (a ``shutdown`` outage or a service-restriction incident, by
the id ``censorscope incidents``/``outages`` print), priced with its measured duration,
affected share and residual connectivity::

    censorscope cost --incident out-28302c49e33e --store duckdb:lab.duckdb

``--format table`` (default) prints the range, the inputs with their sources and every step
with its formula; ``--format json`` prints ``{"low", "central", "high", "currency": "USD",
"inputs": {…}, "trace": [...]}`` (:meth:`Estimate.to_json`).

Exit statuses (a one-line ``censorscope: …`` on stderr for each):

- 0: the estimate was printed;
- 2: usage: a missing or ill-typed option, a store that cannot be opened;
- 3: the store is busy (another process holds the DuckDB file);
- 4: unknown country (no World Bank economy has that ISO-2 code);
- 5: no World Bank GDP for that year (the message lists the years with data);
- 6: a bad value: days not above 0, ``--residual`` outside 0–100, ``--affected-share``
  outside (0, 100];
- 7: options that do not fit together: ``--services`` with kind national or regional, kind
  regional without ``--affected-share``, an unknown service, estimate options with
  ``--incident``;
- 8: ``--incident`` without a store (no ``--store``, no ``$CENSORSCOPE_STORE``, or no store
  file at that path);
- 9: no incident or outage of the store has that id;
- 10: the event is neither a shutdown nor a service restriction (nothing to price).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Final, NoReturn
from urllib.parse import unquote, urlsplit

import click
import orjson

from censorscope.store import display_url, open_store
from censorscope.store.base import Store, StoreBusy

from .errors import CostInputError
from .estimate import KINDS, Estimate, estimate
from .event import estimate_for_event

__all__ = ["EXIT_BAD_VALUE", "EXIT_NOT_PRICEABLE", "EXIT_NO_DATA", "EXIT_NO_STORE",
           "EXIT_OPTIONS", "EXIT_STORE_BUSY", "EXIT_UNKNOWN_COUNTRY", "EXIT_UNKNOWN_EVENT",
           "EXIT_USAGE", "cost"]

EXIT_USAGE: Final = 2
EXIT_STORE_BUSY: Final = 3
EXIT_UNKNOWN_COUNTRY: Final = 4
EXIT_NO_DATA: Final = 5
EXIT_BAD_VALUE: Final = 6
EXIT_OPTIONS: Final = 7
EXIT_NO_STORE: Final = 8
EXIT_UNKNOWN_EVENT: Final = 9
EXIT_NOT_PRICEABLE: Final = 10
_BY_REASON: Final = {"country": EXIT_UNKNOWN_COUNTRY, "year": EXIT_NO_DATA,
                     "value": EXIT_BAD_VALUE, "options": EXIT_OPTIONS}


def fail(message: str, code: int) -> NoReturn:
    """``censorscope: message`` on stderr, then exit with ``code``."""
    click.echo(f"censorscope: {message}", err=True)
    sys.exit(code)


def _duckdb_path(url: str) -> str | None:
    """The file of a DuckDB store URL (None for other engines and in-memory stores)."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("", "duckdb"):
        return None
    path = unquote(url.split(":", 1)[1]) if scheme == "duckdb" else url
    if path.startswith("//"):
        path = path[2:]
    return None if path in ("/:memory:", ":memory:") else path


def _open(url: str | None) -> Store:
    url = url or os.environ.get("CENSORSCOPE_STORE")
    if not url:
        fail("--incident needs the store it was detected in: give --store URL "
             "(or set $CENSORSCOPE_STORE)", EXIT_NO_STORE)
    path = _duckdb_path(url)
    if path is not None and not os.path.isfile(path):
        fail(f"no store at {path} (from {display_url(url)})", EXIT_NO_STORE)
    try:
        return open_store(url)
    except StoreBusy as exc:
        fail(str(exc), EXIT_STORE_BUSY)
    except Exception as exc:  # any failure to open: one line, no traceback
        fail(f"cannot open the store {display_url(url)}: {exc}", EXIT_USAGE)


def _event(store: Store, event_id: str) -> dict[str, Any]:
    for table in ("incidents", "outages"):
        for event in store.read_detections(table):
            if event.get("id") == event_id:
                return event
    fail(f"the store {store.url} has no incident or outage {event_id!r} (censorscope "
         "incidents / outages list them)", EXIT_UNKNOWN_EVENT)


def _money(value: float) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.2f} M"
    return f"{value:,.0f}"


def _value(value: Any, unit: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ", ".join(value) if isinstance(value, list) else str(value)
    if unit == "year":
        return str(value)
    if unit.startswith("share"):
        return f"{value:.6g} ({value * 100:.4g} %)"
    if unit.startswith("USD"):
        return f"{value:,.2f}"
    if unit == "persons" or abs(value) >= 1e6 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.6g}"


def render_table(result: Estimate) -> str:
    """The estimate for people: the range, the inputs with sources, the steps."""
    inputs = result.inputs
    country = inputs["country"]
    lines = [
        f"Cost of a {inputs['kind']['value']} disruption in {country['source'].split(' (')[0]} "
        f"({country['value']}), {inputs['days']['value']:g} day(s), World Bank data of "
        f"{inputs['year']['value']} ({result.currency})",
        "",
        f"  low      {_money(result.low):>14}",
        f"  central  {_money(result.central):>14}",
        f"  high     {_money(result.high):>14}",
        "",
        "Inputs",
    ]
    width = max(len(k) for k in inputs)
    for name, item in inputs.items():
        lines.append(f"  {name:<{width}}  {_value(item['value'], item['unit'])} "
                     f"{item['unit']}  — {item['source']}")
    lines += ["", "Steps (formula over the inputs and earlier steps → value)"]
    for i, step in enumerate(result.trace, 1):
        lines.append(f"  {i:>2}. {step['step']} [{step['method']}] = {step['formula']}")
        note = f"  — {step['note']}" if step["note"] else ""
        lines.append(f"      = {_value(step['value'], step['unit'])} {step['unit']}{note}")
    return "\n".join(lines) + "\n"


@click.command("cost")
@click.option("--country", help="Two-letter country code (ISO 3166-1), e.g. AZ.")
@click.option("--year", type=int, help="Year of the World Bank figures (GDP, population, "
              "internet users).")
@click.option("--kind", type=click.Choice(KINDS), help="national: the whole country offline; "
              "regional: a part of it (--affected-share); services: social media and apps.")
@click.option("--days", type=float, help="Duration in days (fractions allowed: 0.5 = 12 h).")
@click.option("--services", help="Comma-separated services for --kind services (default: "
              "every known service), e.g. facebook,whatsapp,youtube.")
@click.option("--residual", type=float, default=0.0, show_default=True,
              help="Connectivity left during the disruption, in % of ordinary levels.")
@click.option("--affected-share", type=float,
              help="Part of the country affected, in % (required for --kind regional).")
@click.option("--incident", "incident_id", help="Price a detected incident or outage of "
              "--store by its id, with its measured scope and residual connectivity.")
@click.option("--store", "store_url", help="Store URL for --incident (default: "
              "$CENSORSCOPE_STORE).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def cost(country: str | None, year: int | None, kind: str | None, days: float | None,
         services: str | None, residual: float, affected_share: float | None,
         incident_id: str | None, store_url: str | None, fmt: str) -> None:
    """What a disruption costs: low / central / high (USD), every input and step shown."""
    try:
        if incident_id is not None:
            given = [name for name, v in (("--country", country), ("--year", year),
                                          ("--kind", kind), ("--days", days),
                                          ("--services", services),
                                          ("--affected-share", affected_share)) if v is not None]
            if residual:
                given.append("--residual")
            if given:
                fail(f"--incident takes its country, year, kind, duration and scope from the "
                     f"event: drop {', '.join(given)}", EXIT_OPTIONS)
            with _open(store_url) as store:
                result = estimate_for_event(store, _event(store, incident_id))
            if result is None:
                fail(f"{incident_id} is neither a shutdown nor a service restriction: no "
                     "cost model applies", EXIT_NOT_PRICEABLE)
        else:
            missing = [name for name, v in (("--country", country), ("--year", year),
                                            ("--kind", kind), ("--days", days)) if v is None]
            if missing:
                fail(f"missing {', '.join(missing)} (or give --incident ID --store URL)",
                     EXIT_USAGE)
            assert country is not None and year is not None and kind is not None
            assert days is not None
            names = [s for s in (services or "").split(",") if s.strip()]
            if services is not None and not names:
                fail("--services names no service", EXIT_OPTIONS)
            result = estimate(country, year, kind, days, services=names,
                              residual_pct=residual,
                              affected_share=None if affected_share is None
                              else affected_share / 100.0)
    except CostInputError as exc:
        fail(str(exc), _BY_REASON[exc.reason])
    if fmt == "json":
        click.echo(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(render_table(result), nl=False)
