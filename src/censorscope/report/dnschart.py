"""The report's DNS chart: for each resolver (network and resolver kind), a horizontal bar of its
answers, one segment per answer. Addresses get the palette's colours; NXDOMAIN (black, cross
hatch), other failures (dark grey, hatched) and bogon addresses (vermillion, light vermillion
or reddish purple, hatched) stand out in colour and in grey print alike. Each resolver's bar
is one series.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address
from typing import Final, Literal

from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

from censorscope.report import palette
from censorscope.report.chartdata import DnsAnswers
from censorscope.report.chartkit import (
    Drawing,
    add_series,
    ellipsize,
    listing,
    new_figure,
    plural,
    series_gids,
    set_title,
)

MAX_RESOLVERS: Final = 40
OTHER_ADDRESSES: Final = "other addresses"
BAR_HEIGHT: Final = 0.7
ADDRESS_COLOURS: Final = (palette.BLUE, palette.SKY_BLUE, palette.BLUISH_GREEN,
                          palette.REDDISH_PURPLE, palette.ORANGE, palette.YELLOW)
FAILURE_HATCHES: Final = ("\\\\", "--", "++", "oo")
# bogons: vermillion, a lighter vermillion and reddish purple, each hatched (up to six looks)
BOGON_LOOKS: Final = tuple((fill, hatch) for hatch in ("//", "..")
                           for fill in (palette.VERMILLION, "#F0A070", palette.REDDISH_PURPLE))

AnswerKind = Literal["address", "bogon", "nxdomain", "failure"]
KIND_ORDER: Final = ("address", "bogon", "nxdomain", "failure")


def answer_kind(answer: str) -> AnswerKind:
    """``1.2.3.4 (AS15169)`` → address, ``bogon 10.10.34.35`` → bogon, ``NXDOMAIN`` →
    nxdomain, anything else (``dns_no_answer``, a timeout …) → failure."""
    if answer.lower().startswith("bogon"):
        return "bogon"
    try:
        ip_address(answer.split(" ", 1)[0])
    except ValueError:
        return "nxdomain" if "nxdomain" in answer.lower() else "failure"
    return "address"


@dataclass(frozen=True)
class Segment:
    """One answer (or the folded other addresses) as drawn: its look and its counts."""

    label: str
    kind: AnswerKind
    facecolor: str
    hatch: str
    edgecolor: str
    counts: dict[str, int]     # resolver → answers


def _check(part: DnsAnswers) -> None:
    chart = "dns_answers"
    if not part.resolvers or not part.answers:
        raise ValueError(f"{chart}: no resolvers or no answers to draw "
                         "(pass None for an empty part)")
    resolvers, answers = set(part.resolvers), set(part.answers)
    for (resolver, answer), n in part.counts.items():
        if resolver not in resolvers or answer not in answers:
            raise ValueError(f"{chart}: a count for {resolver!r} × {answer!r}, "
                             "which is not in the chart")
        if n < 0:
            raise ValueError(f"{chart}: {resolver!r} × {answer!r} has a negative count")


def segments(part: DnsAnswers) -> list[Segment]:
    """The answers in drawing order: addresses, bogons, NXDOMAIN, other failures; the most
    frequent first within each kind, and past the looks a kind has (six addresses, six
    bogons, four failures) the rest folded into one "other" segment."""
    totals = {a: sum(part.counts.get((r, a), 0) for r in part.resolvers) for a in part.answers}
    by_kind: dict[str, list[str]] = {k: [] for k in KIND_ORDER}
    for answer in sorted(part.answers, key=lambda a: -totals[a]):
        if totals[answer]:
            by_kind[answer_kind(answer)].append(answer)

    def counts(answers: list[str]) -> dict[str, int]:
        return {r: sum(part.counts.get((r, a), 0) for a in answers) for r in part.resolvers}

    def split(answers: list[str], limit: int) -> tuple[list[str], list[str]]:
        return (answers, []) if len(answers) <= limit else (answers[:limit], answers[limit:])

    out: list[Segment] = []
    own, folded = split(by_kind["address"], len(ADDRESS_COLOURS))
    for answer, colour in zip(own, ADDRESS_COLOURS, strict=False):
        out.append(Segment(answer, "address", colour, "", "#FFFFFF", counts([answer])))
    if folded:
        out.append(Segment(plural(len(folded), "other address", "other addresses"),
                           "address", palette.LIGHT_GREY, "", "#FFFFFF", counts(folded)))
    own, folded = split(by_kind["bogon"], len(BOGON_LOOKS))
    for answer, (fill, hatch) in zip(own, BOGON_LOOKS, strict=False):
        out.append(Segment(answer, "bogon", fill, hatch, palette.BLACK, counts([answer])))
    if folded:
        out.append(Segment(plural(len(folded), "other bogon"), "bogon", "#F2C4A5", "||",
                           palette.BLACK, counts(folded)))
    for answer in by_kind["nxdomain"]:
        out.append(Segment(answer, "nxdomain", palette.BLACK, "xx", "#FFFFFF",
                           counts([answer])))
    own, folded = split(by_kind["failure"], len(FAILURE_HATCHES))
    for answer, hatch in zip(own, FAILURE_HATCHES, strict=False):
        out.append(Segment(answer, "failure", palette.DARK_GREY, hatch, "#FFFFFF",
                           counts([answer])))
    if folded:
        out.append(Segment(plural(len(folded), "other failure"), "failure", palette.MID_GREY,
                           "||", "#FFFFFF", counts(folded)))
    return out


def draw_dns_answers(part: DnsAnswers) -> Drawing:
    _check(part)
    segs = segments(part)
    totals = {r: sum(part.counts.get((r, a), 0) for a in part.answers) for r in part.resolvers}
    answered = [r for r in part.resolvers if totals[r]]
    if not answered:
        raise ValueError("dns_answers: no resolver gave any answer")
    if len(answered) > MAX_RESOLVERS:
        top = set(sorted(answered, key=lambda r: -totals[r])[:MAX_RESOLVERS])
        answered = [r for r in answered if r in top]
    rows = answered + [r for r in part.resolvers if not totals[r]][:5]
    silent = [r for r in part.resolvers if not totals[r]]
    dropped = [r for r in part.resolvers if totals[r] and r not in set(answered)]
    series = tuple(answered)

    title = "DNS answers per resolver"
    queried = (f"names queried: {listing(part.domains, 3)}" if part.domains
               else "names queried: not recorded")
    if len(part.domains) == 1:
        short = f"name queried: {ellipsize(part.domains[0], 48)}"
    elif part.domains:
        short = f"{len(part.domains)} names queried, e.g. {ellipsize(part.domains[0], 28)}"
    else:
        short = queried
    sentences = []
    for r in answered:
        parts = [f"{part.counts[(r, a)]}× {a}" for a in part.answers
                 if part.counts.get((r, a), 0)]
        sentences.append(f"{r}: {plural(totals[r], 'answer')} ({listing(parts, 4)})")
    kind_totals = {k: sum(sum(s.counts.values()) for s in segs if s.kind == k)
                   for k in KIND_ORDER}
    alt = (f"{title} ({queried}). " + "; ".join(sentences) + ". "
           f"In all: {kind_totals['address']} address answers, "
           f"{kind_totals['bogon']} bogon answers, {kind_totals['nxdomain']} NXDOMAIN, "
           f"{kind_totals['failure']} other failures.")
    if silent:
        alt += f" No answers from {listing(silent, 4)}."
    if dropped:
        alt += (f" Only the {len(answered)} resolvers with most answers are drawn; "
                f"not drawn: {listing(dropped, 4)}.")

    def build() -> Figure:
        fig = new_figure(height=1.6 + 0.34 * len(rows))
        ax = fig.add_subplot()
        gids = series_gids(series)
        widest = max(totals[r] for r in answered)
        for row, resolver in enumerate(answered):
            left = 0
            bars: list[Artist] = []
            for seg in segs:
                n = seg.counts[resolver]
                if not n:
                    continue
                bars.append(Rectangle((left, row - BAR_HEIGHT / 2), n, BAR_HEIGHT,
                                      facecolor=seg.facecolor, hatch=seg.hatch,
                                      edgecolor=seg.edgecolor, linewidth=0.5, zorder=2.0))
                if n >= 0.06 * widest:
                    ax.text(left + n / 2, row, str(n), ha="center", va="center", fontsize=7,
                            bbox={"boxstyle": "round,pad=0.15", "facecolor": "#FFFFFF",
                                  "edgecolor": "none", "alpha": 0.85}, zorder=3.0)
                left += n
            add_series(ax, gids[resolver], bars)
            ax.annotate(str(left), (left, row), xytext=(3, 0), textcoords="offset points",
                        ha="left", va="center", fontsize=7)
        for row in range(len(answered), len(rows)):
            ax.annotate("no answers", (0, row), xytext=(3, 0), textcoords="offset points",
                        ha="left", va="center", fontsize=7, color=palette.DARK_GREY,
                        style="italic")
        ax.set_yticks(range(len(rows)), [ellipsize(r, 40) for r in rows])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xlim(0, widest * 1.12)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(axis="x", color="#E5E5E5", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.set_xlabel("answers (count)")
        ax.set_ylabel("resolver (network, kind)")
        ax.set_title(short, loc="left", fontsize=8.5)
        handles = [Patch(facecolor=s.facecolor, hatch=s.hatch, edgecolor=s.edgecolor,
                         label=ellipsize(s.label, 30)) for s in segs]
        fig.legend(handles=handles, loc="outside right upper", title="answer", frameon=False)
        set_title(fig, title)
        return fig

    return Drawing(title=title, alt=alt, series=series, build=build)
