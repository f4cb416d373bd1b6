"""A report as a small document model, so the Markdown and HTML renderers say the same thing.

A :class:`Document` is a title and :class:`Section`\\ s; a section holds blocks: a paragraph
(:class:`Para`), a bullet list (:class:`Bullets`), a table (:class:`Table`), a code block
(:class:`Code`, e.g. an event timeline) or a chart (:class:`Figure`). Text is a tuple of
segments: plain strings, :class:`Cite` (a measurement uid, linked to its row in the appendix,
``#m-<uid>``), :class:`Mono` (an address, a server name) and :class:`Link` (an explorer URL).
Strings from the store stay plain data here; each renderer escapes them for its format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

__all__ = ["Block", "Bullets", "Cite", "Code", "Document", "Figure", "Link", "Mono", "Para",
           "Section", "Segment", "Table", "Text", "anchor", "cite", "slug", "text"]


@dataclass(frozen=True)
class Cite:
    """A measurement the sentence rests on (rendered as a link to its appendix row, labelled
    ``label`` or the whole uid). :func:`cite` makes the short form prose uses."""

    uid: str
    label: str | None = None


# how many trailing characters of a uid label a citation in running text
SHORT_UID: Final = 8


def cite(uid: str) -> Cite:
    """A citation for running text: labelled with the uid's last ``SHORT_UID`` characters
    (its hash part), linked to the appendix row that gives the whole uid."""
    return Cite(uid, f"…{uid[-SHORT_UID:]}" if len(uid) > SHORT_UID + 4 else None)


@dataclass(frozen=True)
class Mono:
    """A literal from the data (address, server name, failure string)."""

    value: str


@dataclass(frozen=True)
class Link:
    """An external link (only the explorer's measurement pages, when asked for)."""

    url: str
    label: str


Segment = str | Cite | Mono | Link
Text = tuple[Segment, ...]


def text(*parts: Segment | Text | None) -> Text:
    """A text from segments and texts (None skipped)."""
    out: list[Segment] = []
    for p in parts:
        if p is None:
            continue
        if isinstance(p, tuple):
            out.extend(p)
        else:
            out.append(p)
    return tuple(out)


def slug(value: str) -> str:
    """``value`` safe as an element id: characters outside ``[A-Za-z0-9._-]`` become ``-``
    (a hostile string cannot break out of an attribute or a link)."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", value)


def anchor(uid: str) -> str:
    """The id of a measurement's appendix row: ``m-<uid>`` (:func:`slug` of the uid)."""
    return "m-" + slug(uid)


@dataclass(frozen=True)
class Para:
    text: Text


@dataclass(frozen=True)
class Bullets:
    items: tuple[Text, ...]


@dataclass(frozen=True)
class Table:
    """A table: ``header`` cells, ``rows`` of text cells, an optional caption; ``row_ids``
    (same length as ``rows`` when given) anchor rows, e.g. the appendix's ``m-<uid>``."""

    header: tuple[str, ...]
    rows: tuple[tuple[Text, ...], ...]
    caption: str = ""
    row_ids: tuple[str, ...] = ()
    css: str = ""


@dataclass(frozen=True)
class Code:
    """Preformatted lines (an event timeline) with a caption."""

    lines: tuple[str, ...]
    caption: Text = ()


@dataclass(frozen=True)
class Figure:
    """A chart by name (``charts.CHART_NAMES``); the renderer finds the drawn chart."""

    name: str
    note: Text = ()


Block = Para | Bullets | Table | Code | Figure


@dataclass
class Section:
    """A heading (``level`` 2–4) with an id and its blocks."""

    id: str
    title: str
    level: int = 2
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Document:
    title: str
    subtitle: Text
    sections: list[Section] = field(default_factory=list)
    lang: str = "en"
