"""The network page ``/networks/{asn}`` (``AS29049`` or ``29049``): the AS name and
country, its MAT counts over its last 30 days of data (chart and table), the incidents that
name it (with its onset, techniques and endpoints) or list it as not affected, its outages,
and the domains blocked on it in that window."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Request

from censorscope.api.deps import pool_of
from censorscope.api.errors import APIError
from censorscope.store.base import Store
from censorscope.store.search import SearchFilter

from .blocking import blocked_refs, blocking_by
from .countries import counts_of
from .events import incident_row, outage_row
from .pages import page
from .paths import country_path, domain_path, measurement_ref, search_path
from .recentchart import recent_chart
from .timewindow import RECENT_DAYS, recent_window

__all__ = ["TOP_DOMAINS", "router"]

router = APIRouter()

TOP_DOMAINS: Final = 25  # blocked domains listed on a network page

ASN: Final = re.compile(r"^(?:AS)?([0-9]{1,10})$", re.IGNORECASE)
AsnPath = Annotated[str, Path(pattern=r"^(?:[Aa][Ss])?[0-9]{1,10}$")]


def _at(d: date) -> datetime:
    return datetime.combine(d, time())


def _onset_of(store: Store, inc: Mapping[str, Any], asn: int) -> dict[str, Any] | None:
    """The network's part of the incident, its first blocked and last clean measurements
    with their stored times."""
    def ref(uid: str | None) -> dict[str, Any] | None:
        row = store.get_measurement(uid) if uid else None
        return measurement_ref(uid, row.measurement_start_time if row else None)

    for n in inc.get("networks", ()):
        if int(n["asn"]) == asn:
            return {
                "onset": n.get("onset"), "offset": n.get("offset"),
                "techniques": list(n.get("techniques", ())),
                "endpoints": list(n.get("endpoints", ())),
                "first_blocked": ref(n.get("first_blocked_uid")),
                "last_clean": ref(n.get("last_clean_uid")),
            }
    return None


def _blocked_domains(store: Store, asn: int, window: tuple[datetime, datetime, str]
                     ) -> tuple[list[dict[str, Any]], int]:
    """The domains with blocked measurements on the network in the window (MAT counts,
    :mod:`.blocking`), most blocked first: the first :data:`TOP_DOMAINS` with their first and
    last blocked and latest measurement; and how many more there are."""
    since, until, _ = window
    cells = store.query_aggregate(["domain", "blocking_type"], since=since, until=until,
                                  probe_asn=[asn])
    per = blocking_by((c for c in cells if c["domain"]), lambda c: str(c["domain"]))
    ranked = sorted((d for d, b in per.items() if b.blocked), key=lambda d: (-per[d].blocked, d))
    out = []
    for d in ranked[:TOP_DOMAINS]:
        where = SearchFilter(since=since, until=until, probe_asn=(asn,), domain=(d,))
        out.append({"domain": d, "url": domain_path(d), **per[d].to_json(),
                    **blocked_refs(store, where),
                    "search_url": search_path({"probe_asn": f"AS{asn}", "domain": d,
                                               "since": since, "until": until})})
    return out, max(0, len(ranked) - TOP_DOMAINS)


@page(router, "/networks/{asn}", template="network.html", nav="countries")
def network(request: Request, asn: AsnPath) -> dict[str, Any]:
    """One network (AS): what is measured and detected there."""
    found = ASN.match(asn)
    number = int(found.group(1)) if found else -1
    if not 0 <= number <= 2**32 - 1:
        raise APIError(404, "no such network", {"asn": asn})
    with pool_of(request).store() as store:
        cells = store.query_aggregate(["probe_cc", "day"], probe_asn=[number])
        if not cells:
            raise APIError(404, "no measurement from this network is stored",
                           {"asn": number})
        days = [c["day"] for c in cells if c["day"] is not None]
        first_day, last_day = (min(days), max(days)) if days else (None, None)
        countries = sorted({c["probe_cc"] for c in cells})
        newest = store.search_measurements(SearchFilter(
            since=_at(last_day) if last_day else None, probe_asn=(number,)), order="desc",
            limit=1)
        last = newest[0].measurement_start_time if newest else None
        as_name = newest[0].probe_network_name if newest else None
        window = recent_window(_at(first_day), last) if first_day and last else None
        incidents = [i for cc in countries for i in store.read_detections("incidents", cc=cc)]
        outages = [o for cc in countries for o in store.read_detections("outages", cc=cc)]
        domains, more_domains = _blocked_domains(store, number, window) if window else ([], 0)
        parts = [_onset_of(store, inc, number) for inc in incidents]
    named, unaffected = [], []
    for inc, mine in zip(incidents, parts, strict=True):
        if mine is not None:
            named.append({**incident_row(inc), "network": mine})
        elif number in inc.get("not_affected", ()):
            unaffected.append(incident_row(inc))
    named.sort(key=lambda r: (r["network"]["onset"] or r["start"], r["id"]))
    since, until = (window[0], window[1]) if window else (None, None)
    recent = recent_chart(request, *window, probe_asn=number) if window else None
    return {
        "title": f"AS{number}" + (f" {as_name}" if as_name else ""),
        "asn": number, "as_name": as_name,
        "countries": [{"probe_cc": cc, "url": country_path(cc),
                       **counts_of(c for c in cells if c["probe_cc"] == cc)}
                      for cc in countries],
        "counts": counts_of(cells), "first_day": first_day, "last_day": last_day,
        "last": measurement_ref(newest[0].measurement_uid, last) if newest else None,
        "window": {"since": window[0], "until": window[1], "grain": window[2],
                   "days": RECENT_DAYS} if window else None,
        "recent": recent,
        "incidents": named,
        "incidents_not_affected": unaffected,
        "outages": [outage_row(o, as_name) for o in outages if o.get("asn") == number],
        "country_outages": [outage_row(o) for o in outages if o.get("asn") is None],
        "blocked_domains": domains,
        "blocked_domains_left_out": more_domains,
        "links": {
            "search": search_path({"probe_asn": f"AS{number}", "since": since,
                                   "until": until}),
            "mat": recent["mat_url"] if recent else None,
        },
    }
