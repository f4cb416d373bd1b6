"""The report's two grid charts: the share of measurements failed per network × endpoint (counts
in every cell, never-measured cells hatched), and the TLS reachability matrix of server names ×
addresses per network (ok / failed / mixed / not tried, with the failure's code) — the picture
of SNI blocking, where one address completes the handshake for one name and not for another.

Each network's cells are one series (``series-as29049``). Colours come from ``palette`` and
every category also has a hatch, so the grids read in grey print.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LinearSegmentedColormap, Normalize, to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from censorscope.report import palette
from censorscope.report.chartdata import AsnEndpointGrid, SniMatrix
from censorscope.report.chartkit import (
    Drawing,
    add_series,
    ellipsize,
    listing,
    network_label,
    new_figure,
    plural,
    series_gids,
    set_title,
)

CELL: Final = 0.94            # a cell's side in data units (the rest is the gap between cells)
MAX_ENDPOINTS: Final = 40     # endpoint columns drawn (most failures first past this)
MAX_NAMES: Final = 40         # server-name rows of the TLS matrix
MAX_FACETS: Final = 10        # networks of the TLS matrix
FACET_COLUMNS: Final = 5

SHARE_CMAP: Final = LinearSegmentedColormap.from_list("censorscope-share", palette.SHARE_RAMP)

# short words for OONI failure strings (the code in a cell is the word's first letter)
FAILURE_WORDS: Final[dict[str, str]] = {
    "generic_timeout_error": "timeout",
    "connection_reset": "reset",
    "connection_refused": "refused",
    "eof_error": "EOF",
    "ssl_invalid_hostname": "wrong name",
    "ssl_unknown_authority": "unknown CA",
    "ssl_invalid_certificate": "bad certificate",
    "ssl_failed_handshake": "handshake failed",
    "host_unreachable": "unreachable",
    "network_unreachable": "net unreachable",
    "dns_nxdomain_error": "NXDOMAIN",
}


def _cell_rect(row: int, col: int, **style: object) -> Rectangle:
    return Rectangle((col - CELL / 2, row - CELL / 2), CELL, CELL, **style)  # type: ignore[arg-type]


def _grid_axes(ax: Axes, rows: int, cols: int) -> None:
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)     # first row on top
    ax.tick_params(length=0)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)


# -------------------------------------------------------------------- network × endpoint

def _check_grid(part: AsnEndpointGrid) -> None:
    chart = "asn_endpoint_grid"
    if not part.asns or not part.endpoints:
        raise ValueError(f"{chart}: no networks or no endpoints to draw "
                         "(pass None for an empty part)")
    asns = {asn for asn, _ in part.asns}
    endpoints = set(part.endpoints)
    for counts in (part.failed, part.measured):
        for asn, endpoint in counts:
            if asn not in asns or endpoint not in endpoints:
                raise ValueError(f"{chart}: a count for AS{asn} × {endpoint!r}, "
                                 "which is not in the grid")
    for key, f in part.failed.items():
        m = part.measured.get(key, 0)
        if f < 0 or f > m:
            raise ValueError(f"{chart}: AS{key[0]} × {key[1]!r} has {f} failed of {m} measured")
    if any(m < 0 for m in part.measured.values()):
        raise ValueError(f"{chart}: a negative measured count")


def draw_asn_endpoint_grid(part: AsnEndpointGrid) -> Drawing:
    _check_grid(part)
    endpoint_failures = {e: sum(part.failed.get((a, e), 0) for a, _ in part.asns)
                         for e in part.endpoints}
    if len(part.endpoints) > MAX_ENDPOINTS:
        keep = set(sorted(part.endpoints, key=lambda e: -endpoint_failures[e])[:MAX_ENDPOINTS])
        endpoints = [e for e in part.endpoints if e in keep]
    else:
        endpoints = list(part.endpoints)
    dropped = [e for e in part.endpoints if e not in set(endpoints)]
    series = tuple(f"AS{asn}" for asn, _ in part.asns)

    title = "Share of measurements failed per network and endpoint"
    sentences = []
    for asn, name in part.asns:
        f = sum(part.failed.get((asn, e), 0) for e in part.endpoints)
        m = sum(part.measured.get((asn, e), 0) for e in part.endpoints)
        tried = [e for e in part.endpoints if part.measured.get((asn, e), 0)]
        failing = [e for e in tried if part.failed.get((asn, e), 0)]
        always = [e for e in failing if part.failed[(asn, e)] == part.measured[(asn, e)]]
        text = (f"AS{asn} {name}".strip() + f": {f} of {m} endpoint measurements failed; "
                f"{len(failing)} of {len(tried)} endpoints measured failed at least once")
        if always:
            text += f", {len(always)} in every measurement ({listing(always, 3)})"
        if len(tried) < len(part.endpoints):
            text += f"; {plural(len(part.endpoints) - len(tried), 'endpoint')} not measured"
        sentences.append(text)
    alt = (f"{title}: {plural(len(part.asns), 'network')} × "
           f"{plural(len(part.endpoints), 'endpoint')}, each cell failed/measured. "
           + "; ".join(sentences) + ".")
    if dropped:
        alt += (f" Only the {len(endpoints)} endpoints with most failures are drawn; not drawn: "
                f"{listing(dropped, 4)}.")

    def build() -> Figure:
        rows, cols = len(part.asns), len(endpoints)
        cell_w = min(0.9, max(0.32, 6.0 / cols))
        label_room = max(len(ellipsize(e, 34)) for e in endpoints) * 0.045 + 0.4
        fig = new_figure(width=2.6 + cols * cell_w + 1.2,
                         height=1.0 + rows * 0.45 + label_room)
        ax = fig.add_subplot()
        _grid_axes(ax, rows, cols)
        gids = series_gids(series)
        text_size = min(8.0, cell_w * 72 / 3.4)
        for r, (asn, _) in enumerate(part.asns):
            cells: list[Artist] = []
            for c, endpoint in enumerate(endpoints):
                m = part.measured.get((asn, endpoint), 0)
                if not m:
                    fill, hatch, edge = palette.NOT_MEASURED
                    cells.append(_cell_rect(r, c, facecolor=fill, hatch=hatch, edgecolor=edge,
                                            linewidth=0.0))
                    continue
                f = part.failed.get((asn, endpoint), 0)
                colour = to_hex(SHARE_CMAP(f / m))
                cells.append(_cell_rect(r, c, facecolor=colour, edgecolor="none"))
                ax.text(c, r, f"{f}/{m}", ha="center", va="center", fontsize=text_size,
                        color=palette.text_colour_on(colour))
            add_series(ax, gids[f"AS{asn}"], cells)
        ax.set_yticks(range(rows), [network_label(a, n) for a, n in part.asns])
        ax.set_xticks(range(cols), [ellipsize(e, 34) for e in endpoints], rotation=40,
                      ha="right", rotation_mode="anchor")
        ax.set_xlabel("endpoint")
        ax.set_ylabel("network")
        ax.set_aspect("auto")
        bar = fig.colorbar(ScalarMappable(norm=Normalize(0, 100), cmap=SHARE_CMAP), ax=ax,
                           fraction=0.04, pad=0.02)
        bar.set_label("failed (% of measurements)")
        fill, hatch, edge = palette.NOT_MEASURED
        fig.legend(handles=[Patch(facecolor=fill, hatch=hatch, edgecolor=edge,
                                  label="not measured")],
                   loc="outside lower right", frameon=False)
        set_title(fig, title)
        return fig

    return Drawing(title=title, alt=alt, series=series, build=build)


# --------------------------------------------------------------- TLS address × server name

CellState = Literal["ok", "failed", "mixed", "not tried"]
STATE_STYLES: Final[dict[str, tuple[str, str, str]]] = {
    "ok": palette.CELL_OK, "failed": palette.CELL_FAILED, "mixed": palette.CELL_MIXED,
    "not tried": palette.CELL_NOT_TRIED,
}
STATE_LABELS: Final[dict[str, str]] = {
    "ok": "handshake ok", "failed": "failed", "mixed": "some ok, some failed",
    "not tried": "not tried",
}


@dataclass(frozen=True)
class SniCell:
    ok: int
    failed: int
    failures: tuple[str, ...]

    @property
    def state(self) -> CellState:
        if self.ok and self.failed:
            return "mixed"
        if self.failed:
            return "failed"
        return "ok" if self.ok else "not tried"


def failure_word(failure: str) -> str:
    return FAILURE_WORDS.get(failure, ellipsize(failure.removesuffix("_error"), 16))


def failure_codes(failures: Sequence[str]) -> dict[str, str]:
    """A short code per failure string (``generic_timeout_error`` → ``T``), unique in the
    chart: the word's first letter, then a number if the letter is taken."""
    codes: dict[str, str] = {}
    for failure in failures:
        letter = failure_word(failure)[:1].upper() or "?"
        code, n = letter, 1
        while code in codes.values():
            n += 1
            code = f"{letter}{n}"
        codes[failure] = code
    return codes


