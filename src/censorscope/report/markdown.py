"""Render a report :class:`~.document.Document` as Markdown (CommonMark with GitHub tables).

Text from the store is escaped: ``&``, ``<`` and ``>`` become entities (no raw HTML gets
through), Markdown's punctuation (`` ` * [ ] | ~ \\ `` and ``_`` outside a word) is
backslash-escaped; inline code takes a fence longer than any backtick run in it, unless it
holds ``< > & `` ` in which case it is written ``<code>escaped text</code>`` (so no character
of the data reaches the page as markup, whatever the renderer); a code block's fence is longer
than any in its lines. Tables are plain pipe tables, one row per line.
Measurement citations link to the appendix rows (``[uid](#m-uid)``), charts are images beside
the report (``![alt](charts/<name>.svg)``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from .document import (
    Block,
    Bullets,
    Cite,
    Code,
    Document,
    Figure,
    Link,
    Mono,
    Para,
    Section,
    Table,
    Text,
    anchor,
    slug,
)

__all__ = ["escape", "render_markdown"]

_PUNCT = re.compile(r"([\\`*\[\]|~])")
_LONE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def escape(value: str) -> str:
    """``value`` as literal Markdown text on one line."""
    value = " ".join(value.split()) if any(ch in value for ch in "\r\n\t") else value
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _PUNCT.sub(r"\\\1", value)
    return _LONE_UNDERSCORE.sub(r"\\_", value)


def _line_start(line: str) -> str:
    """``line`` with a leading block marker (heading, list item, rule) made literal."""
    if line.startswith(("#", "+", "-", "=")):
        return "\\" + line
    return re.sub(r"^(\d+)([.)])", r"\1\\\2", line)


def _code_span(value: str) -> str:
    value = " ".join(value.split())
    longest = max((len(m) for m in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value.strip() else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _segments(t: Text, *, in_table: bool = False) -> str:
    out = []
    for seg in t:
        if isinstance(seg, Cite):
            out.append(f"[{escape(seg.label or seg.uid)}](#{anchor(seg.uid)})")
        elif isinstance(seg, Mono):
            if any(ch in seg.value for ch in "<>&`"):  # as escaped text, never raw markup
                out.append(f"<code>{escape(seg.value)}</code>")
                continue
            span = _code_span(seg.value)
            out.append(span.replace("|", "\\|") if in_table else span)
        elif isinstance(seg, Link):
            out.append(f"[{escape(seg.label)}](<{_url(seg.url)}>)")
        else:
            out.append(escape(seg) if seg.strip() else seg)
    return "".join(out)


def _url(url: str) -> str:
    return quote(url, safe=":/?#[]@!$&'()*+,;=%-._~")


def _table(t: Table) -> list[str]:
    lines = []
    if t.caption:
        lines += [f"*{escape(t.caption)}*", ""]
    lines.append("| " + " | ".join(escape(h) for h in t.header) + " |")
    lines.append("|" + "|".join("---" for _ in t.header) + "|")
    for i, row in enumerate(t.rows):
        cells = [_segments(c, in_table=True) for c in row]
        if t.row_ids and cells:
            cells[0] = f'<a id="{anchor(t.row_ids[i])}"></a>{cells[0]}'
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _code(c: Code) -> list[str]:
    longest = max((len(m) for line in c.lines for m in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    out = []
    if c.caption:
        out += [_segments(c.caption) + ":", ""]
    out += [fence + "text", *c.lines, fence]
    return out


def _figure(f: Figure, charts: Mapping[str, Any]) -> list[str]:
    chart = charts.get(f.name)
    if chart is None:
        return []
    alt = escape(str(chart.alt))
    lines = [f"**{escape(str(chart.title))}**", "",
             f"![{alt}](charts/{quote(f.name)}.svg)"]
    if f.note:
        lines += ["", _segments(f.note)]
    return lines


def _block(b: Block, charts: Mapping[str, Any]) -> list[str]:
    if isinstance(b, Para):
        return [_line_start(_segments(b.text))]
    if isinstance(b, Bullets):
        return [f"- {_line_start(_segments(item))}" for item in b.items]
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, Code):
        return _code(b)
    return _figure(b, charts)


def _section(s: Section, charts: Mapping[str, Any]) -> list[str]:
    lines = [f'<a id="{slug(s.id)}"></a>', "", f"{'#' * s.level} {escape(s.title)}", ""]
    for b in s.blocks:
        rendered = _block(b, charts)
        if rendered:
            lines += [*rendered, ""]
    return lines


def render_markdown(doc: Document, charts: Sequence[Any]) -> str:
    """The Markdown text of ``doc``; ``charts`` are the drawn charts (``name``, ``title``,
    ``alt``), linked as ``charts/<name>.svg``."""
    by_name = {c.name: c for c in charts}
    lines = [f"# {escape(doc.title)}", "", _segments(doc.subtitle), ""]
    for s in doc.sections:
        lines += _section(s, by_name)
    return "\n".join(lines).rstrip() + "\n"
