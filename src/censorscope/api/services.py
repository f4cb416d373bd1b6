"""``/api/v1/services`` and ``/api/v1/services/{name}``: the service endpoint sets censorscope
knows, and per service and network (country, AS) the outcomes of the latest verdicts of its
measurements in a window (:mod:`.servicecounts`)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from .deps import pool_of, settings_of
from .errors import ERROR_RESPONSES, APIError
from .params import asn_list, cc_list, parse_time, window
from .render import iso_z, json_response
from .schemas import ServiceAnswer, ServicesAnswer
from .servicecounts import ServiceSet, count_outcomes, known_services, service_json

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["services"], responses=ERROR_RESPONSES)

DEFAULT_DAYS = 30  # as the search: since = until − 30 days

ProbeCC = Annotated[str | None, Query(description="Comma list of country codes.")]
ProbeASN = Annotated[str | None, Query(description="Comma list: AS123 or 123.")]
Since = Annotated[str | None, Query(description="Inclusive; default until − 30 days.")]
Until = Annotated[str | None, Query(description="Exclusive; default tomorrow 00:00 UTC.")]


def _answer(request: Request, chosen: list[ServiceSet], probe_cc: str | None,
            probe_asn: str | None, since: str | None, until: str | None,
            key: str) -> Response:
    settings = settings_of(request)
    ccs, asns = cc_list("probe_cc", probe_cc), asn_list("probe_asn", probe_asn)
    t0, t1 = window(parse_time("since", since), parse_time("until", until),
                    default_days=DEFAULT_DAYS, max_days=settings.search_window_days)
    started = time.perf_counter()
    with pool_of(request).store() as store:
        tallies = count_outcomes(store, chosen, since=t0, until=t1, probe_cc=ccs,
                                 probe_asn=asns)
    services = [service_json(s, tallies[s.name]) for s in chosen]
    metadata = {"since": iso_z(t0), "until": iso_z(t1),
                "query_time": round(time.perf_counter() - started, 4)}
    body = {"metadata": metadata, key: services if key == "services" else services[0]}
    return json_response(body)


@router.get("/services", response_model=ServicesAnswer,
            summary="The services censorscope knows, with the latest verdicts per network")
def services(request: Request, probe_cc: ProbeCC = None, probe_asn: ProbeASN = None,
             since: Since = None, until: Until = None) -> Response:
    return _answer(request, list(known_services().values()), probe_cc, probe_asn, since,
                   until, "services")


@router.get("/services/{name}", response_model=ServiceAnswer,
            summary="One service: endpoints, domains, the latest verdicts per network")
def service(request: Request,
            name: Annotated[str, Path(pattern=r"^[a-z0-9_-]{1,50}$")],
            probe_cc: ProbeCC = None, probe_asn: ProbeASN = None,
            since: Since = None, until: Until = None) -> Response:
    known = known_services()
    if name not in known:
        raise APIError(404, "no such service", {"name": name, "known": sorted(known)})
    return _answer(request, [known[name]], probe_cc, probe_asn, since, until, "service")