def _check_sni(part: SniMatrix) -> None:
    chart = "sni_matrix"
    if not part.asns or not part.ips or not part.server_names:
        raise ValueError(f"{chart}: no networks, addresses or server names to draw "
                         "(pass None for an empty part)")
    asns, ips, names = {a for a, _ in part.asns}, set(part.ips), set(part.server_names)
    for (asn, ip, name), (ok, failed, _uid, _failures) in part.cells.items():
        if asn not in asns or ip not in ips or name not in names:
            raise ValueError(f"{chart}: a cell for AS{asn} × {ip} × {name!r}, "
                             "which is not in the matrix")
        if ok < 0 or failed < 0:
            raise ValueError(f"{chart}: AS{asn} × {ip} × {name!r} has a negative count")


def _cells(part: SniMatrix) -> dict[tuple[int, str, str], SniCell]:
    return {key: SniCell(ok, failed, tuple(failures))
            for key, (ok, failed, _uid, failures) in part.cells.items()}


def draw_sni_matrix(part: SniMatrix) -> Drawing:
    _check_sni(part)
    cells = _cells(part)
    empty = SniCell(0, 0, ())

    def cell(asn: int, ip: str, name: str) -> SniCell:
        return cells.get((asn, ip, name), empty)

    failed_any = {name for (_a, _i, name), c in cells.items() if c.failed}
    names = list(part.server_names)
    if len(names) > MAX_NAMES:
        names = sorted(names, key=lambda n: n not in failed_any)[:MAX_NAMES]
        names = [n for n in part.server_names if n in set(names)]
    dropped_names = [n for n in part.server_names if n not in set(names)]
    net_failures = {a: sum(c.failed for (asn, _i, _n), c in cells.items() if asn == a)
                    for a, _ in part.asns}
    nets = list(part.asns)
    if len(nets) > MAX_FACETS:
        top = set(sorted(net_failures, key=lambda a: -net_failures[a])[:MAX_FACETS])
        nets = [(a, n) for a, n in part.asns if a in top]
    dropped_nets = [(a, n) for a, n in part.asns if (a, n) not in nets]
    kinds = sorted({f for c in cells.values() for f in c.failures},
                   key=lambda f: (-sum(c.failures.count(f) for c in cells.values()), f))
    codes = failure_codes(kinds)
    series = tuple(f"AS{asn}" for asn, _ in nets)

    title = "TLS handshakes by server name and address, per network"
    alt = f"{title}: {_sni_summary(part, nets, cell)}"
    if dropped_names:
        alt += (f" Drawn: the first {len(names)} server names, those that failed first; "
                f"not drawn: {listing(dropped_names, 4)}.")
    if dropped_nets:
        alt += (f" Drawn: the {len(nets)} networks with most failures; not drawn: "
                f"{listing([network_label(a, n, 60) for a, n in dropped_nets], 4)}.")

    def build() -> Figure:
        ncols = min(len(nets), FACET_COLUMNS)
        nrows = math.ceil(len(nets) / ncols)
        cell_w = min(0.6, max(0.26, 5.2 / (ncols * len(part.ips))))
        ip_room = max(len(ellipsize(ip, 20)) for ip in part.ips) * 0.05 + 0.3
        name_room = max(len(ellipsize(n, 34)) for n in names) * 0.06 + 0.3
        facet_h = len(names) * 0.2 + ip_room + 0.5
        fig = new_figure(width=max(6.0, name_room + ncols * (len(part.ips) * cell_w + 0.25)
                                   + 0.4),
                         height=nrows * facet_h + 1.4)
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
        gids = series_gids(series)
        text_size = min(7.0, cell_w * 72 / 2.6)
        for k, ax in enumerate(axes.flat):
            if k >= len(nets):
                ax.set_visible(False)
                continue
            asn, as_name = nets[k]
            _grid_axes(ax, len(names), len(part.ips))
            rects: list[Artist] = []
            for r, name in enumerate(names):
                for c, ip in enumerate(part.ips):
                    sc = cell(asn, ip, name)
                    fill, hatch, edge = STATE_STYLES[sc.state]
                    rects.append(_cell_rect(r, c, facecolor=fill, hatch=hatch, edgecolor=edge,
                                            linewidth=0.0))
                    if sc.failures:
                        code = "".join(dict.fromkeys(codes[f] for f in sc.failures))
                        ax.text(c, r, code, ha="center", va="center", fontsize=text_size,
                                color=palette.BLACK, fontweight="bold",
                                bbox={"boxstyle": "square,pad=0.1", "facecolor": "#FFFFFF",
                                      "edgecolor": "none"})
            add_series(ax, gids[f"AS{asn}"], rects)
            ax.set_title(f"AS{asn}\n{ellipsize(as_name, 24)}" if as_name else f"AS{asn}")
            ax.set_xticks(range(len(part.ips)), [ellipsize(ip, 20) for ip in part.ips],
                          rotation=90)
            ax.set_yticks(range(len(names)), [ellipsize(n, 34) for n in names])
            if k % ncols == 0:
                ax.set_ylabel("server name (SNI)")
            if k >= len(nets) - ncols:
                ax.set_xlabel("address")
        handles: list[Artist] = []
        for state, (fill, hatch, edge) in STATE_STYLES.items():
            handles.append(Patch(facecolor=fill, hatch=hatch, edgecolor=edge,
                                 label=STATE_LABELS[state]))
        for failure, code in codes.items():
            key = f"{code}: {failure_word(failure)} ({failure})"
            handles.append(Patch(facecolor="none", edgecolor="none", label=ellipsize(key, 60)))
        fig.legend(handles=handles, loc="outside lower center", ncols=min(5, len(handles)),
                   frameon=False)
        set_title(fig, title)
        return fig

    return Drawing(title=title, alt=alt, series=series, build=build)


