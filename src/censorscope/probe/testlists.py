"""Citizen Lab test lists: load a country or the global list (bundled snapshot) or any CSV.

The bundled snapshot lives in ``censorscope/data/test-lists`` (citizenlab/test-lists @ 7f01e430,
CC BY-NC-SA 4.0; attribution in that folder's README). A CSV has the header
``url,category_code,category_description,date_added,source,notes``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = [
    "TestListEntry",
    "TestListError",
    "available_lists",
    "load_test_list",
    "parse_test_list",
]

_REQUIRED = ("url", "category_code")
_NAME_RE = re.compile(r"^(global|[A-Za-z]{2})$")


class TestListError(ValueError):
    """The named list does not exist or the CSV is not a Citizen Lab list."""


@dataclass(frozen=True)
class TestListEntry:
    """One row of a test list."""

    url: str
    category_code: str
    category_description: str = ""


def _bundled_dir() -> resources.abc.Traversable:
    return resources.files("censorscope.data").joinpath("test-lists")


def available_lists() -> list[str]:
    """Names of the bundled lists: ``global`` and lower-case country codes."""

    names = []
    for item in _bundled_dir().iterdir():
        name = item.name
        if name.endswith(".csv") and not name.startswith("00-"):
            names.append(name[: -len(".csv")])
    return sorted(names)


def parse_test_list(text: str, *, source: str = "<csv>") -> list[TestListEntry]:
    """Parse CSV text; raise :class:`TestListError` naming ``source`` when it is not a list."""

    reader = csv.DictReader(io.StringIO(text))
    fields = reader.fieldnames or []
    missing = [f for f in _REQUIRED if f not in fields]
    if missing:
        raise TestListError(
            f"{source}: not a Citizen Lab test list (missing column(s) {', '.join(missing)}; "
            "expected header url,category_code,category_description,date_added,source,notes)"
        )
    out: list[TestListEntry] = []
    for row in reader:
        url = (row.get("url") or "").strip()
        if not url:
            continue
        out.append(
            TestListEntry(
                url=url,
                category_code=(row.get("category_code") or "").strip(),
                category_description=(row.get("category_description") or "").strip(),
            )
        )
    return out


def load_test_list(name_or_path: str, *, categories: tuple[str, ...] = ()) -> list[TestListEntry]:
    """Entries of a bundled list (``global``, ``AZ``, ``az`` …) or of a CSV file path.

    ``categories`` keeps only rows whose category code is one of them (case-insensitive).
    """

    path = Path(name_or_path)
    if _NAME_RE.match(name_or_path) and not path.exists():
        name = name_or_path.lower()
        item = _bundled_dir().joinpath(f"{name}.csv")
        if not item.is_file():
            raise TestListError(
                f"no bundled test list {name_or_path!r}; bundled: {', '.join(available_lists())}"
                " (or pass the path of a Citizen Lab CSV)"
            )
        entries = parse_test_list(item.read_text(encoding="utf-8"), source=f"{name}.csv")
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TestListError(f"cannot read test list {name_or_path}: {exc.strerror}") from exc
        entries = parse_test_list(text, source=str(path))
    if categories:
        wanted = {c.upper() for c in categories}
        entries = [e for e in entries if e.category_code.upper() in wanted]
    return entries
