"""The outage pages: ``/outages`` (every stored outage, newest first, filtered by country,
network, kind and whether it goes on) and ``/outages/{id}``: the country or network, kind,
start and end, confidence, the figures that decided it (``facts``), the evidence
measurements, the cost estimate when the cost model prices it (a shutdown), and links to the
country, network and report."""

from __future__ import annotations

from typing import Any, Final, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from censorscope.api.deps import pool_of
from censorscope.api.errors import APIError
from censorscope.api.params import asn_list, cc_list
from censorscope.model.detection import OutageKind
from censorscope.store.search import SearchFilter

from .events import outage_row
from .forms import Field, choice, flag, text
from .incidents import MAX_LIST, EventId, cost_of
from .incidentview import evidence_rows
from .pages import page
from .paths import country_path, network_path, report_path

__all__ = ["KINDS", "router"]

router = APIRouter()

KINDS: Final = tuple(get_args(OutageKind))


def _as_name(store: Any, asn: int | None) -> str | None:
    if asn is None:
        return None
    rows = store.search_measurements(SearchFilter(probe_asn=(asn,)), order="desc", limit=1)
    return rows[0].probe_network_name if rows else None


@page(router, "/outages", template="outages.html", nav="outages")
def outages(request: Request, probe_cc: Field = None, probe_asn: Field = None,
            kind: Field = None, ongoing: Field = None) -> dict[str, Any]:
    """The stored outages, newest first."""
    form: dict[str, Any] = {"probe_cc": text(probe_cc), "probe_asn": text(probe_asn),
                            "kind": choice("kind", kind, ("", *KINDS), "") or None,
                            "ongoing": flag("ongoing", ongoing)}
    ccs = cc_list("probe_cc", form["probe_cc"])
    asns = asn_list("probe_asn", form["probe_asn"])
    with pool_of(request).store() as store:
        events = (store.read_detections("outages") if ccs is None else
                  [e for cc in ccs for e in store.read_detections("outages", cc=cc)])
        events = [e for e in events
                  if (asns is None or e.get("asn") in asns)
                  and (form["kind"] is None or e["kind"] == form["kind"])
                  and (form["ongoing"] is None or (e.get("end") is None) == form["ongoing"])]
        events.sort(key=lambda e: (e["start"], e["id"]), reverse=True)
        shown = events[:MAX_LIST]
        names = {a: _as_name(store, a) for a in {e.get("asn") for e in shown} if a is not None}
    api = {k: v for k, v in (("probe_cc", form["probe_cc"]), ("probe_asn", form["probe_asn"]),
                             ("kind", form["kind"])) if v}
    return {"title": "Outages", "form": form, "kinds": [["", "any"], *[[k, k] for k in KINDS]],
            "count": len(events),
            "outages": [outage_row(e, names.get(e.get("asn"))) for e in shown],
            "left_out": max(0, len(events) - MAX_LIST),
            "links": {"api": "/api/v1/outages" + (f"?{urlencode(api)}" if api else "")}}


@page(router, "/outages/{outage_id}", template="outage.html", nav="outages")
def outage(request: Request, outage_id: EventId) -> dict[str, Any]:
    """One outage with its facts and evidence."""
    with pool_of(request).store() as store:
        found = store.read_detections("outages", id=outage_id)
        if not found:
            raise APIError(404, "no such outage", {"id": outage_id})
        o = found[0]
        name = _as_name(store, o.get("asn"))
        evidence = evidence_rows(store, [str(u) for u in o.get("evidence", ())])
    where = f"AS{o['asn']}" + (f" {name}" if name else "") if o.get("asn") is not None \
        else "the whole country"
    return {
        "title": f"Outage ({o['kind']}) of {where} in {o['cc']}",
        "outage": o, "row": outage_row(o, name),
        "facts": [{"name": k, "value": v} for k, v in sorted((o.get("facts") or {}).items())],
        "evidence": evidence,
        "cost": cost_of(request, o["id"]),
        "links": {"country": country_path(o["cc"]),
                  "network": network_path(o["asn"]) if o.get("asn") is not None else None,
                  "report": report_path(o["cc"]),
                  "api": "/api/v1/outages?" + urlencode({"probe_cc": o["cc"]})},
    }
