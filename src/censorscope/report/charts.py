"""The report's charts: each part of :class:`~censorscope.report.chartdata.ChartData` drawn with
matplotlib into a self-contained, deterministic SVG (text kept as text, every series' marks in
one ``<g id="series-<slug>">``), with a title, a text alternative that states the chart's
numbers, and the series it drew.

``draw_charts`` is the whole interface for the report; ``chart_png`` renders the same figure as a
PNG. The drawing itself lives in ``timecharts`` (failures per server name, coverage),
``gridcharts`` (network × endpoint, the TLS address × server-name matrix) and ``dnschart``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from censorscope.report.chartdata import ChartData
from censorscope.report.chartkit import Drawing, render_png, render_svg, series_gids, slug
from censorscope.report.dnschart import draw_dns_answers
from censorscope.report.gridcharts import draw_asn_endpoint_grid, draw_sni_matrix
from censorscope.report.timecharts import draw_coverage, draw_failures_by_name

__all__ = ["CHART_NAMES", "Chart", "chart_png", "draw_chart", "draw_charts", "series_gids",
           "slug"]

CHART_NAMES: Final = ("failures_by_name", "asn_endpoint_grid", "sni_matrix", "dns_answers",
                      "coverage")

DRAWERS: Final[dict[str, Callable[[Any], Drawing]]] = {
    "failures_by_name": draw_failures_by_name,
    "asn_endpoint_grid": draw_asn_endpoint_grid,
    "sni_matrix": draw_sni_matrix,
    "dns_answers": draw_dns_answers,
    "coverage": draw_coverage,
}


@dataclass(frozen=True)
class Chart:
    """One drawn chart. ``svg`` is the complete document (root id ``chart-<name>``, a
    ``<title>`` and a ``<desc>`` holding ``alt``); ``series`` are the series drawn, each in
    ``<g id="series-<slug>">`` (see :func:`series_gids`)."""

    name: str
    title: str
    svg: str
    alt: str
    series: tuple[str, ...]
    # redraws the figure (for chart_png); not part of the chart's value
    drawing: Drawing | None = field(default=None, repr=False, compare=False)


def draw_chart(name: str, part: Any) -> Chart:
    """Draw one part of ChartData; ValueError when it has nothing to draw or is inconsistent."""
    if name not in DRAWERS:
        raise ValueError(f"unknown chart {name!r} (one of {', '.join(CHART_NAMES)})")
    drawing = DRAWERS[name](part)
    return Chart(name=name, title=drawing.title, svg=render_svg(drawing, f"chart-{name}"),
                 alt=drawing.alt, series=drawing.series, drawing=drawing)


def draw_charts(data: ChartData) -> list[Chart]:
    """One chart per part of ``data`` that is not None, in :data:`CHART_NAMES` order."""
    return [draw_chart(name, part) for name in CHART_NAMES
            if (part := getattr(data, name)) is not None]


def chart_png(chart: Chart) -> bytes:
    """The same figure as a PNG (150 dpi)."""
    if chart.drawing is None:
        raise ValueError(f"chart {chart.name!r} carries no drawing to render as PNG")
    return render_png(chart.drawing, f"chart-{chart.name}")
