"""OONI's measurement endpoints: ``/api/v1/measurements`` (search, keyset pages),
``/api/v1/measurement_meta`` and ``/api/v1/raw_measurement`` (ooni-backend §3.1, §3.2)."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from censorscope.model.rows import MeasurementRow
from censorscope.store.search import Keyset, SearchFilter

from .cursor import decode_cursor, encode_cursor
from .deps import UID_PATTERN, Uid, check_page_size, pool_of, settings_of
from .errors import ERROR_RESPONSES, APIError, bad_parameter
from .params import asn_list, cc_list, name_list, parse_time, window
from .rawbody import read_raw
from .render import iso_z, json_response, measurement_json
from .schemas import MeasurementMeta, SearchAnswer

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["measurements"], responses=ERROR_RESPONSES)

SEARCH_DEFAULT_DAYS = 30  # OONI: since = until − 30 days


def _item(row: MeasurementRow, raw_url: str) -> dict[str, Any]:
    return {
        "measurement_uid": row.measurement_uid, "report_id": row.report_id,
        "test_name": row.test_name, "input": row.input, "domain": row.domain,
        "probe_cc": row.probe_cc, "probe_asn": f"AS{row.probe_asn}",
        "probe_network_name": row.probe_network_name,
        "measurement_start_time": iso_z(row.measurement_start_time),
        "anomaly": row.anomaly, "confirmed": row.confirmed, "failure": row.failure,
        "blocking_type": row.blocking_type,
        "measurement_url": f"{raw_url}?{urlencode({'measurement_uid': row.measurement_uid})}",
    }


@router.get("/measurements", response_model=SearchAnswer,
            summary="Search measurements (OONI's filters, keyset pages)")
def search_measurements(
    request: Request,
    report_id: Annotated[str | None, Query(min_length=3, max_length=100)] = None,
    input: Annotated[str | None, Query(min_length=3, max_length=2000,
                                       description="Exact input (URL); overrides domain.")
                     ] = None,
    domain: Annotated[str | None, Query(description="Comma list of domains.")] = None,
    probe_cc: Annotated[str | None, Query(description="Comma list of country codes.")] = None,
    probe_asn: Annotated[str | None, Query(description="Comma list: AS123 or 123.")] = None,
    test_name: Annotated[str | None, Query(description="Comma list of test names.")] = None,
    since: Annotated[str | None, Query(description="Inclusive; default until − 30 days.")
                     ] = None,
    until: Annotated[str | None, Query(description="Exclusive; default tomorrow 00:00 UTC.")
                     ] = None,
    anomaly: bool | None = None,
    confirmed: bool | None = None,
    failure: bool | None = None,
    order_by: Literal["measurement_start_time"] = "measurement_start_time",
    order: Literal["desc", "asc"] = "desc",
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[int, Query(ge=0, description="Only 0: page with cursor.")] = 0,
    cursor: Annotated[str | None, Query(max_length=1000,
                                        description="metadata.next_cursor of the last page.")
                      ] = None,
) -> Response:
    """Measurements newest first (or oldest first), ``limit`` per page; the next page is
    ``cursor=<metadata.next_cursor>`` with the same filters (``metadata.next_url``)."""
    started = time.perf_counter()
    settings = settings_of(request)
    size = check_page_size(limit, settings)
    if offset:
        raise bad_parameter("offset", "pages are keyset pages: pass metadata.next_cursor "
                            "as cursor instead of an offset", offset)
    start, end = window(parse_time("since", since), parse_time("until", until),
                        default_days=SEARCH_DEFAULT_DAYS,
                        max_days=settings.search_window_days)
    where = SearchFilter(
        since=start, until=end, probe_cc=cc_list("probe_cc", probe_cc),
        probe_asn=asn_list("probe_asn", probe_asn),
        test_name=name_list("test_name", test_name, test_names=True),
        domain=None if input is not None else name_list("domain", domain, min_length=3),
        input=input, report_id=report_id, anomaly=anomaly, confirmed=confirmed,
        failure=failure)
    after = decode_cursor(cursor, order, where) if cursor is not None else None
    with pool_of(request).store() as store:
        rows = store.search_measurements(where, order=order, limit=size + 1, after=after)
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = next_url = None
    if more:
        last = rows[-1]
        assert last.measurement_start_time is not None  # the search never returns None
        next_cursor = encode_cursor(Keyset(last.measurement_start_time, last.measurement_uid),
                                    order, where)
        next_url = str(request.url.include_query_params(cursor=next_cursor))
    raw_url = str(request.url_for("raw_measurement"))
    last_page_only = not more and after is None
    return json_response({
        "metadata": {
            "count": len(rows) if last_page_only else -1,
            "pages": 1 if last_page_only else -1, "limit": size,
            "next_cursor": next_cursor, "next_url": next_url,
            "since": iso_z(start), "until": iso_z(end),
            "query_time": round(time.perf_counter() - started, 4),
        },
        "results": [_item(r, raw_url) for r in rows],
    })


def _find(request: Request, measurement_uid: str | None, report_id: str | None,
          input: str | None) -> MeasurementRow:
    with pool_of(request).store() as store:
        if measurement_uid is not None:
            row = store.get_measurement(measurement_uid)
        elif report_id is not None:
            found = store.search_measurements(
                SearchFilter(report_id=report_id, input=input), order="asc", limit=1)
            row = found[0] if found else None
        else:
            raise bad_parameter("measurement_uid", "give measurement_uid (or report_id)")
    if row is None:
        raise APIError(404, "no such measurement",
                       {"measurement_uid": measurement_uid, "report_id": report_id})
    return row


@router.get("/measurement_meta", response_model=MeasurementMeta,
            summary="One measurement's stored row (and its raw body with full=true)")
def measurement_meta(
    request: Request,
    measurement_uid: Annotated[str | None, Query(pattern=UID_PATTERN)] = None,
    report_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_]{15,100}$")] = None,
    input: Annotated[str | None, Query(max_length=2000)] = None,
    full: bool = False,
) -> Response:
    row = _find(request, measurement_uid, report_id, input)
    out = measurement_json(row)
    if full:
        raw = read_raw(row)
        out["raw_measurement"] = None if raw is None else orjson.dumps(raw).decode()
    return json_response(out)


@router.get("/raw_measurement", name="raw_measurement",
            summary="The raw measurement as the probe sent it (JSON data)",
            responses={200: {"content": {"application/json": {"schema": {"type": "object"}}},
                             "description": "The measurement's JSON object."}})
def raw_measurement(request: Request, measurement_uid: Uid) -> Response:
    row = _find(request, measurement_uid, None, None)
    raw = read_raw(row)
    if raw is None:
        raise APIError(404, "the raw measurement is no longer at hand (its file moved or "
                       "changed, or the collector's archive holds it)",
                       {"measurement_uid": measurement_uid})
    return Response(orjson.dumps(raw), media_type="application/json")
