"""The report's two charts over time buckets: failed measurements per server name (read against
how many were measured) and measurements per network (the coverage).

Server names blocked together fail in the same measurements, so their lines would lie on top of
one another: names with identical counts are drawn as one legend entry ("+ 24 names, same
counts"), each name still a series of its own in the SVG. Past :data:`MAX_LINES` distinct lines
the rest is one grey "other" line (the most failures of any of them per bucket), and the alt
text says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from censorscope.report import palette
from censorscope.report.chartdata import CoverageSeries, FailuresByName
from censorscope.report.chartkit import (
    Drawing,
    add_series,
    bucket_label,
    check_counts,
    check_time_axis,
    ellipsize,
    integer_y_axis,
    listing,
    network_label,
    new_figure,
    plural,
    series_gids,
    set_time_axis,
    set_title,
    span_text,
    unit_phrase,
)

# distinct lines drawn before the rest is folded into "other"
MAX_LINES: Final = 7
OTHER_NAMES: Final = "other server names"
# networks stacked before the rest is summed into "other networks"
MAX_NETWORKS: Final = 7
OTHER_NETWORKS: Final = "other networks"
BAR_WIDTH: Final = 0.8


# ---------------------------------------------------------------- failures per server name

@dataclass(frozen=True)
class NameGroup:
    """Server names with the same failed and measured count in every bucket."""

    names: tuple[str, ...]
    failed: tuple[int, ...]
    measured: tuple[int, ...]

    @property
    def total_failed(self) -> int:
        return sum(self.failed)

    @property
    def total_measured(self) -> int:
        return sum(self.measured)

    def sentence(self, buckets_labels: Sequence[str]) -> str:
        f, m = self.total_failed, self.total_measured
        if len(self.names) == 1:
            text = f"{self.names[0]} failed in {f} of {m} measurements"
        else:
            text = (f"{len(self.names)} names ({listing(list(self.names), 4)}) each failed in "
                    f"{f} of {m} measurements")
        if f:
            first = next(i for i, c in enumerate(self.failed) if c)
            text += f", first in the bucket of {buckets_labels[first]}"
        return text


def group_names(part: FailuresByName) -> list[NameGroup]:
    """The measured names grouped by identical counts, most failures first (ties: the order
    of ``part.series``)."""
    members: dict[tuple[tuple[int, ...], tuple[int, ...]], list[str]] = {}
    for name, failed in part.series.items():
        measured = part.measured[name]
        if sum(measured):
            members.setdefault((tuple(failed), tuple(measured)), []).append(name)
    groups = [NameGroup(tuple(names), f, m) for (f, m), names in members.items()]
    return sorted(groups, key=lambda g: -g.total_failed)


def _check_failures(part: FailuresByName) -> int:
    chart = "failures_by_name"
    n = check_time_axis(chart, part.buckets)
    if not part.series:
        raise ValueError(f"{chart}: no server names to draw (pass None for an empty part)")
    if set(part.series) != set(part.measured):
        raise ValueError(f"{chart}: the failed and measured counts name different servers")
    for name, failed in part.series.items():
        measured = part.measured[name]
        check_counts(chart, f"failed[{name!r}]", failed, n)
        check_counts(chart, f"measured[{name!r}]", measured, n)
        if any(f > m for f, m in zip(failed, measured, strict=True)):
            raise ValueError(f"{chart}: {name} failed in more measurements than were made")
    return n


def draw_failures_by_name(part: FailuresByName) -> Drawing:
    n = _check_failures(part)
    groups = group_names(part)
    if not groups:
        raise ValueError("failures_by_name: no server name was measured in any bucket")
    shown, rest = (groups, []) if len(groups) <= MAX_LINES + 1 else (
        groups[:MAX_LINES], groups[MAX_LINES:])
    other_names = [name for g in rest for name in g.names]
    never = [name for name, m in part.measured.items() if not sum(m)]
    series = tuple(name for g in shown for name in g.names) + ((OTHER_NAMES,) if rest else ())
    measured_per_bucket = [max(g.measured[i] for g in groups) for i in range(n)]
    same_measured = len({g.measured for g in groups}) == 1

    title = f"Failed measurements per server name {unit_phrase(part.unit)}"
    labels = [bucket_label(t, part.unit) for t in part.buckets]
    sentences = [g.sentence(labels) for g in shown]
    if rest:
        f = sum(g.total_failed for g in rest)
        m = sum(g.total_measured for g in rest)
        sentences.append(
            f"the other {plural(len(other_names), 'name')} ({listing(other_names, 4)}) are "
            f"drawn as one grey line, the most failures of any of them per bucket; together "
            f"they failed {f} times in {m} name-measurements")
    if never:
        sentences.append(f"never measured, not drawn: {listing(never, 4)}")
    bars = ("Grey bars: measurements made per bucket" if same_measured
            else "Grey bars: the most measurements of any one name per bucket")
    alt = f"{title}, {span_text(part.buckets, part.unit)}. {'; '.join(sentences)}. {bars}."

    def build() -> Figure:
        fig = new_figure()
        ax = fig.add_subplot()
        _measured_bars(ax, measured_per_bucket)
        gids = series_gids(series)
        handles: list[Artist] = [Patch(facecolor=palette.LIGHT_GREY, label=(
            "measured" if same_measured else "measured\n(most for one name)"))]
        for k, group in enumerate(shown):
            style: dict[str, Any] = _line_style(k)
            ys = [float(f) if m else math.nan for f, m in zip(group.failed, group.measured,
                                                               strict=True)]
            for name in group.names:
                # not clipped: a marker at 0 shows whole
                add_series(ax, gids[name], [Line2D(range(n), ys, **style)], clip=False)
            label = ellipsize(group.names[0], 30)
            if len(group.names) > 1:
                label += f"\n+ {plural(len(group.names) - 1, 'name')}, same counts"
            handles.append(Line2D([], [], label=label, **style))
        if rest:
            ys = [float(max(g.failed[i] for g in rest if g.measured[i]))
                  if any(g.measured[i] for g in rest) else math.nan for i in range(n)]
            style = {"color": palette.DARK_GREY, "linestyle": ":", "linewidth": 1.4,
                     "marker": ".", "markersize": 6, "drawstyle": "steps-mid", "zorder": 2.5}
            add_series(ax, gids[OTHER_NAMES], [Line2D(range(n), ys, **style)], clip=False)
            handles.append(Line2D([], [], label=(
                f"{plural(len(other_names), 'other name')}\n(most failures of any)"), **style))
        set_time_axis(ax, part.buckets, part.unit)
        integer_y_axis(ax, max(measured_per_bucket))
        ax.set_ylabel("measurements (failed: lines, measured: bars)")
        set_title(fig, title)
        fig.legend(handles=handles, loc="outside right upper", title="failed: server name",
                   frameon=False)
        return fig

    return Drawing(title=title, alt=alt, series=series, build=build)


def _line_style(k: int) -> dict[str, Any]:
    # wider lines below narrower ones: where lines overlap, both colours still show
    return {"color": palette.series_colour(k), "linestyle": palette.series_linestyle(k),
            "linewidth": max(1.0, 2.6 - 0.25 * k), "marker": palette.series_marker(k),
            "markersize": max(3.5, 7.0 - 0.5 * k), "drawstyle": "steps-mid",
            "zorder": 3.0 + 0.01 * k}


def _measured_bars(ax: Axes, heights: Sequence[int]) -> None:
    rects: list[Artist] = [
        Rectangle((i - BAR_WIDTH / 2, 0), BAR_WIDTH, h, facecolor=palette.LIGHT_GREY,
                  edgecolor="none", zorder=1.0)
        for i, h in enumerate(heights) if h]
    if rects:
        add_series(ax, "measured", rects)


# ------------------------------------------------------------------------------- coverage

def _check_coverage(part: CoverageSeries) -> int:
    chart = "coverage"
    n = check_time_axis(chart, part.buckets)
    if not part.series:
        raise ValueError(f"{chart}: no networks to draw (pass None for an empty part)")
    for asn, counts in part.series.items():
        check_counts(chart, f"AS{asn}", counts, n)
    return n


def draw_coverage(part: CoverageSeries) -> Drawing:
    n = _check_coverage(part)
    order = list(part.series)
    totals = {asn: sum(c) for asn, c in part.series.items()}
    measured = [asn for asn in order if totals[asn]]
    if not measured:
        raise ValueError("coverage: no network has a measurement in any bucket")
    never = [asn for asn in order if not totals[asn]]
    if len(measured) <= MAX_NETWORKS + 1:
        shown, rest = measured, []
    else:
        top = set(sorted(measured, key=lambda a: -totals[a])[:MAX_NETWORKS])
        shown = [a for a in measured if a in top]
        rest = [a for a in measured if a not in top]
    # (series label, legend label, counts per bucket), bottom of the stack first
    stacks = [(f"AS{a}", network_label(a, part.as_names.get(a, "")), list(part.series[a]))
              for a in shown]
    if rest:
        stacks.append((OTHER_NETWORKS, plural(len(rest), "other network"),
                       [sum(part.series[a][i] for a in rest) for i in range(n)]))
    series = tuple(label for label, _, _ in stacks)
    per_bucket = [sum(counts[i] for _, _, counts in stacks) for i in range(n)]

    def name_of(asn: int) -> str:
        return f"AS{asn} {part.as_names.get(asn, '')}".strip()

    title = f"Measurements per network {unit_phrase(part.unit)} (coverage)"
    sentences = []
    for asn in shown:
        counts = part.series[asn]
        sentences.append(
            f"{name_of(asn)}: {totals[asn]} measurements in "
            f"{sum(1 for c in counts if c)} of {n} buckets (at most {max(counts)} in one)")
    if rest:
        sentences.append(
            f"{plural(len(rest), 'other network')} stacked as one "
            f"({listing([name_of(a) for a in rest], 4)}): "
            f"{sum(totals[a] for a in rest)} measurements")
    if never:
        sentences.append(f"no measurements from {listing([name_of(a) for a in never], 4)}")
    empty = sum(1 for c in per_bucket if not c)
    alt = (f"{title}, {span_text(part.buckets, part.unit)}: {sum(per_bucket)} measurements "
           f"in all. {'; '.join(sentences)}. Buckets without any measurement: {empty} of {n}.")

    def build() -> Figure:
        fig = new_figure()
        ax = fig.add_subplot()
        gids = series_gids(series)
        handles: list[Artist] = []
        bottoms = [0] * n
        for k, (label, legend, counts) in enumerate(stacks):
            colour = palette.series_colour(k) if label != OTHER_NETWORKS else palette.MID_GREY
            style: dict[str, Any] = {"facecolor": colour, "hatch": palette.series_hatch(k),
                     "edgecolor": palette.text_colour_on(colour), "linewidth": 0.4}
            rects: list[Artist] = []
            for i, c in enumerate(counts):
                if c:
                    rects.append(Rectangle((i - BAR_WIDTH / 2, bottoms[i]), BAR_WIDTH, c,
                                           zorder=2.0, **style))
                    bottoms[i] += c
            add_series(ax, gids[label], rects)
            handles.append(Patch(label=legend, **style))
        for asn in never:
            handles.append(Patch(facecolor="none", edgecolor="none",
                                 label=network_label(asn, part.as_names.get(asn, ""))
                                 + "\n(no measurements)"))
        if n <= 40:
            for i, total in enumerate(per_bucket):
                if total:
                    ax.annotate(str(total), (i, total), xytext=(0, 2),
                                textcoords="offset points", ha="center", va="bottom",
                                fontsize=7)
        set_time_axis(ax, part.buckets, part.unit)
        integer_y_axis(ax, max(per_bucket))
        ax.set_ylabel("measurements")
        set_title(fig, title)
        fig.legend(handles=handles, loc="outside right upper", title="network",
                   frameon=False)
        return fig

    return Drawing(title=title, alt=alt, series=series, build=build)
