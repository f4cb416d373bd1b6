"""The MAT page ``/chart/mat`` (OONI's Measurement Aggregation Toolkit): a form for the axes,
time grain and filters; the API's aggregation (``/api/v1/aggregation``, called in-process with
the same parameters) as a server-drawn SVG chart of stacked bars — over time, or a grid of
rows when ``axis_y`` is set — with the numbers as a table, and links to download the same
numbers as CSV and JSON from the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request

from censorscope.api import aggregation as api_aggregation
from censorscope.api.deps import settings_of

from .forms import Field, choice, text
from .matdata import AXIS_NAMES, TIME_AXIS, chart, search_bounds
from .pages import page

__all__ = ["AXES", "GRAINS", "MAX_TABLE_ROWS", "router"]

router = APIRouter()

AXES: Final = tuple(AXIS_NAMES)  # the API's axes (category_code is not kept in the store)
GRAINS: Final = ("auto", "hour", "day", "week", "month", "year")
FILTERS: Final = ("probe_cc", "probe_asn", "test_name", "domain", "input")
MAX_TABLE_ROWS: Final = 2000  # rows of the numbers table on the page (the downloads have all)


def _search_link(cell: dict[str, Any], form: dict[str, Any], grain: str, window: tuple[str, str],
                 max_days: int) -> str | None:
    """The search for the measurements counted in ``cell``; None when a search cannot ask
    for them (a blocking-type axis, an empty value, a bucket or window longer than the
    search allows)."""
    params = {k: form[k] for k in FILTERS if form[k]}
    bounds = window
    for name in (form["axis_x"], form["axis_y"]):
        value = cell.get(name) if name else None
        if not name:
            continue
        if value is None or name not in (TIME_AXIS, *FILTERS):
            return None
        if name == TIME_AXIS:
            bounds = search_bounds(value, grain)
        else:
            params[name] = str(value)
    start, end = (datetime.fromisoformat(b.replace("Z", "+00:00")) for b in bounds)
    if (end - start).total_seconds() > max_days * 86_400:
        return None
    return f"/search?{urlencode({**params, 'since': bounds[0], 'until': bounds[1]})}"


@page(router, "/chart/mat", template="mat.html", nav="mat")
def mat(
    request: Request,
    axis_x: Field = None, axis_y: Field = None, time_grain: Field = None,
    since: Field = None, until: Field = None,
    probe_cc: Field = None, probe_asn: Field = None, test_name: Field = None,
    domain: Field = None, input: Field = None,
) -> dict[str, Any]:
    """Counts of ok / anomaly / confirmed / failure measurements by up to two axes."""
    form: dict[str, Any] = {
        "axis_x": choice("axis_x", axis_x, AXES, TIME_AXIS),
        "axis_y": choice("axis_y", axis_y, ("", *AXES), "") or None,
        "time_grain": choice("time_grain", time_grain, GRAINS, "auto"),
        "since": text(since), "until": text(until),
        "probe_cc": text(probe_cc), "probe_asn": text(probe_asn),
        "test_name": text(test_name), "domain": text(domain),
        "input": text(input, name="input", min_length=3),
    }
    answer = orjson.loads(api_aggregation.aggregation(
        request, category_code=None, format="JSON", download=False, **form).body)
    grain, start, end = answer["time_grain"], answer["since"], answer["until"]
    cells = answer["result"] if isinstance(answer["result"], list) else [answer["result"]]
    # the downloads ask the API for the same numbers: the same window and grain, made exact
    exact = {k: v for k, v in form.items() if v}
    exact.update(since=start, until=end, time_grain=grain)
    return {
        "title": "Charts (MAT): measurements by " + " and ".join(
            AXIS_NAMES[a] for a in (form["axis_x"], form["axis_y"]) if a),
        "form": form,
        "axes": [[a, AXIS_NAMES[a]] for a in AXES],
        "axis_names": AXIS_NAMES,
        "grains": [[g, g] for g in GRAINS],
        "aggregation": answer,
        "chart": chart(answer, form["axis_x"], form["axis_y"]),
        "table": {"rows": [{**cell, "search_url": _search_link(
                               cell, form, grain, (start, end),
                               settings_of(request).search_window_days)}
                           for cell in cells[:MAX_TABLE_ROWS]],
                  "left_out": max(0, len(cells) - MAX_TABLE_ROWS)},
        "links": {
            "csv": f"/api/v1/aggregation?{urlencode({**exact, 'format': 'CSV'})}"
                   "&download=true",
            "json": f"/api/v1/aggregation?{urlencode(exact)}",
        },
    }
