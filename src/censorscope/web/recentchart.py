"""The small MAT chart of the country and network pages: the API's aggregation
(``/api/v1/aggregation``, called in-process) over time for one country or network in a
window, arranged by the MAT page's chart data (:func:`.matdata.chart`, drawn in the template
by :func:`.svgchart.mat_svg`), with the non-empty buckets as a table whose rows link to the
search of their measurements, and a link to the same chart on the MAT page."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from urllib.parse import urlencode

import orjson
from fastapi import Request

from censorscope.api import aggregation as api_aggregation
from censorscope.api.render import iso_z

from .matdata import TIME_AXIS, chart, search_bounds
from .paths import search_path

__all__ = ["recent_chart"]


def recent_chart(request: Request, since: datetime, until: datetime, grain: str, *,
                 probe_cc: str | None = None, probe_asn: int | None = None) -> dict[str, Any]:
    """``{"aggregation", "chart", "rows", "mat_url"}`` of the window's measurements."""
    filters = {"probe_cc": probe_cc,
               "probe_asn": None if probe_asn is None else f"AS{probe_asn}"}
    start, end = iso_z(since), iso_z(until)
    answer = orjson.loads(api_aggregation.aggregation(
        request, axis_x=TIME_AXIS, axis_y=None, time_grain=cast(Any, grain), since=start, until=end,
        test_name=None, domain=None, input=None, category_code=None, format="JSON",
        download=False, **filters).body)
    drawn = chart(answer, TIME_AXIS, None)
    rows = []
    for bar in drawn["panels"][0]["bars"] if drawn["panels"] else ():
        if bar["total"]:
            t0, t1 = search_bounds(bar["x"], grain)
            rows.append({**bar, "search_url": search_path({**filters, "since": t0,
                                                           "until": t1})})
    mat = {**{k: v for k, v in filters.items() if v}, "since": start, "until": end,
           "time_grain": grain}
    return {"aggregation": answer, "chart": drawn, "rows": rows,
            "mat_url": f"/chart/mat?{urlencode(mat)}"}
