"""Write a report directory from its facts: charts, ``report.json``, ``report.md``,
``report.html`` and ``report.pdf`` as asked, all or nothing (:mod:`.output`).

Layout of the directory::

    report.html        self-contained page (charts inlined)
    report.md          Markdown; its images are charts/<name>.svg
    report.json        the facts (ReportFacts.to_json) and the charts drawn
    report.pdf         with --format pdf (Chromium prints report.html)
    charts/<name>.svg  every chart drawn (and <name>.png with png=True)
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any, Final

import orjson

from .charts import chart_png, draw_charts
from .compose import compose
from .facts import ReportFacts
from .html import render_html
from .markdown import render_markdown
from .output import atomic_directory, write_bytes, write_text
from .pdf import find_chromium, print_pdf

__all__ = ["FORMATS", "write_report"]

FORMATS: Final = ("html", "md", "pdf")


def _json(facts: ReportFacts, charts: list[Any]) -> bytes:
    data = facts.to_json()
    data["charts_drawn"] = [{"name": c.name, "title": c.title, "alt": c.alt,
                             "series": list(c.series), "file": f"charts/{c.name}.svg"}
                            for c in charts]
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n"


def write_report(facts: ReportFacts, out: Path, formats: Collection[str] = ("html", "md"), *,
                 png: bool = False, explorer_url: str | None = None) -> list[Path]:
    """Write the report of ``facts`` into directory ``out`` (replaced only once everything is
    written); returns the report files written (final paths), html, md, pdf order."""
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown report format(s) {sorted(unknown)}; choose from {FORMATS}")
    chromium = find_chromium() if "pdf" in formats else None
    charts = draw_charts(facts.charts)
    doc = compose(facts, charts, explorer_url=explorer_url)
    written: list[str] = []
    with atomic_directory(out) as tmp:
        for chart in charts:
            write_text(tmp / "charts" / f"{chart.name}.svg", chart.svg)
            if png:
                write_bytes(tmp / "charts" / f"{chart.name}.png", chart_png(chart))
        write_bytes(tmp / "report.json", _json(facts, charts))
        if "html" in formats or "pdf" in formats:
            write_text(tmp / "report.html", render_html(doc, charts))
            if "html" in formats:
                written.append("report.html")
        if "md" in formats:
            write_text(tmp / "report.md", render_markdown(doc, charts))
            written.append("report.md")
        if "pdf" in formats:
            print_pdf(tmp / "report.html", tmp / "report.pdf", chromium)
            written.append("report.pdf")
            if "html" not in formats:
                (tmp / "report.html").unlink()
    return [out.absolute() / name for name in written]
