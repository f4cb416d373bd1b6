"""The country pages: ``/countries`` (every country of the store with its measurement counts,
the shares of anomalies, confirmed blocking and failures, and its incidents and outages) and
``/countries/{cc}`` (its networks with AS names, counts and last measurement; its incidents
and outages; a MAT chart of its last 30 days of data; the domains and services blocked there in
that window; links to the search)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Request

from censorscope.api.deps import pool_of
from censorscope.api.errors import APIError
from censorscope.api.servicecounts import count_outcomes, known_services
from censorscope.cost.economy import economy_table
from censorscope.cost.errors import CostInputError
from censorscope.store.base import COUNT_KEYS
from censorscope.store.search import SearchFilter

from .events import incident_row, outage_row
from .pages import page
from .paths import (
    country_path,
    domain_path,
    measurement_ref,
    network_path,
    search_path,
    service_path,
)
from .recentchart import recent_chart
from .tallies import BLOCKING_OUTCOMES, domain_rows, tally_by
from .timewindow import RECENT_DAYS, recent_window

__all__ = ["MAX_NETWORK_LOOKUPS", "TOP_DOMAINS", "country_name", "counts_of", "router"]

router = APIRouter()

CC = Annotated[str, Path(pattern=r"^[A-Za-z]{2}$")]
TOP_DOMAINS: Final = 15  # blocked domains listed on a country page
MAX_NETWORK_LOOKUPS: Final = 100  # networks whose AS name and last measurement are looked up


def country_name(cc: str) -> str | None:
    """The World Bank's name of the country (the cost package's table), None if it has none."""
    try:
        table = economy_table()
        return table.lookup(cc, table.latest_year(cc)).name
    except (CostInputError, KeyError):
        return None


def counts_of(cells: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The MAT counts of ``cells`` summed, with the shares of anomaly, confirmed and failure
    in all measurements (None without measurements)."""
    out: dict[str, Any] = dict.fromkeys(COUNT_KEYS, 0)
    for cell in cells:
        for k in COUNT_KEYS:
            out[k] += int(cell[k])
    total = out["measurement_count"]
    for name in ("anomaly", "confirmed", "failure"):
        out[f"{name}_share"] = out[f"{name}_count"] / total if total else None
    return out


def _days(cells: Sequence[Mapping[str, Any]]) -> tuple[date, date]:
    days = [c["day"] for c in cells if c["day"] is not None]
    return min(days), max(days)


def _at(d: date) -> datetime:
    return datetime.combine(d, time())


def _recent_search(last_day: date, **filters: Any) -> str:
    until = _at(last_day) + timedelta(days=1)
    return search_path({**filters, "since": until - timedelta(days=RECENT_DAYS),
                        "until": until})


@page(router, "/countries", template="countries.html", nav="countries")
def countries(request: Request) -> dict[str, Any]:
    """Every country with measurements in the store."""
    with pool_of(request).store() as store:
        cells = store.query_aggregate(["probe_cc", "day"])
        incidents = store.read_detections("incidents")
        outages = store.read_detections("outages")
    by_cc: dict[str, list[Mapping[str, Any]]] = {}
    for cell in cells:
        by_cc.setdefault(cell["probe_cc"], []).append(cell)
    rows = []
    for cc in sorted(by_cc):
        first, last = _days(by_cc[cc])
        mine = [i for i in incidents if i["cc"] == cc]
        rows.append({
            "probe_cc": cc, "name": country_name(cc), "url": country_path(cc),
            **counts_of(by_cc[cc]), "first_day": first, "last_day": last,
            "incidents": len(mine), "ongoing_incidents": sum(1 for i in mine if not i["end"]),
            "outages": sum(1 for o in outages if o["cc"] == cc),
            "search_url": _recent_search(last, probe_cc=cc),
        })
    return {"title": "Countries", "countries": rows, "total": counts_of(cells),
            "incidents": len(incidents), "outages": len(outages),
            "recent_days": RECENT_DAYS}


