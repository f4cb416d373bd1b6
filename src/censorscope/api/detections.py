"""censorscope's detection endpoints: ``/api/v1/incidents`` (one target blocked in one
country, clustered over its networks), ``/api/v1/incidents/{id}`` and ``/api/v1/outages`` —
the events ``censorscope detect`` stored, as ``censorscope incidents --format json`` prints
them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from censorscope.model.detection import OutageKind

from .deps import check_page_size, pool_of, settings_of
from .errors import ERROR_RESPONSES, APIError
from .params import asn_list, cc_list, parse_time
from .render import json_response
from .schemas import IncidentAnswer, IncidentsAnswer, OutagesAnswer

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["detection"], responses=ERROR_RESPONSES)

MAX_OFFSET = 10**9  # events are few; a larger offset is a 422, not a number JSON cannot carry
Since = Annotated[str | None, Query(description="Events going on at or after this time.")]
Until = Annotated[str | None, Query(description="Events that started before this time.")]


def _overlaps(event: dict[str, Any], since: datetime | None, until: datetime | None) -> bool:
    """Whether the event (``start``, ``end`` or None while going on) meets since…until."""
    start = parse_time("start", event["start"])
    end = parse_time("end", event.get("end"))
    if until is not None and start is not None and start >= until:
        return False
    return not (since is not None and end is not None and end < since)


def _page(request: Request, table: str, key: str, probe_cc: str | None, since: str | None,
          until: str | None, limit: int | None, offset: int,
          keep: Any = None) -> Response:
    size = check_page_size(limit, settings_of(request))
    ccs = cc_list("probe_cc", probe_cc)
    t0, t1 = parse_time("since", since), parse_time("until", until)
    with pool_of(request).store() as store:
        if ccs is None:
            events = store.read_detections(table)
        else:
            events = [e for cc in ccs for e in store.read_detections(table, cc=cc)]
    events = [e for e in events if _overlaps(e, t0, t1) and (keep is None or keep(e))]
    events.sort(key=lambda e: (e["start"], e["id"]))
    return json_response({"metadata": {"count": len(events), "limit": size, "offset": offset},
                          key: events[offset:offset + size]})


@router.get("/incidents", response_model=IncidentsAnswer,
            summary="Detected incidents (oldest first)")
def incidents(
    request: Request,
    probe_cc: Annotated[str | None, Query(description="Comma list of country codes.")] = None,
    target: Annotated[str | None, Query(max_length=300,
                                        description="domain:… or service:…")] = None,
    since: Since = None, until: Until = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    return _page(request, "incidents", "incidents", probe_cc, since, until, limit, offset,
                 None if target is None else lambda e: e["target"] == target)


@router.get("/incidents/{incident_id}", response_model=IncidentAnswer,
            summary="One incident: networks with onsets, techniques, IP × server-name matrix")
def incident(
    request: Request,
    incident_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,100}$")],
) -> Response:
    with pool_of(request).store() as store:
        found = store.read_detections("incidents", id=incident_id)
    if not found:
        raise APIError(404, "no such incident", {"id": incident_id})
    return json_response({"incident": found[0]})


@router.get("/outages", response_model=OutagesAnswer,
            summary="Detected outages: probes offline, shutdown, blocking, slow")
def outages(
    request: Request,
    probe_cc: Annotated[str | None, Query(description="Comma list of country codes.")] = None,
    probe_asn: Annotated[str | None, Query(description="Comma list: AS123 or 123.")] = None,
    kind: OutageKind | None = None,
    since: Since = None, until: Until = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    asns = asn_list("probe_asn", probe_asn)

    def keep(e: dict[str, Any]) -> bool:
        return ((kind is None or e["kind"] == kind)
                and (asns is None or e.get("asn") in asns))

    return _page(request, "outages", "outages", probe_cc, since, until, limit, offset, keep)
