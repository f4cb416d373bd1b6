"""The colours, hatches and markers of the report's charts: the Okabe–Ito palette (safe for
the common colour-vision deficiencies), with a hatch or a marker beside every colour so a chart
printed in grey still tells its series and categories apart.
"""

from __future__ import annotations

from typing import Final

# Okabe & Ito (2008), "Color Universal Design": the eight colours by name.
BLACK: Final = "#000000"
ORANGE: Final = "#E69F00"
SKY_BLUE: Final = "#56B4E9"
BLUISH_GREEN: Final = "#009E73"
YELLOW: Final = "#F0E442"
BLUE: Final = "#0072B2"
VERMILLION: Final = "#D55E00"
REDDISH_PURPLE: Final = "#CC79A7"

# neutral greys (not series colours): context drawn behind the data, and "nothing here"
LIGHT_GREY: Final = "#DDDDDD"
MID_GREY: Final = "#999999"
DARK_GREY: Final = "#555555"

# series colours in the order they are handed out: the strongest first, yellow (weak on
# white) last
SERIES_COLOURS: Final = (BLUE, VERMILLION, BLUISH_GREEN, REDDISH_PURPLE, ORANGE, SKY_BLUE,
                         BLACK, YELLOW)
# one marker, line style and hatch per series position, so series differ without colour too
SERIES_MARKERS: Final = ("o", "s", "^", "D", "v", "P", "X", "*")
SERIES_LINESTYLES: Final = ("-", "--", "-.", ":", "-", "--", "-.", ":")
SERIES_HATCHES: Final = ("", "//", "..", "xx", "\\\\", "oo", "++", "--")

# the categories of a TLS reachability cell: (fill colour, hatch, hatch/edge colour)
CELL_OK: Final = (BLUISH_GREEN, "", BLUISH_GREEN)
CELL_FAILED: Final = (VERMILLION, "xx", "#FFFFFF")
CELL_MIXED: Final = (ORANGE, "//", BLACK)
CELL_NOT_TRIED: Final = ("#EBEBEB", "", "#EBEBEB")
# a cell of a share heatmap that was never measured
NOT_MEASURED: Final = ("#FFFFFF", "//", MID_GREY)

# the share-failed ramp (0 → 1): lightness falls monotonically, so grey print keeps the order
SHARE_RAMP: Final = ("#F7F7F7", "#F5D6A0", ORANGE, VERMILLION, "#6B2A00")


def series_colour(i: int) -> str:
    return SERIES_COLOURS[i % len(SERIES_COLOURS)]


def series_marker(i: int) -> str:
    return SERIES_MARKERS[i % len(SERIES_MARKERS)]


def series_linestyle(i: int) -> str:
    return SERIES_LINESTYLES[i % len(SERIES_LINESTYLES)]


def series_hatch(i: int) -> str:
    return SERIES_HATCHES[i % len(SERIES_HATCHES)]


def text_colour_on(fill: str) -> str:
    """Black or white, whichever reads better on ``fill`` (a ``#RRGGBB`` colour)."""
    r, g, b = (int(fill[i:i + 2], 16) / 255 for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return BLACK if luminance > 0.45 else "#FFFFFF"
