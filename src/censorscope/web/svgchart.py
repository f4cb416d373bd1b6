"""The MAT chart as inline SVG, drawn from the chart's data (:func:`.matdata.chart`) without
JavaScript: stacked bars of the four exclusive classes per ``axis_x`` value, one panel per
``axis_y`` value (a grid of rows) or a single panel.

Colours are Okabe–Ito (safe for the common colour-vision deficiencies) and three classes also
carry a pattern (anomaly: diagonal lines, confirmed: cross-hatch, failure: dots) so they stay
apart in grey. The ``<svg>`` has ``role="img"`` with a ``<title>`` and a ``<desc>`` stating the
numbers; every bar segment has a ``<title>`` with its count. Every text is escaped here: this
is the one place the explorer writes markup outside a template.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final

from markupsafe import Markup

from .matdata import CLASSES

__all__ = ["COLOURS", "mat_svg", "nice_ticks"]

# Okabe & Ito: bluish green, orange, vermillion; a mid grey for failures
COLOURS: Final = {"ok": "#009E73", "anomaly": "#E69F00", "confirmed": "#D55E00",
                  "failure": "#999999"}
INK: Final = "#1b1b1b"
GRID: Final = "#d0d3d8"
WIDTH: Final = 960
LEFT: Final = 64
RIGHT: Final = 16
LEGEND_H: Final = 28
SINGLE_H: Final = 260
ROW_H: Final = 64
ROW_GAP: Final = 10
MAX_LABEL: Final = 28


def _t(value: Any) -> str:
    return escape(str(value), quote=True)


def _short(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def nice_ticks(top: int, count: int = 4) -> list[int]:
    """Whole-number ticks from 0 covering ``top`` with a 1-2-5 step."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(1, int(step))
    return list(range(0, top + step, step)) if top % step else list(range(0, top + 1, step))


def _patterns() -> str:
    return (
        "<defs>"
        f'<pattern id="mat-p-anomaly" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{COLOURS["anomaly"]}"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{INK}" stroke-width="1.2"/></pattern>'
        f'<pattern id="mat-p-confirmed" width="6" height="6" patternUnits="userSpaceOnUse">'
        f'<rect width="6" height="6" fill="{COLOURS["confirmed"]}"/>'
        f'<path d="M0 0L6 6M6 0L0 6" stroke="#ffffff" stroke-width="1"/></pattern>'
        f'<pattern id="mat-p-failure" width="5" height="5" patternUnits="userSpaceOnUse">'
        f'<rect width="5" height="5" fill="{COLOURS["failure"]}"/>'
        f'<circle cx="2.5" cy="2.5" r="1" fill="{INK}"/></pattern>'
        "</defs>")


def _fill(cls: str) -> str:
    return COLOURS["ok"] if cls == "ok" else f"url(#mat-p-{cls})"


def _legend(y: float) -> str:
    out = [f'<g class="legend" transform="translate({LEFT},{y})">']
    x = 0
    for cls in ("ok", "anomaly", "confirmed", "failure"):
        out.append(f'<rect x="{x}" y="0" width="14" height="14" fill="{_fill(cls)}" '
                   f'stroke="{INK}" stroke-width="0.5"/><text x="{x + 20}" y="11.5" '
                   f'font-size="13" fill="{INK}">{cls}</text>')
        x += 110
    out.append("</g>")
    return "".join(out)


def _time_label(x: str) -> str:
    """``2022-09-14T06:00:00Z`` → ``09-14 06:00``; a date stays a date."""
    return f"{x[5:10]} {x[11:16]}" if "T" in x else x


