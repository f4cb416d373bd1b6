"""The Jinja2 environment of the explorer: templates shipped in the package, every value
autoescaped, undefined names an error, and the few filters the templates share."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .svgchart import mat_svg

__all__ = ["NAV", "STATIC", "TEMPLATES", "environment", "when"]

HERE: Final = Path(__file__).resolve().parent
TEMPLATES: Final = HERE / "templates"
STATIC: Final = HERE / "static"

# (key, label, path) of the main navigation; pages say which key is theirs
NAV: Final = (
    ("search", "Search", "/search"),
    ("mat", "Charts (MAT)", "/chart/mat"),
    ("countries", "Countries", "/countries"),
    ("incidents", "Incidents", "/incidents"),
    ("outages", "Outages", "/outages"),
    ("reports", "Reports", "/reports"),
)


def when(value: str | None) -> str:
    """``2022-09-14T06:00:00Z`` → ``2022-09-14 06:00:00 UTC`` (a date stays a date)."""
    if not value:
        return ""
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if len(value) == 10:
        return value
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")


def number(value: Any) -> str:
    """An integer with thousands separators; anything else as text."""
    if isinstance(value, bool) or not isinstance(value, int):
        return "" if value is None else str(value)
    return f"{value:,}"


def seconds(value: Any) -> str:
    """A time in seconds as ``1.234 s`` (milliseconds kept); None as an empty string."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    return f"{value:.3f} s" if value >= 0.001 or value == 0 else f"{value * 1000:.3f} ms"


def query(params: Mapping[str, Any]) -> str:
    """``{"a": "1", "b": None}`` → ``a=1``: a query string of the values that are set."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def path_part(value: str) -> str:
    """A value quoted to be one segment of a URL path."""
    return quote(value, safe="")


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters.update(when=when, number=number, seconds=seconds, query=query,
                       path_part=path_part)
    env.globals["NAV"] = NAV
    env.globals["mat_svg"] = mat_svg
    return env
