"""OONI's MAT endpoint ``/api/v1/aggregation`` (ooni-backend §3.3): the four mutually
exclusive counts (ok / anomaly / confirmed / failure, and their sum) by up to two axes, one of
which may be time (``measurement_start_day`` at a ``time_grain``); JSON or CSV with the same
numbers."""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from censorscope.store.base import COUNT_KEYS

from .deps import pool_of, settings_of
from .errors import ERROR_RESPONSES, bad_parameter
from .params import asn_list, cc_list, name_list, parse_time, window
from .render import iso_z, json_response
from .schemas import AggregationAnswer

__all__ = ["allowed_grains", "router"]

router = APIRouter(prefix="/api/v1", tags=["aggregation"], responses=ERROR_RESPONSES)

AGGREGATION_DEFAULT_DAYS: Final = 180  # OONI: since = now − 180 days
TIME_AXIS: Final = "measurement_start_day"
Axis = Literal["measurement_start_day", "probe_cc", "probe_asn", "test_name", "domain",
               "input", "blocking_type", "category_code"]
Grain = Literal["hour", "day", "week", "month", "year", "auto"]


def allowed_grains(since: datetime, until: datetime) -> tuple[str, ...]:
    """OONI's grains by the window's length; ``auto`` takes the first."""
    days = (until - since).total_seconds() / 86_400
    if days <= 7:
        return ("hour", "day")
    if days <= 30:
        return ("day", "week")
    if days <= 365:
        return ("day", "week", "month")
    return ("day", "week", "month", "year")


def _axes(axis_x: str | None, axis_y: str | None) -> list[str]:
    axes = [a for a in (axis_x, axis_y) if a is not None]
    if "category_code" in axes:
        name = "axis_x" if axis_x == "category_code" else "axis_y"
        raise bad_parameter(name, "category_code is not kept in the store (no test-list "
                            "join yet)", "category_code")
    if len(axes) == 2 and axes[0] == axes[1]:
        raise bad_parameter("axis_y", "axis_x and axis_y must differ", axis_y)
    return axes


def _cell(row: dict[str, Any], axes: list[str], grain: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for axis in axes:
        if axis == TIME_AXIS:
            out[axis] = iso_z(row[grain]) if row[grain] is not None else None
        else:
            out[axis] = row[axis]
    out.update({k: row[k] for k in COUNT_KEYS})
    return out


def _csv(cells: list[dict[str, Any]], axes: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    columns = [*axes, *COUNT_KEYS]
    writer.writerow(columns)
    for cell in cells:
        writer.writerow(["" if cell[c] is None else cell[c] for c in columns])
    return buf.getvalue()


@router.get("/aggregation", response_model=AggregationAnswer,
            summary="MAT: ok / anomaly / confirmed / failure counts by up to two axes",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def aggregation(
    request: Request,
    axis_x: Axis | None = None,
    axis_y: Axis | None = None,
    time_grain: Grain = "auto",
    since: Annotated[str | None, Query(description="Inclusive; default until − 180 days.")
                     ] = None,
    until: Annotated[str | None, Query(description="Exclusive; default tomorrow.")] = None,
    probe_cc: Annotated[str | None, Query(description="Comma list of country codes.")] = None,
    probe_asn: Annotated[str | None, Query(description="Comma list: AS123 or 123.")] = None,
    test_name: Annotated[str | None, Query(description="Comma list of test names.")] = None,
    domain: Annotated[str | None, Query(description="Comma list of domains.")] = None,
    input: Annotated[str | None, Query(min_length=3, max_length=2000)] = None,
    category_code: Annotated[str | None, Query(pattern=r"^[A-Z]+$")] = None,
    format: Literal["JSON", "CSV"] = "JSON",
    download: bool = False,
) -> Response:
    started = time.perf_counter()
    settings = settings_of(request)
    axes = _axes(axis_x, axis_y)
    if category_code is not None:
        raise bad_parameter("category_code", "category codes are not kept in the store",
                            category_code)
    start, end = window(parse_time("since", since), parse_time("until", until),
                        default_days=AGGREGATION_DEFAULT_DAYS,
                        max_days=settings.aggregation_window_days)
    grains = allowed_grains(start, end)
    grain = grains[0] if time_grain == "auto" else time_grain
    if grain not in grains:
        raise bad_parameter("time_grain", f"a window of this length allows {list(grains)}",
                            time_grain)
    group_by = [grain if a == TIME_AXIS else a for a in axes]
    with pool_of(request).store() as store:
        rows = store.query_aggregate(
            group_by, since=start, until=end, probe_cc=cc_list("probe_cc", probe_cc),
            probe_asn=asn_list("probe_asn", probe_asn),
            test_name=name_list("test_name", test_name, test_names=True),
            domain=name_list("domain", domain, min_length=3),
            input=None if input is None else [input])
    if len(rows) > settings.max_aggregation_rows:
        raise bad_parameter("axis_y", f"more than {settings.max_aggregation_rows} cells; "
                            "narrow the window or the filters, or use a coarser time_grain")
    cells = [_cell(r, axes, grain) for r in rows]
    suffix = "csv" if format == "CSV" else "json"
    headers = ({"Content-Disposition": f'attachment; filename="aggregation.{suffix}"'}
               if download else None)
    if format == "CSV":
        return Response(_csv(cells, axes), media_type="text/csv; charset=utf-8",
                        headers=headers)
    result: list[dict[str, Any]] | dict[str, Any] = cells
    if not axes:  # OONI: one object, not a list, without axes
        result = cells[0] if cells else dict.fromkeys(COUNT_KEYS, 0)
    return json_response({
        "v": 0, "dimension_count": len(axes), "time_grain": grain,
        "since": iso_z(start), "until": iso_z(end),
        "db_stats": {"row_count": len(cells),
                     "elapsed_seconds": round(time.perf_counter() - started, 4)},
        "result": result,
    }, headers=headers)
