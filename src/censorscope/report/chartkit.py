"""What every chart of the report shares: the figure style, series groups (each series' artists
inside one SVG ``<g id="series-<slug>">``), the time axis of bucketed counts, and rendering a
figure to a deterministic SVG (text kept as text) or to a PNG.

Figures are plain :class:`matplotlib.figure.Figure` objects drawn without pyplot's global state;
each is built inside :func:`chart_style` so fonts and SVG settings are the same every time.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from xml.sax.saxutils import escape

import matplotlib
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from censorscope.report.chartdata import BucketUnit

# the figure size the charts are designed for (inches): a page width in print
WIDTH: Final = 8.0
HEIGHT: Final = 4.5
MAX_HEIGHT: Final = 14.0
PNG_DPI: Final = 150

STYLE: Final[dict[str, Any]] = {
    "svg.fonttype": "none",            # text stays <text>, searchable and selectable
    "svg.hashsalt": "censorscope",     # clip-path and marker ids are the same on every run
    "svg.image_inline": True,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial"],
    "font.size": 9.0,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "legend.fontsize": 8.0,
    "legend.title_fontsize": 8.0,
    "figure.titlesize": 12.0,
    "figure.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "hatch.linewidth": 0.8,
    "path.simplify": False,
    "text.parse_math": False,          # a "$" in a name is a dollar sign, not mathtext
}

UNIT_PHRASES: Final[dict[str, str]] = {
    "day": "per day", "hour": "per hour", "10min": "per 10 minutes", "minute": "per minute",
}


@contextmanager
def chart_style(chart_id: str = "") -> Iterator[None]:
    """The report's matplotlib settings (``chart_id`` becomes the root ``<svg>`` id)."""
    settings: dict[Any, Any] = {**STYLE, "svg.id": chart_id or None}
    with matplotlib.rc_context(settings), warnings.catch_warnings():
        # a character the bundled fonts lack: a box in the PNG, the reader's font in the SVG
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        yield


def new_figure(width: float = WIDTH, height: float = HEIGHT) -> Figure:
    return Figure(figsize=(width, min(height, MAX_HEIGHT)), layout="constrained")


@dataclass(frozen=True)
class Drawing:
    """A chart before rendering: ``build`` draws its figure (call it inside
    :func:`chart_style`); the texts and series come from the same data."""

    title: str
    alt: str
    series: tuple[str, ...]
    build: Callable[[], Figure]


# ------------------------------------------------------------------- series and their groups

def slug(name: str) -> str:
    """``www.tiktok.com`` → ``www-tiktok-com``, ``AS29049`` → ``as29049``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "series"


def series_gids(names: Sequence[str]) -> dict[str, str]:
    """``series-<slug>`` for each name; a slug two names share gets ``-2``, ``-3`` … on the
    later ones so every id in a chart is unique."""
    gids: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = gid = f"series-{slug(name)}"
        n = 1
        while gid in used:
            n += 1
            gid = f"{base}-{n}"
        used.add(gid)
        gids[name] = gid
    return gids


class SeriesGroup(Artist):
    """Draws its member artists inside one group whose id is the series' gid (an SVG
    ``<g id="series-…">``), so a reader of the SVG finds a series' marks together."""

    def __init__(self, gid: str, members: Sequence[Artist]) -> None:
        super().__init__()
        self.set_gid(gid)
        self._members = list(members)
        self.set_zorder(max((m.get_zorder() for m in self._members), default=2.0))

    def get_children(self) -> list[Artist]:
        return list(self._members)

    def draw(self, renderer: RendererBase) -> None:
        if not self.get_visible():
            return
        renderer.open_group("series", gid=self.get_gid())
        for member in sorted(self._members, key=lambda m: m.get_zorder()):
            member.draw(renderer)
        renderer.close_group("series")
        self.stale = False


def add_series(ax: Axes, gid: str, members: Sequence[Artist], *, clip: bool = True) -> None:
    """Put ``members`` (artists made for ``ax`` but not added to it) on ``ax`` as one series
    group. Members without a transform get the data transform."""
    fig = ax.get_figure()
    if fig is None:
        raise ValueError("the axes belongs to no figure")
    for m in members:
        if not m.is_transform_set():
            m.set_transform(ax.transData)
        m.set_figure(fig)
        m.axes = ax
        if clip:
            m.set_clip_path(ax.patch)
    ax.add_artist(SeriesGroup(gid, members))


# ------------------------------------------------------------------------------ the time axis

def unit_phrase(unit: BucketUnit) -> str:
    return UNIT_PHRASES[unit]


def time_axis_label(unit: BucketUnit) -> str:
    return f"time (UTC, {unit_phrase(unit)})"


def bucket_label(t: datetime, unit: BucketUnit) -> str:
    return t.strftime("%Y-%m-%d") if unit == "day" else t.strftime("%Y-%m-%d %H:%M")