def _x_labels(xs: Sequence[str], x0: float, step: float, y: float, time_x: bool) -> str:
    """Labels under the last panel: for time, evenly spaced as many as fit; for categories,
    each (slanted) when they fit."""
    out = []
    if time_x:
        labels = [_time_label(x) for x in xs]
        room = max((len(t) for t in labels), default=1) * 6.8 + 14
        every = max(1, math.ceil(len(xs) / max(1, int((WIDTH - RIGHT - x0) / room))))
        for i in range(0, len(xs), every):
            cx = x0 + step * (i + 0.5)
            out.append(f'<text x="{cx:.1f}" y="{y + 14:.1f}" font-size="11" fill="{INK}" '
                       f'text-anchor="middle">{_t(labels[i])}</text>')
        return "".join(out)
    if step < 9:
        return ""
    for i, x in enumerate(xs):
        cx = x0 + step * (i + 0.5)
        out.append(f'<text transform="translate({cx:.1f},{y + 8:.1f}) rotate(-40)" '
                   f'font-size="11" fill="{INK}" text-anchor="end">{_t(_short(x))}</text>')
    return "".join(out)


def _panel(panel: Mapping[str, Any], top: float, height: float, x0: float, step: float,
           show_ticks: bool) -> str:
    bars = panel["bars"]
    peak = max((b["total"] for b in bars), default=0)
    ticks = nice_ticks(peak) if show_ticks else [0, max(peak, 1)]
    scale_top = ticks[-1] or 1
    bottom = top + height
    out = [f'<g class="panel" data-label="{_t(panel["label"] or "")}">']
    for tick in ticks:
        y = bottom - height * tick / scale_top
        out.append(f'<line x1="{x0}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="{GRID}" stroke-width="1"/>'
                   f'<text x="{x0 - 6}" y="{y + 4:.1f}" font-size="11" fill="{INK}" '
                   f'text-anchor="end">{tick}</text>')
    if panel["label"] is not None:
        out.append(f'<text x="{x0}" y="{top - 3:.1f}" font-size="12" font-weight="bold" '
                   f'fill="{INK}">{_t(_short(panel["label"], 60))}</text>')
    width = max(step * 0.8, 0.6) if step < 4 else step * 0.8
    for i, bar in enumerate(bars):
        if not bar["total"]:
            continue
        x = x0 + step * i + (step - width) / 2
        y = bottom
        seg = [f'<g class="bar" data-x="{_t(bar["x"])}" data-total="{bar["total"]}">']
        for cls in CLASSES:
            n = bar[cls]
            if not n:
                continue
            h = height * n / scale_top
            y -= h
            where = f"{panel['label']}, " if panel["label"] is not None else ""
            seg.append(f'<rect class="seg-{cls}" x="{x:.2f}" y="{y:.2f}" width="{width:.2f}" '
                       f'height="{h:.2f}" fill="{_fill(cls)}" data-count="{n}"><title>'
                       f'{_t(where)}{_t(bar["x"])}: {n} {cls} of {bar["total"]}</title></rect>')
        seg.append("</g>")
        out.append("".join(seg))
    out.append(f'<line x1="{x0}" x2="{WIDTH - RIGHT}" y1="{bottom:.1f}" y2="{bottom:.1f}" '
               f'stroke="{INK}" stroke-width="1"/></g>')
    return "".join(out)


def mat_svg(chart: Mapping[str, Any]) -> Markup:
    """The chart as an ``<svg>`` element (markup safe to insert: every text is escaped)."""
    panels = chart["panels"]
    xs = chart["x_values"]
    grid = chart["axis_y"] is not None
    panel_h = ROW_H if grid else SINGLE_H
    gap = ROW_GAP + (16 if grid else 0)
    label_room = 40 if chart["time_x"] else 120
    height = LEGEND_H + 8 + len(panels) * (panel_h + gap) + label_room
    x0 = LEFT
    step = (WIDTH - RIGHT - x0) / max(len(xs), 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="mat-chart" role="img" '
           f'viewBox="0 0 {WIDTH} {height:.0f}" aria-labelledby="mat-title mat-desc">',
           f'<title id="mat-title">{_t(chart["title"])}</title>',
           f'<desc id="mat-desc">{_t(chart["desc"])}</desc>', _patterns(), _legend(4)]
    top = LEGEND_H + 8 + (16 if grid else 0)
    for panel in panels:
        out.append(_panel(panel, top, panel_h, x0, step, show_ticks=not grid))
        top += panel_h + gap
    out.append(_x_labels(xs, x0, step, top - gap, chart["time_x"]))
    out.append("</svg>")
    return Markup("".join(out))
