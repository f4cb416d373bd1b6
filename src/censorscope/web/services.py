"""The service pages: ``/services`` (the endpoint sets censorscope knows, with the outcomes
of their measurements in a window) and ``/services/{name}`` (the endpoint set, its domains,
and per country and network the outcomes of the latest verdicts and the latest measurement)
— the API's ``/api/v1/services`` answers, called in-process with the form's filters.

The window defaults to the last 30 days of the store's data (up to the midnight after its
newest measurement), not of the clock."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Path, Request

from censorscope.api import services as api_services
from censorscope.api.deps import pool_of, settings_of
from censorscope.api.params import asn_list, cc_list, parse_time
from censorscope.api.render import iso_z
from censorscope.store.search import SearchFilter

from .blocking import BLOCKING_OUTCOMES
from .forms import Field, text
from .pages import page
from .paths import country_path, measurement_path, network_path, search_path, service_path
from .timewindow import RECENT_DAYS, form_window, last_measurement_time

__all__ = ["router"]

router = APIRouter()

ServicePath = Annotated[str, Path(pattern=r"^[a-z0-9_-]{1,50}$")]


def _form(request: Request, probe_cc: str | None, probe_asn: str | None, since: str | None,
          until: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the form as sent, the API's parameters: the window made explicit)."""
    form = {"probe_cc": text(probe_cc), "probe_asn": text(probe_asn), "since": text(since),
            "until": text(until)}
    ccs = cc_list("probe_cc", form["probe_cc"])
    asns = asn_list("probe_asn", form["probe_asn"])
    with pool_of(request).store() as store:
        last = last_measurement_time(store, SearchFilter(probe_cc=ccs, probe_asn=asns))
    t0, t1 = form_window(form["since"], form["until"], last,
                         max_days=settings_of(request).search_window_days)
    return form, {"probe_cc": form["probe_cc"], "probe_asn": form["probe_asn"],
                  "since": iso_z(t0), "until": iso_z(t1)}


def _network(n: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    latest = n["latest"]
    return {
        **n, "country_url": country_path(n["probe_cc"]),
        "network_url": network_path(n["probe_asn"]),
        "blocked": sum(n["outcomes"].get(o, 0) for o in BLOCKING_OUTCOMES),
        "latest": {**latest, "url": measurement_path(latest["measurement_uid"])}
        if latest else None,
        "search_url": search_path({"probe_cc": n["probe_cc"],
                                   "probe_asn": f"AS{n['probe_asn']}",
                                   "since": params["since"], "until": params["until"]}),
    }


def _service(s: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    networks = [_network(n, params) for n in s["networks"]]
    outcomes: dict[str, int] = {}
    for n in networks:
        for k, v in n["outcomes"].items():
            outcomes[k] = outcomes.get(k, 0) + v
    return {
        **s, "url": service_path(s["name"]),
        "networks": networks,
        "outcomes": dict(sorted(outcomes.items(), key=lambda kv: (-kv[1], kv[0]))),
        "blocked": sum(outcomes.get(o, 0) for o in BLOCKING_OUTCOMES),
        "networks_latest_blocking": [
            {"probe_cc": n["probe_cc"], "probe_asn": n["probe_asn"], "url": n["network_url"]}
            for n in networks if n["latest"] and n["latest"]["outcome"] in BLOCKING_OUTCOMES],
    }


@page(router, "/services", template="services.html", nav="countries")
def services(request: Request, probe_cc: Field = None, probe_asn: Field = None,
             since: Field = None, until: Field = None) -> dict[str, Any]:
    """Every known service with its measurements in the window."""
    form, params = _form(request, probe_cc, probe_asn, since, until)
    answer = orjson.loads(api_services.services(request, **params).body)
    return {"title": "Services", "form": form, "metadata": answer["metadata"],
            "recent_days": RECENT_DAYS,
            "services": [_service(s, params) for s in answer["services"]],
            "links": {"api": "/api/v1/services?" + _query(params)}}


@page(router, "/services/{name}", template="service.html", nav="countries")
def service(request: Request, name: ServicePath, probe_cc: Field = None,
            probe_asn: Field = None, since: Field = None, until: Field = None
            ) -> dict[str, Any]:
    """One service: its endpoints and, per network, the latest outcomes."""
    form, params = _form(request, probe_cc, probe_asn, since, until)
    answer = orjson.loads(api_services.service(request, name=name, **params).body)
    with pool_of(request).store() as store:  # which of its domains have measurements
        cells = store.query_aggregate(
            ["domain"], since=parse_time("since", params["since"]),
            until=parse_time("until", params["until"]),
            probe_cc=cc_list("probe_cc", params["probe_cc"]),
            probe_asn=asn_list("probe_asn", params["probe_asn"]),
            domain=answer["service"]["domains"])
    return {"title": f"Service {name}", "form": form, "metadata": answer["metadata"],
            "recent_days": RECENT_DAYS,
            "service": _service(answer["service"], params),
            "measured_domains": {c["domain"]: int(c["measurement_count"]) for c in cells
                                 if c["domain"]},
            "links": {"api": f"/api/v1/services/{name}?" + _query(params),
                      "incidents": f"/incidents?target=service%3A{name}"}}


def _query(params: dict[str, Any]) -> str:
    return urlencode({k: v for k, v in params.items() if v})
