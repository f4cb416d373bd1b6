"""Where a run's inputs come from: ``--input``, ``--input-file`` and ``--test-list``.

:func:`gather_inputs` reads them in that order. Malformed ``--input``/file URLs are kept as
strings, so the runner reports and skips them; a test list is checked as a whole
(``testlists``: a bad row names its file and line) and its rows become
:class:`~censorscope.probe.inputs.MeasurementInput` items carrying their category code.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .inputs import InputSourceError, MeasurementInput, parse_input, read_input_file
from .testlists import TestListError, check_categories, load_list, split_codes

__all__ = ["gather_inputs", "list_inputs"]


def list_inputs(names: Iterable[str], categories: tuple[str, ...] = ()) -> list[MeasurementInput]:
    """The entries of the test lists ``names`` (in order) as measurement inputs, kept to
    ``categories`` (codes, comma-separated or repeated; each must be in the list's legend).
    :class:`InputSourceError` for a list or category that cannot be used."""

    wanted = split_codes(categories)
    out: list[MeasurementInput] = []
    try:
        for name in names:
            loaded = load_list(name)
            keep = set(check_categories(wanted, loaded.legend)) if wanted else None
            for entry in loaded.entries:
                if keep is None or entry.category_code in keep:
                    out.append(parse_input(entry.url, category_code=entry.category_code))
    except TestListError as exc:
        raise InputSourceError(str(exc)) from exc
    return out


def gather_inputs(
    urls: Iterable[str], files: Iterable[Path], test_lists: Iterable[str] | str | None,
    categories: tuple[str, ...] = (),
) -> list[str | MeasurementInput]:
    """The inputs of the given sources, in order: URLs, each file's lines, the test lists'
    entries (filtered by ``categories``). :class:`InputSourceError` for a source that cannot
    be used (unreadable file, bad list, unknown category, ``categories`` without a list)."""

    items: list[str | MeasurementInput] = list(urls)
    for path in files:
        try:
            items.extend(read_input_file(path))
        except OSError as exc:
            raise InputSourceError(f"cannot read --input-file {path}: {exc.strerror}") from exc
    names = [test_lists] if isinstance(test_lists, str) else list(test_lists or ())
    if names:
        items.extend(list_inputs(names, categories))
    elif categories:
        raise InputSourceError("--category filters a --test-list; give --test-list too")
    return items
