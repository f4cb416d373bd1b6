"""The incident pages: ``/incidents`` (every stored incident, newest first, filtered by
country, target and whether it goes on) and ``/incidents/{id}``: its title, scope, start and
end, confidence; a timeline chart (per network: last clean → first blocked → blocking period);
the per-network onset table (first blocked and last clean measurement with their stored times
and links, techniques, endpoints); the policy matrix (network × endpoint); the IP ×
server-name TLS matrix of its ``sni_matrix``; the networks not affected; the evidence
measurements; the cost estimate (the API's ``/api/v1/cost?incident=…``, when the cost model
prices the incident) and a link to its report."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Final
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Path, Request

from censorscope.api import cost as api_cost
from censorscope.api import detections as api_detections
from censorscope.api.deps import pool_of
from censorscope.api.errors import APIError
from censorscope.api.params import cc_list

from .events import incident_row, matches_target, parse_target
from .forms import Field, flag, text
from .incidenttimeline import timeline_chart
from .incidentview import gather_incident, parse_z, sni_grids
from .pages import page
from .paths import country_path, report_path, search_path
from .timewindow import midnight_after

__all__ = ["EVENT_ID", "MAX_LIST", "cost_of", "router"]

router = APIRouter()

EVENT_ID: Final = r"^[A-Za-z0-9_.:\-]{1,100}$"
EventId = Annotated[str, Path(pattern=EVENT_ID)]
MAX_LIST: Final = 1000  # events listed on one page
SEARCH_SPAN: Final = timedelta(days=30)  # the longest window the incident's search link asks


def cost_of(request: Request, event_id: str) -> dict[str, Any]:
    """The API's cost estimate of a stored incident or outage, or the reason there is none
    (the cost model prices only shutdowns and service restrictions)."""
    url = f"/api/v1/cost?{urlencode({'incident': event_id})}"
    try:
        answer = orjson.loads(api_cost.cost(
            request, country=None, year=None, kind=None, days=None, services=None,
            residual=None, affected_share=None, incident=event_id).body)
    except APIError as exc:
        return {"estimate": None, "note": exc.message, "api_url": url}
    return {"estimate": answer, "note": None, "api_url": url}


@page(router, "/incidents", template="incidents.html", nav="incidents")
def incidents(request: Request, probe_cc: Field = None, target: Field = None,
              ongoing: Field = None) -> dict[str, Any]:
    """The stored incidents, newest first."""
    form: dict[str, Any] = {"probe_cc": text(probe_cc), "target": text(target),
                            "ongoing": flag("ongoing", ongoing)}
    ccs = cc_list("probe_cc", form["probe_cc"])
    named = parse_target(form["target"])
    with pool_of(request).store() as store:
        stored = (store.read_detections("incidents") if ccs is None else
                  [e for cc in ccs for e in store.read_detections("incidents", cc=cc)])
    events = [e for e in matches_target(stored, named)
              if form["ongoing"] is None or (e.get("end") is None) == form["ongoing"]]
    events.sort(key=lambda e: (e["start"], e["id"]), reverse=True)
    api = {k: v for k, v in (("probe_cc", form["probe_cc"]),
                             ("target", named.spec if named else None)) if v}
    return {"title": "Incidents", "form": form, "count": len(events),
            "incidents": [incident_row(e) for e in events[:MAX_LIST]],
            "left_out": max(0, len(events) - MAX_LIST),
            "links": {"api": "/api/v1/incidents" + (f"?{urlencode(api)}" if api else "")}}


@page(router, "/incidents/{incident_id}", template="incident.html", nav="incidents")
def incident(request: Request, incident_id: EventId) -> dict[str, Any]:
    """One incident, with its timeline, onsets, policy and TLS matrices and evidence."""
    inc = orjson.loads(api_detections.incident(request, incident_id=incident_id).body)[
        "incident"]
    with pool_of(request).store() as store:
        data = gather_incident(store, inc)
    start, end = parse_z(inc["start"]), parse_z(inc.get("end"))
    names = {o["asn"]: o["as_name"] for o in data.onsets}
    names.update({u["asn"]: u["as_name"] for u in data.unaffected})
    chart = timeline_chart({**inc, "start": start, "end": end}, data.onsets, data.unaffected,
                           data.last_measurement)
    cost = cost_of(request, inc["id"])
    assert start is not None
    stop = end or (midnight_after(data.last_measurement) if data.last_measurement else None)
    scope_search = {"probe_cc": inc["cc"], "until": stop,
                    "since": start if stop is None else max(start, stop - SEARCH_SPAN)}
    return {
        "title": inc.get("title") or f"Incident {inc['id']}",
        "incident": inc,
        "row": incident_row(inc),
        "last_measurement": data.last_measurement,
        "timeline": chart,
        "onsets": data.onsets,
        "policy": data.matrix,
        "sni": sni_grids(inc, names),
        "not_affected": data.unaffected,
        "evidence": data.evidence,
        "cost": cost,
        "links": {
            "country": country_path(inc["cc"]),
            "report": report_path(inc["cc"], inc["target"]),
            "api": f"/api/v1/incidents/{inc['id']}",
            "search": search_path({**scope_search, "anomaly": "true"}),
            "incidents_like": "/incidents?" + urlencode({"target": inc["target"]}),
        },
    }
