"""``censorscope lists`` (also ``censorscope probe lists``): the Citizen Lab test lists.

``lists`` alone names the bundled lists and their sizes; ``lists show`` prints entries,
``lists stats`` counts them per category and per list, ``lists categories`` prints the
legend. A list is a country code, ``global`` or the path of a CSV (a newer copy; its
folder's legend is used when it has one). Every command takes ``--json``. Loading and
checking is ``probe/testlists.py``'s job; a bad list is a usage error naming file and line.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import click

from .budget import priority_of
from .testlists import (
    Category,
    TestList,
    TestListError,
    available_lists,
    category_legend,
    check_categories,
    load_list,
)

__all__ = ["lists"]

_ATTRIBUTION = "Citizen Lab test lists, citizenlab/test-lists @ 7f01e430, CC BY-NC-SA 4.0."
_LIST_ARG = "CC|global|PATH.csv"
_CATEGORY_HELP = "Keep only these category codes (NEWS, GRP…); repeatable or comma-separated."


def _load(names: tuple[str, ...], categories: tuple[str, ...]) -> list[TestList]:
    """The lists, each kept to ``categories``; a usage error for a bad list or code."""

    out = []
    try:
        for name in names:
            loaded = load_list(name)
            if categories:
                wanted = set(check_categories(categories, loaded.legend))
                loaded = TestList(loaded.name, tuple(e for e in loaded.entries
                                                     if e.category_code in wanted),
                                  loaded.legend)
            out.append(loaded)
    except TestListError as exc:
        raise click.UsageError(str(exc)) from exc
    return out


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, indent=1, ensure_ascii=False))


@click.group("lists", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def lists(ctx: click.Context, as_json: bool) -> None:
    """The Citizen Lab test lists (bundled snapshot, or a newer copy given by path).

    Without a subcommand: the bundled lists and their number of URLs.
    Citizen Lab test lists, citizenlab/test-lists @ 7f01e430, CC BY-NC-SA 4.0.

    \b
    Examples:
      censorscope lists stats az global
      censorscope lists show az --category NEWS,GRP
      censorscope lists show ~/test-lists/lists/az.csv --json
      censorscope lists categories
    """

    if ctx.invoked_subcommand is not None:
        return
    sizes = {name: len(load_list(name).entries) for name in available_lists()}
    if as_json:
        _dump({"lists": sizes, "attribution": _ATTRIBUTION})
        return
    for name, size in sizes.items():
        click.echo(f"{name:8} {size:5} URLs")


@lists.command("show")
@click.argument("names", nargs=-1, required=True, metavar=f"{_LIST_ARG}...")
@click.option("--category", "-c", "categories", multiple=True, metavar="CODE",
              help=_CATEGORY_HELP)
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON array of entries (with list and line).")
def show_cmd(names: tuple[str, ...], categories: tuple[str, ...], as_json: bool) -> None:
    """Print the entries of test lists: list:line, category code, URL."""

    loaded = _load(names, categories)
    entries = [e for tl in loaded for e in tl.entries]
    if as_json:
        _dump([{"list": e.list_name, "line": e.line, "url": e.url,
                "category_code": e.category_code,
                "category_description": e.category_description, "date_added": e.date_added,
                "source": e.source, "notes": e.notes} for e in entries])
        return
    for e in entries:
        click.echo(f"{e.list_name}:{e.line}\t{e.category_code}\t{e.url}")
    click.echo(f"{len(entries)} entries", err=True)


def _names_of(loaded: list[TestList]) -> dict[str, Category]:
    merged: dict[str, Category] = {}
    for tl in loaded:
        for code, cat in tl.legend.items():
            merged.setdefault(code, cat)
    return merged


@lists.command("stats")
@click.argument("names", nargs=-1, metavar=f"[{_LIST_ARG}...]")
@click.option("--category", "-c", "categories", multiple=True, metavar="CODE",
              help=_CATEGORY_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats_cmd(names: tuple[str, ...], categories: tuple[str, ...], as_json: bool) -> None:
    """Count URLs per category and per list (default: every bundled list)."""

    loaded = _load(names or tuple(available_lists()), categories)
    counts = {tl.name: Counter(e.category_code for e in tl.entries) for tl in loaded}
    total: Counter[str] = Counter()
    for c in counts.values():
        total.update(c)
    legend = _names_of(loaded)
    codes = sorted(total, key=lambda code: (-total[code], code))
    if as_json:
        _dump({
            "lists": {name: {"urls": sum(c.values()), "categories": dict(sorted(c.items()))}
                      for name, c in counts.items()},
            "categories": {code: {"name": legend[code].name, "urls": total[code]}
                           for code in codes},
            "urls": sum(total.values()),
        })
        return
    width = max([8, *(len(name) for name in counts)])
    head = "".join(f"{name:>{width}}" for name in counts)
    click.echo(f"{'code':6} {'category':36}{head}{'total':>{width}}")
    for code in codes:
        cells = "".join(f"{counts[name][code]:>{width}}" for name in counts)
        click.echo(f"{code:6} {legend[code].name[:36]:36}{cells}{total[code]:>{width}}")
    cells = "".join(f"{sum(c.values()):>{width}}" for c in counts.values())
    click.echo(f"{'':6} {'all categories':36}{cells}{sum(total.values()):>{width}}")


@lists.command("categories")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def categories_cmd(as_json: bool) -> None:
    """The category legend (00-LEGEND-new_category_codes.csv): code, priority under
    --max-runtime (higher first), name, description."""

    legend = category_legend()
    if as_json:
        _dump({code: {"name": c.name, "description": c.description,
                      "replaces": list(c.replaces), "priority": priority_of(code)}
               for code, c in sorted(legend.items())})
        return
    for code, cat in sorted(legend.items()):
        click.echo(f"{code:6} {priority_of(code):3} {cat.name:36} {cat.description}")