def span_text(buckets: Sequence[datetime], unit: BucketUnit) -> str:
    """``2022-09-14 06:00 to 2022-09-15 15:00 UTC (34 buckets per hour)``."""
    first, last = bucket_label(buckets[0], unit), bucket_label(buckets[-1], unit)
    n = len(buckets)
    if n == 1:
        return f"{first} UTC (one bucket, {unit_phrase(unit)})"
    return f"{first} to {last} UTC ({n} buckets, {unit_phrase(unit)})"


def set_time_axis(ax: Axes, buckets: Sequence[datetime], unit: BucketUnit,
                  *, max_labels: int = 12) -> None:
    """Buckets at x = 0 … n-1, at most ``max_labels`` of them labelled: the time, with the
    date under it where the date changes (every label of a ``day`` axis is a date)."""
    n = len(buckets)
    step = max(1, math.ceil(n / max_labels))
    positions = list(range(0, n, step))
    labels: list[str] = []
    last_date = ""
    for i in positions:
        t = buckets[i]
        if unit == "day":
            year = t.strftime("%Y")
            labels.append(t.strftime("%m-%d") + ("\n" + year if year != last_date else ""))
            last_date = year
            continue
        date = t.strftime("%Y-%m-%d")
        labels.append(t.strftime("%H:%M") + ("\n" + date if date != last_date else ""))
        last_date = date
    ax.set_xticks(positions, labels)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_xlabel(time_axis_label(unit))


def set_title(fig: Figure, title: str) -> None:
    """The chart's title, top left (a legend may take the top right)."""
    fig.suptitle(title, x=0.01, ha="left")


def integer_y_axis(ax: Axes, top: float) -> None:
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_ylim(0, max(1.0, top) * 1.1)
    ax.grid(axis="y", color="#E5E5E5", linewidth=0.6)
    ax.set_axisbelow(True)


# -------------------------------------------------------------------------------- the texts

def printable(text: str) -> str:
    """``text`` with control and other format characters (invalid in XML, or invisible)
    replaced by ``?`` and line breaks by spaces."""
    text = text.replace("\r\n", " ").replace("\n", " ")
    return "".join("?" if unicodedata.category(ch).startswith("C") else ch for ch in text)


def ellipsize(text: str, limit: int = 32) -> str:
    """``text`` made :func:`printable` and shortened to ``limit`` characters with an ellipsis
    in the middle (both ends of a server name or an AS name say the most)."""
    text = printable(text)
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    tail = limit - 1 - head
    return text[:head] + "…" + text[len(text) - tail:]


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def listing(items: Sequence[str], limit: int = 8) -> str:
    """``a, b and c``; past ``limit`` items: ``a, b, … and 12 more``."""
    if len(items) > limit:
        return ", ".join(items[:limit]) + f" and {len(items) - limit} more"
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def network_label(asn: int, name: str, limit: int = 28) -> str:
    """``AS29049 Delta Telecom Ltd`` (the name shortened to fit)."""
    return f"AS{asn} {ellipsize(name, limit)}".strip() if name else f"AS{asn}"


# -------------------------------------------------------------------------------- rendering

def render_svg(drawing: Drawing, chart_id: str) -> str:
    """The SVG document of ``drawing``: text as text, no date, the same bytes for the same
    data; with ``<title>`` and ``<desc>`` (the alt text) for screen readers."""
    with chart_style(chart_id):
        fig = drawing.build()
        FigureCanvasSVG(fig)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    root = re.search(r"<svg\b[^>]*>", svg)
    if root is None:  # pragma: no cover - matplotlib always writes a root element
        raise RuntimeError("matplotlib wrote no <svg> element")
    accessible = root.group(0)[:-1] + ' role="img">'
    texts = (f"\n <title>{escape(printable(drawing.title))}</title>"
             f"\n <desc>{escape(printable(drawing.alt))}</desc>")
    return svg[:root.start()] + accessible + texts + svg[root.end():]


def render_png(drawing: Drawing, chart_id: str, dpi: int = PNG_DPI) -> bytes:
    with chart_style(chart_id):
        fig = drawing.build()
        FigureCanvasAgg(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


# ------------------------------------------------------------------------------- the checks

def check_time_axis(chart: str, buckets: Sequence[datetime]) -> int:
    if not buckets:
        raise ValueError(f"{chart}: no time buckets to draw (pass None for an empty part)")
    if list(buckets) != sorted(set(buckets)):
        raise ValueError(f"{chart}: the time buckets are not strictly increasing")
    return len(buckets)


def check_counts(chart: str, what: str, counts: Sequence[int], n: int) -> None:
    """``counts`` has one non-negative count per bucket."""
    if len(counts) != n:
        raise ValueError(f"{chart}: {what} has {len(counts)} counts for {n} time buckets")
    if any(c < 0 for c in counts):
        raise ValueError(f"{chart}: {what} has a negative count")