def _sni_summary(part: SniMatrix, nets: Sequence[tuple[int, str]],
                 cell: Callable[[int, str, str], SniCell]) -> str:
    sentences = []
    pairs = len(part.ips) * len(part.server_names)
    for asn, as_name in nets:
        states = {(ip, name): cell(asn, ip, name)
                  for ip in part.ips for name in part.server_names}
        count = {s: sum(1 for c in states.values() if c.state == s)
                 for s in ("ok", "failed", "mixed")}
        tried = sum(count.values())
        kinds = sorted({f for c in states.values() for f in c.failures})
        text = (f"AS{asn} {as_name}".strip() + f": {tried} of {pairs} address × name pairs "
                f"tried, {count['ok']} ok, {count['failed']} failed, {count['mixed']} mixed")
        if kinds:
            text += f" ({', '.join(kinds)})"
        # the SNI proof: on one address, one name completes and another fails
        split = []
        for ip in part.ips:
            ok = [n for n in part.server_names if states[(ip, n)].state == "ok"]
            bad = [n for n in part.server_names if states[(ip, n)].state in ("failed", "mixed")]
            if ok and bad:
                split.append((ip, ok[0], bad[0]))
        if split:
            ip, ok_name, bad_name = split[0]
            text += (f"; on {plural(len(split), 'address', 'addresses')} some names completed "
                     f"TLS and others failed (e.g. {ip}: {ok_name} ok, {bad_name} failed)")
        sentences.append(text)
    return "; ".join(sentences) + "."
