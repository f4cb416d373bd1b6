"""The domain page ``/domains/{domain}``: in a window (by default the last 30 days of the
domain's data), per country and network its measurements by MAT class (the latest verdict's
flags: blocked or impaired is anomaly or confirmed, :mod:`.blocking`) and the blocking types,
most blocked first; for the first 40 networks the first and last blocked and the latest
measurement with their verdicts' outcome and mechanism (each linked to its page); links to the
search; and the incidents about the domain."""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request

from censorscope.api.deps import pool_of, settings_of
from censorscope.api.errors import APIError
from censorscope.api.render import iso_z
from censorscope.report.target import ReportTarget
from censorscope.store.search import SearchFilter

from .blocking import blocked_refs, blocking_by
from .events import incident_row
from .forms import Field, text
from .pages import page
from .paths import country_path, network_path, search_path
from .timewindow import RECENT_DAYS, form_window, last_measurement_time

__all__ = ["DOMAIN_PATTERN", "MAX_NETWORK_LOOKUPS", "router"]

router = APIRouter()

DOMAIN_PATTERN: Final = r"^[A-Za-z0-9._\-]{3,253}$"
DomainPath = Annotated[str, Path(pattern=DOMAIN_PATTERN)]
MAX_NETWORK_LOOKUPS: Final = 40  # networks whose measurements are looked up (most blocked)


@page(router, "/domains/{domain}", template="domain.html", nav="countries")
def domain(request: Request, domain: DomainPath, since: Field = None,
           until: Field = None) -> dict[str, Any]:
    """One domain: where and how it is blocked."""
    name = domain.lower()
    settings = settings_of(request)
    with pool_of(request).store() as store:
        last = last_measurement_time(store, SearchFilter(domain=(name,)))
        if last is None:
            raise APIError(404, "no measurement of this domain is stored", {"domain": name})
        t0, t1 = form_window(text(since), text(until), last,
                             max_days=settings.search_window_days)
        cells = store.query_aggregate(["probe_cc", "probe_asn", "blocking_type"], since=t0,
                                      until=t1, domain=[name])
        per = blocking_by(cells, lambda c: (str(c["probe_cc"]), int(c["probe_asn"])))
        ranked = sorted(per, key=lambda k: (-per[k].blocked, -per[k].measured, k))
        networks = []
        for i, (cc, asn) in enumerate(ranked):
            refs: dict[str, Any] = dict.fromkeys(("first_blocked", "last_blocked", "latest"))
            if i < MAX_NETWORK_LOOKUPS:
                refs = blocked_refs(store, SearchFilter(
                    since=t0, until=t1, probe_cc=(cc,), probe_asn=(asn,), domain=(name,)),
                    blocked=per[(cc, asn)].blocked > 0)
            latest = refs["latest"]
            networks.append({
                "probe_cc": cc, "country_url": country_path(cc), "asn": asn,
                "network_url": network_path(asn),
                "as_name": latest["probe_network_name"] if latest else None,
                **per[(cc, asn)].to_json(), **refs,
                "search_url": search_path({"probe_cc": cc, "probe_asn": f"AS{asn}",
                                           "domain": name, "since": t0, "until": t1}),
            })
        countries = sorted({cc for cc, _ in per})
        incidents = [i for cc in countries for i in store.read_detections("incidents", cc=cc)]
    target = ReportTarget("domain", name)
    about = [incident_row(i) for i in incidents if target.matches(i)]
    blocked = [n for n in networks if n["blocked"]]
    return {
        "title": f"Domain {name}",
        "domain": name,
        "form": {"since": text(since), "until": text(until)},
        "window": {"since": t0, "until": t1, "days": RECENT_DAYS},
        "last_measurement": last,
        "networks_left_unnamed": max(0, len(networks) - MAX_NETWORK_LOOKUPS),
        "measured": sum(n["measured"] for n in networks),
        "blocked": sum(n["blocked"] for n in networks),
        "countries": countries,
        "countries_blocking": sorted({n["probe_cc"] for n in blocked}),
        "networks_blocking": len(blocked),
        "networks": networks,
        "incidents": about,
        "links": {
            "search": search_path({"domain": name, "since": t0, "until": t1}),
            "search_anomalies": search_path({"domain": name, "since": t0, "until": t1,
                                             "anomaly": "true"}),
            "mat": "/chart/mat?" + urlencode({
                "axis_x": "measurement_start_day", "axis_y": "probe_asn", "domain": name,
                "since": iso_z(t0), "until": iso_z(t1)}),
        },
    }