def _networks(store: Any, cc: str, cells: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    by_asn: dict[int, list[Mapping[str, Any]]] = {}
    for cell in cells:
        by_asn.setdefault(int(cell["probe_asn"]), []).append(cell)
    out = []
    for asn, mine in by_asn.items():
        first, last = _days(mine)
        out.append({"asn": asn, "url": network_path(asn), **counts_of(mine), "first_day": first,
                    "last_day": last, "as_name": None, "last": None,
                    "search_url": _recent_search(last, probe_cc=cc, probe_asn=f"AS{asn}")})
    out.sort(key=lambda n: (-n["measurement_count"], n["asn"]))
    for n in out[:MAX_NETWORK_LOOKUPS]:  # the newest row: its time, uid and AS name
        rows = store.search_measurements(
            SearchFilter(since=_at(n["last_day"]), probe_cc=(cc,), probe_asn=(n["asn"],)),
            order="desc", limit=1)
        if rows:
            n["as_name"] = rows[0].probe_network_name
            n["last"] = measurement_ref(rows[0].measurement_uid,
                                        rows[0].measurement_start_time)
    return out


def _services(tallies: Mapping[str, Mapping[tuple[str, int], Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, networks in tallies.items():
        if not networks:
            continue
        outcomes: dict[str, int] = {}
        for t in networks.values():
            for k, v in t.outcomes.items():
                outcomes[k] = outcomes.get(k, 0) + v
        latest_blocking = [t.probe_asn for t in networks.values()
                           if t.latest is not None and t.latest.outcome in BLOCKING_OUTCOMES]
        out.append({"name": name, "url": service_path(name),
                    "measured": sum(outcomes.values()),
                    "blocked": sum(outcomes.get(o, 0) for o in BLOCKING_OUTCOMES),
                    "outcomes": dict(sorted(outcomes.items(), key=lambda kv: (-kv[1], kv[0]))),
                    "networks": len(networks),
                    "networks_blocking_now": sorted(latest_blocking)})
    out.sort(key=lambda s: (-s["blocked"], -s["measured"], s["name"]))
    return out


@page(router, "/countries/{cc}", template="country.html", nav="countries")
def country(request: Request, cc: CC) -> dict[str, Any]:
    """One country: networks, incidents, outages, the last 30 days of data, what is blocked."""
    code = cc.upper()
    with pool_of(request).store() as store:
        cells = store.query_aggregate(["probe_asn", "day"], probe_cc=[code])
        if not cells:
            raise APIError(404, "no measurement from this country is stored",
                           {"probe_cc": code})
        first_day, last_day = _days(cells)
        networks = _networks(store, code, cells)
        newest = store.search_measurements(SearchFilter(since=_at(last_day), probe_cc=(code,)),
                                           order="desc", limit=1)
        last = newest[0].measurement_start_time if newest else _at(last_day)
        assert last is not None
        since, until, grain = recent_window(_at(first_day), last)
        incidents = store.read_detections("incidents", cc=code)
        outages = store.read_detections("outages", cc=code)
        rows = list(domain_rows(store, code, since, until))
        services = count_outcomes(store, list(known_services().values()), since=since,
                                  until=until, probe_cc=[code])
    names = {n["asn"]: n["as_name"] for n in networks}
    per_domain = tally_by(rows, lambda r: r.domain)
    per_network = tally_by(rows, lambda r: (r.domain, r.probe_asn))
    domains = []
    for domain, t in per_domain.items():
        if not t.blocked:
            continue
        blocking = sorted(a for (d, a), n in per_network.items() if d == domain and n.blocked)
        domains.append({"domain": domain, "url": domain_path(domain), **t.to_json(),
                        "networks_blocking": blocking,
                        "search_url": search_path({"probe_cc": code, "domain": domain,
                                                   "since": since, "until": until})})
    domains.sort(key=lambda d: (-d["blocked"], d["domain"]))
    recent = recent_chart(request, since, until, grain, probe_cc=code)
    name = country_name(code)
    return {
        "title": f"{name} ({code})" if name else f"Country {code}",
        "probe_cc": code, "name": name,
        "counts": counts_of(cells), "first_day": first_day, "last_day": last_day,
        "last_measurement": last,
        "networks": networks, "networks_left_unnamed": max(0, len(networks)
                                                           - MAX_NETWORK_LOOKUPS),
        "incidents": [incident_row(i) for i in incidents],
        "outages": [outage_row(o, names.get(o["asn"]) if o.get("asn") is not None else None)
                    for o in outages],
        "window": {"since": since, "until": until, "grain": grain, "days": RECENT_DAYS},
        "recent": recent,
        "blocked_domains": domains[:TOP_DOMAINS],
        "blocked_domains_left_out": max(0, len(domains) - TOP_DOMAINS),
        "services": _services(services),
        "links": {
            "search": search_path({"probe_cc": code, "since": since, "until": until}),
            "search_anomalies": search_path({"probe_cc": code, "since": since,
                                             "until": until, "anomaly": "true"}),
            "mat": recent["mat_url"],
            "report": f"/reports/{code}" if incidents or outages else None,
        },
    }
