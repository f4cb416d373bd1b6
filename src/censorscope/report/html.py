"""Render a report :class:`~.document.Document` as one self-contained HTML page.

- Self-contained: inline CSS, the charts' SVG inline, no script, no external resource (the
  only external URLs are the explorer links a person asks for with ``--explorer-url``).
- Accessible: ``lang``, one ``h1`` and ordered headings, a table of contents, tables with
  captions and ``th scope``, each chart in ``<figure id="chart-<name>">`` with a
  ``<figcaption>``, the SVG marked ``role="img"`` with its alt text as ``aria-label`` and a
  visually hidden description; colours with enough contrast.
- Prints well: ``@media print`` drops the contents list, keeps figures and table rows whole.
- Escaped: every string from the store goes through ``html.escape``; ids go through
  ``document.slug``; an SVG is inlined only if it is well-formed XML without scripts, event
  handlers, foreign objects or external references (:func:`safe_svg`).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any, Final

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

__all__ = ["CSS", "UnsafeSvg", "render_html", "safe_svg"]

CSS: Final = """
:root { color-scheme: light; }
body { font: 16px/1.5 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #1a1a1a;
       background: #ffffff; margin: 0 auto; max-width: 72rem; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.8rem; line-height: 1.25; margin: 1rem 0 .25rem; }
h2 { font-size: 1.4rem; border-bottom: 2px solid #1a1a1a; padding-bottom: .2rem;
     margin-top: 2.5rem; }
h3 { font-size: 1.15rem; margin-top: 1.8rem; }
h4 { font-size: 1rem; margin-top: 1.4rem; }
.subtitle { color: #333333; margin-top: 0; }
a { color: #0645ad; }
a:visited { color: #4b1e8a; }
a:focus { outline: 3px solid #b35900; outline-offset: 2px; }
code, pre, .uid { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace;
                  font-size: .88em; }
code { background: #f0f0f0; padding: 0 .2em; border-radius: 3px; overflow-wrap: anywhere; }
.uid { overflow-wrap: anywhere; }
pre { background: #f4f4f4; color: #1a1a1a; border: 1px solid #cccccc; padding: .75rem;
      overflow-x: auto; line-height: 1.35; }
.table-wrap { overflow-x: auto; margin: 1rem 0; }
table { border-collapse: collapse; font-size: .92rem; }
caption { text-align: left; font-weight: bold; padding: .3rem 0; }
th, td { border: 1px solid #999999; padding: .3rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #e8e8e8; }
tbody tr:nth-child(even) { background: #f7f7f7; }
tr:target { background: #fff3b0; }
figure { margin: 1.5rem 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: .95rem; color: #1a1a1a; margin-top: .4rem; }
.figtitle { font-weight: bold; }
nav.toc { border: 1px solid #cccccc; padding: .5rem 1rem; margin: 1rem 0; }
nav.toc h2 { border: 0; margin: .25rem 0; font-size: 1.1rem; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; padding: 0;
                   margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;
                   border: 0; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav.toc { display: none; }
  a { color: #1a1a1a; text-decoration: none; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  figure, pre, tr { break-inside: avoid; page-break-inside: avoid; }
  .table-wrap { overflow: visible; }
  thead { display: table-header-group; }
}
"""

_FORBIDDEN_TAGS: Final = {"script", "foreignobject", "iframe", "object", "embed"}
# the only references an inlined chart may hold: its own elements, and raster images it embeds
_LOCAL_REFS: Final = ("#", "data:image/png;base64,", "data:image/jpeg;base64,")


class UnsafeSvg(ValueError):
    """A chart's SVG is not something to inline into a page."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def safe_svg(svg: str) -> str:
    """``svg`` without its XML declaration and doctype, after checking it is well-formed and
    holds no script, event handler, foreign object or external reference — only references to
    its own elements and embedded PNG/JPEG data (UnsafeSvg)."""
    start = svg.find("<svg")
    if start < 0:
        raise UnsafeSvg("no <svg> element")
    body = svg[start:]
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise UnsafeSvg(f"not well-formed: {exc}") from None
    for el in root.iter():
        if _local(el.tag) in _FORBIDDEN_TAGS:
            raise UnsafeSvg(f"<{_local(el.tag)}> is not allowed")
        for name, value in el.attrib.items():
            local = _local(name)
            if local.startswith("on"):
                raise UnsafeSvg(f"event handler {local}")
            if local == "href" and not value.startswith(_LOCAL_REFS):
                raise UnsafeSvg("external reference")
            if any(not ref.strip(" '\"").startswith("#")
                   for ref in re.findall(r"url\(([^)]*)\)", value)):
                raise UnsafeSvg("external url()")
    return body


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _segments(t: Text) -> str:
    out = []
    for seg in t:
        if isinstance(seg, Cite):
            out.append(f'<a class="uid" href="#{anchor(seg.uid)}" title="{_e(seg.uid)}">'
                       f"{_e(seg.label or seg.uid)}</a>")
        elif isinstance(seg, Mono):
            out.append(f"<code>{_e(seg.value)}</code>")
        elif isinstance(seg, Link):
            out.append(f'<a href="{_e(seg.url)}" rel="noopener noreferrer">{_e(seg.label)}</a>')
        else:
            out.append(_e(seg))
    return "".join(out)


def _table(t: Table) -> str:
    css = f' class="{_e(t.css)}"' if t.css else ""
    parts = [f'<div class="table-wrap"><table{css}>']
    if t.caption:
        parts.append(f"<caption>{_e(t.caption)}</caption>")
    parts.append("<thead><tr>" + "".join(f'<th scope="col">{_e(h)}</th>' for h in t.header)
                 + "</tr></thead><tbody>")
    for i, row in enumerate(t.rows):
        rid = f' id="{anchor(t.row_ids[i])}"' if t.row_ids else ""
        parts.append(f"<tr{rid}>" + "".join(f"<td>{_segments(c)}</td>" for c in row) + "</tr>")
    parts.append("</tbody></table></div>")
    return "".join(parts)


def _root_attributes(svg: str, name: str, alt: str) -> str:
    """The root ``<svg>`` marked as an image with its text alternative; its own id (the
    figure carries ``chart-<name>``) becomes ``chart-<name>-svg``."""
    head_end = svg.index(">")
    head = re.sub(r'\s(?:id|role|aria-label|aria-describedby)="[^"]*"', "", svg[:head_end])
    return (f'{head} id="chart-{name}-svg" role="img" aria-label="{_e(alt)}" '
            f'aria-describedby="chart-{name}-desc"{svg[head_end:]}')


_ID_USES = re.compile(r'(\sid=")([^"]+)(")|(href="#)([^"]+)(")|(url\(#)([^)]+)(\))')


def _scoped_ids(svg: str, name: str) -> str:
    """``svg`` with its own element ids (matplotlib's ``patch_1``, marker and clip-path ids)
    prefixed with the chart's name, and the references to them, so charts inlined in one
    page do not share ids; ``series-<slug>`` groups keep theirs (readers look them up)."""

    def scoped(m: re.Match[str]) -> str:
        for i in (1, 4, 7):
            if m.group(i) is not None:
                ident = m.group(i + 1)
                new = ident if ident.startswith("series-") else f"{name}-{ident}"
                return f"{m.group(i)}{new}{m.group(i + 2)}"
        return m.group(0)

    return _ID_USES.sub(scoped, svg)


def _figure(f: Figure, charts: Mapping[str, Any]) -> str:
    chart = charts.get(f.name)
    if chart is None:
        return ""
    name = slug(f.name)
    svg = _root_attributes(_scoped_ids(safe_svg(str(chart.svg)), f"chart-{name}"), name,
                           str(chart.alt))
    note = f" {_segments(f.note)}" if f.note else ""
    return (f'<figure id="chart-{name}">{svg}'
            f'<figcaption><span class="figtitle">{_e(chart.title)}.</span>{note}</figcaption>'
            f'<p class="visually-hidden" id="chart-{name}-desc">{_e(chart.alt)}</p></figure>')


def _block(b: Block, charts: Mapping[str, Any]) -> str:
    if isinstance(b, Para):
        return f"<p>{_segments(b.text)}</p>"
    if isinstance(b, Bullets):
        return "<ul>" + "".join(f"<li>{_segments(i)}</li>" for i in b.items) + "</ul>"
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, Code):
        caption = f"<p>{_segments(b.caption)}:</p>" if b.caption else ""
        return f"{caption}<pre>{_e(chr(10).join(b.lines))}</pre>"
    return _figure(b, charts)


def _section(s: Section, charts: Mapping[str, Any]) -> str:
    level = min(max(s.level, 2), 6)
    body = "".join(_block(b, charts) for b in s.blocks)
    return f'<section id="{slug(s.id)}"><h{level}>{_e(s.title)}</h{level}>{body}</section>'


def _toc(doc: Document) -> str:
    items = "".join(f'<li><a href="#{slug(s.id)}">{_e(s.title)}</a></li>'
                    for s in doc.sections if s.level == 2)
    return (f'<nav class="toc" aria-labelledby="toc-title"><h2 id="toc-title">Contents</h2>'
            f"<ol>{items}</ol></nav>")


def render_html(doc: Document, charts: Sequence[Any]) -> str:
    """The HTML page of ``doc`` with ``charts`` (``name``, ``title``, ``alt``, ``svg``)
    inlined."""
    by_name = {c.name: c for c in charts}
    sections = "\n".join(_section(s, by_name) for s in doc.sections)
    return (f'<!DOCTYPE html>\n<html lang="{_e(doc.lang)}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="generator" content="censorscope report">\n'
            f"<title>{_e(doc.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f"<header><h1>{_e(doc.title)}</h1>"
            f'<p class="subtitle">{_segments(doc.subtitle)}</p></header>\n{_toc(doc)}\n'
            f"<main>\n{sections}\n</main>\n</body>\n</html>\n")
