"""``/api/v1/cost``: what a disruption costs, low / central / high with every input and step —
the JSON ``censorscope cost --format json`` prints (``censorscope.cost``), for a scenario
(``country``, ``year``, ``kind``, ``days``, ``services``, ``residual``, ``affected_share``) or
a detected event of the store (``incident=ID``: a shutdown outage or a service-restriction
incident, priced with its measured scope).

The command's exit statuses become answers: an input no estimate can be made from is a 400
naming the parameter (unknown country, a year without World Bank GDP, a bad value, options
that do not fit the kind, an event that cannot be priced); an unknown event id is a 404.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from censorscope.cost import CostInputError, estimate, estimate_for_event
from censorscope.cost.estimate import Estimate

from .deps import pool_of
from .errors import ERROR_RESPONSES, APIError, bad_parameter
from .render import json_response
from .schemas import CostAnswer

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["cost"], responses=ERROR_RESPONSES)

Kind = Literal["national", "services", "regional"]


def _bad_value(days: float | None, residual: float, affected_share: float | None) -> str:
    """The scenario parameter whose value ``estimate`` refuses (its own checks, in order)."""
    if days is None or not (math.isfinite(days) and days > 0):
        return "days"
    if not (math.isfinite(residual) and 0.0 <= residual <= 100.0):
        return "residual"
    return "affected_share"


def _refused(exc: CostInputError, *, incident: str | None, days: float | None,
             residual: float, affected_share: float | None) -> APIError:
    """The 400 of an estimate refused, naming the parameter it is about."""
    if incident is not None:
        name = "incident"
    elif exc.reason in ("country", "year"):
        name = exc.reason
    elif exc.reason == "value":
        name = _bad_value(days, residual, affected_share)
    else:  # options
        name = "affected_share" if "affected share" in str(exc) else "services"
    return bad_parameter(name, str(exc), incident if name == "incident" else None)


def _event(request: Request, event_id: str) -> Estimate:
    with pool_of(request).store() as store:
        found = (store.read_detections("incidents", id=event_id)
                 or store.read_detections("outages", id=event_id))
        if not found:
            raise APIError(404, "no incident or outage has that id", {"incident": event_id})
        result = estimate_for_event(store, found[0])
    if result is None:
        raise bad_parameter("incident", "neither a shutdown nor a service restriction: no "
                            "cost model applies", event_id)
    return result


@router.get("/cost", response_model=CostAnswer,
            summary="What a disruption costs: low / central / high with inputs and steps")
def cost(
    request: Request,
    country: Annotated[str | None, Query(max_length=20,
                                         description="Two-letter country code, e.g. AZ.")
                       ] = None,
    year: Annotated[int | None, Query(description="Year of the World Bank figures.")] = None,
    kind: Annotated[Kind | None, Query(description="national, regional (with "
                                                   "affected_share) or services.")] = None,
    days: Annotated[float | None, Query(description="Duration in days (fractions "
                                                    "allowed).")] = None,
    services: Annotated[str | None, Query(max_length=500, description=(
        "Comma list of services for kind services (default: every known service)."))] = None,
    residual: Annotated[float | None, Query(description="Connectivity left, in % "
                                                        "(default 0).")] = None,
    affected_share: Annotated[float | None, Query(description="Part of the country "
                                                              "affected, in %.")] = None,
    incident: Annotated[str | None, Query(
        pattern=r"^[A-Za-z0-9_.:\-]{1,100}$",
        description="Price a detected incident or outage of the store by its id (no other "
                    "parameter).")] = None,
) -> Response:
    given = {"country": country, "year": year, "kind": kind, "days": days,
             "services": services, "residual": residual, "affected_share": affected_share}
    residual_pct = 0.0 if residual is None else residual
    try:
        if incident is not None:
            extra = [name for name, value in given.items() if value is not None]
            if extra:
                raise bad_parameter(extra[0], "incident takes its country, year, kind, "
                                    "duration and scope from the event: drop "
                                    + ", ".join(extra))
            result = _event(request, incident)
        else:
            missing = [n for n in ("country", "year", "kind", "days") if given[n] is None]
            if missing:
                raise bad_parameter(missing[0], "missing: give country, year, kind and days "
                                    "(or incident)")
            assert country is not None and year is not None and kind is not None
            names = [s for s in (services or "").split(",") if s.strip()]
            if services is not None and not names:
                raise bad_parameter("services", "names no service", services)
            result = estimate(country, year, kind, days if days is not None else 0.0,
                              services=names, residual_pct=residual_pct,
                              affected_share=None if affected_share is None
                              else affected_share / 100.0)
    except CostInputError as exc:
        raise _refused(exc, incident=incident, days=days, residual=residual_pct,
                       affected_share=affected_share) from None
    body: dict[str, Any] = result.to_json()
    return json_response(body)
