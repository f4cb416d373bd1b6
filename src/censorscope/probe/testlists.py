"""Citizen Lab test lists: load a country or the global list (bundled snapshot) or any CSV.

The bundled snapshot lives in ``censorscope/data/test-lists`` (citizenlab/test-lists @ 7f01e430,
CC BY-NC-SA 4.0; attribution in that folder's README). A CSV has the header
``url,category_code,category_description,date_added,source,notes``; the category codes and
their descriptions are the legend ``00-LEGEND-new_category_codes.csv`` (a newer copy given by
path uses the legend next to it when there is one, else the bundled legend).

Lists are checked strictly: a missing column, a URL the probe cannot measure or a category code
the legend does not know is a :class:`TestListError` naming the file and line, so nothing is
measured from a list that is only half right.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from .inputs import InputError, parse_input

__all__ = [
    "LEGEND_FILE",
    "Category",
    "TestList",
    "TestListEntry",
    "TestListError",
    "available_lists",
    "category_legend",
    "check_categories",
    "load_list",
    "load_test_list",
    "parse_test_list",
    "split_codes",
]

LEGEND_FILE = "00-LEGEND-new_category_codes.csv"
_COLUMNS = ("url", "category_code", "category_description", "date_added", "source", "notes")
_REQUIRED = ("url", "category_code")
_LEGEND_COLUMNS = ("Category Description", "New Code", "Replaces old code(s)", "Description")
_NAME_RE = re.compile(r"^(global|[A-Za-z]{2})$")


class TestListError(ValueError):
    """The named list does not exist or the CSV is not a valid Citizen Lab list."""


@dataclass(frozen=True)
class Category:
    """One category of the legend: ``NEWS`` → "News Media" and what it covers."""

    code: str
    name: str
    description: str = ""
    replaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class TestListEntry:
    """One row of a test list, with the list and line it came from."""

    url: str
    category_code: str
    category_description: str = ""
    date_added: str = ""
    source: str = ""
    notes: str = ""
    list_name: str = ""
    line: int = 0


@dataclass(frozen=True)
class TestList:
    """A loaded list: its name (``az``, ``global`` or the path), entries and legend."""

    name: str
    entries: tuple[TestListEntry, ...]
    legend: dict[str, Category]


def _bundled_dir() -> Traversable:
    return resources.files("censorscope.data").joinpath("test-lists")


def available_lists() -> list[str]:
    """Names of the bundled lists: ``global`` and lower-case country codes."""

    names = []
    for item in _bundled_dir().iterdir():
        name = item.name
        if name.endswith(".csv") and not name.startswith("00-"):
            names.append(name[: -len(".csv")])
    return sorted(names)


def _parse_legend(text: str, source: str) -> dict[str, Category]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in _LEGEND_COLUMNS[:2] if c not in (reader.fieldnames or [])]
    if missing:
        raise TestListError(f"{source}:1: not a Citizen Lab category legend (missing "
                            f"column(s) {', '.join(missing)}; expected "
                            f"{','.join(_LEGEND_COLUMNS)})")
    legend: dict[str, Category] = {}
    for row in reader:
        code = (row.get("New Code") or "").strip().upper()
        if not code:
            raise TestListError(f"{source}:{reader.line_num}: no category code")
        legend[code] = Category(
            code=code,
            name=(row.get("Category Description") or "").strip(),
            description=(row.get("Description") or "").strip(),
            replaces=tuple((row.get("Replaces old code(s)") or "").split()),
        )
    return legend


def category_legend(directory: Path | None = None) -> dict[str, Category]:
    """The category legend (code → :class:`Category`): ``directory``'s
    ``00-LEGEND-new_category_codes.csv`` if it has one, else the bundled one."""

    if directory is not None and (directory / LEGEND_FILE).is_file():
        path = directory / LEGEND_FILE
        return _parse_legend(path.read_text(encoding="utf-8"), str(path))
    return _parse_legend(_bundled_dir().joinpath(LEGEND_FILE).read_text(encoding="utf-8"),
                         LEGEND_FILE)


def split_codes(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``("GRP,NEWS", "humr")`` → ``("GRP", "NEWS", "HUMR")``: repeated and comma-separated
    codes, upper-cased, first occurrence kept."""

    out: list[str] = []
    for value in values:
        for part in value.split(","):
            code = part.strip().upper()
            if code and code not in out:
                out.append(code)
    return tuple(out)


def check_categories(codes: tuple[str, ...], legend: dict[str, Category]) -> tuple[str, ...]:
    """``codes`` (see :func:`split_codes`) if the legend knows each, else a
    :class:`TestListError` listing the known codes."""

    wanted = split_codes(codes)
    unknown = [c for c in wanted if c not in legend]
    if unknown:
        raise TestListError(f"unknown category code(s) {', '.join(unknown)}; known codes: "
                            f"{', '.join(sorted(legend))}")
    return wanted


def parse_test_list(
    text: str, *, source: str = "<csv>", legend: dict[str, Category] | None = None,
    list_name: str = "",
) -> list[TestListEntry]:
    """Parse CSV text; a :class:`TestListError` naming ``source`` and the line for a missing
    column, an empty or unmeasurable URL, or a category code ``legend`` (default: the bundled
    one) does not know."""

    known = legend if legend is not None else category_legend()
    reader = csv.DictReader(io.StringIO(text))
    fields = reader.fieldnames or []
    missing = [f for f in _REQUIRED if f not in fields]
    if missing:
        raise TestListError(
            f"{source}:1: not a Citizen Lab test list (missing column(s) {', '.join(missing)}; "
            f"expected header {','.join(_COLUMNS)})"
        )
    out: list[TestListEntry] = []
    line = 1
    for row in reader:
        first = line + 1  # where this record starts (a quoted field may span lines)
        line = reader.line_num
        if None in row:
            raise TestListError(f"{source}:{first}: more fields than the header has")
        values = {k: (row.get(k) or "").strip() for k in _COLUMNS}
        if not values["url"]:
            raise TestListError(f"{source}:{first}: no url")
        try:
            parse_input(values["url"])
        except InputError as exc:
            raise TestListError(f"{source}:{first}: bad url {exc}") from exc
        code = values["category_code"].upper()
        if code not in known:
            raise TestListError(f"{source}:{first}: unknown category code {code!r} (known: "
                                f"{', '.join(sorted(known))})")
        out.append(TestListEntry(
            url=values["url"], category_code=code,
            category_description=values["category_description"],
            date_added=values["date_added"], source=values["source"], notes=values["notes"],
            list_name=list_name, line=first,
        ))
    return out


def load_list(name_or_path: str) -> TestList:
    """A bundled list (``global``, ``AZ``, ``az`` …) or a CSV file path, checked."""

    path = Path(name_or_path)
    if _NAME_RE.match(name_or_path) and not path.exists():
        name = name_or_path.lower()
        item = _bundled_dir().joinpath(f"{name}.csv")
        if not item.is_file():
            raise TestListError(
                f"no bundled test list {name_or_path!r}; bundled: {', '.join(available_lists())}"
                " (or pass the path of a Citizen Lab CSV)"
            )
        legend = category_legend()
        text, source = item.read_text(encoding="utf-8"), f"{name}.csv"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TestListError(f"cannot read test list {name_or_path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise TestListError(f"{name_or_path}: not UTF-8 text ({exc.reason})") from exc
        legend = category_legend(path.parent)
        name = source = str(path)
    entries = parse_test_list(text, source=source, legend=legend, list_name=name)
    return TestList(name=name, entries=tuple(entries), legend=legend)


def load_test_list(name_or_path: str, *, categories: tuple[str, ...] = ()) -> list[TestListEntry]:
    """Entries of a bundled list or a CSV file path (see :func:`load_list`).

    ``categories`` (codes, repeated or comma-separated, any case) keeps only rows of those
    categories; a code the legend does not know is a :class:`TestListError`.
    """

    loaded = load_list(name_or_path)
    if not categories:
        return list(loaded.entries)
    wanted = set(check_categories(categories, loaded.legend))
    return [e for e in loaded.entries if e.category_code in wanted]
