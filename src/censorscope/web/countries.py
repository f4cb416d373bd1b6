"""The country pages: ``/countries`` (every country of the store with its measurement counts,
the shares of anomalies, confirmed blocking and failures, and its incidents and outages) and
``/countries/{cc}`` (its networks with AS names, counts and last measurement; its incidents
and outages; a MAT chart of its last 30 days of data; the domains and services blocked there in
that window; links to the search)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Request

from censorscope.api.deps import pool_of
from censorscope.api.errors import APIError
from censorscope.api.servicecounts import known_services
from censorscope.cost.economy import economy_table
from censorscope.cost.errors import CostInputError
from censorscope.store.base import COUNT_KEYS, Store
from censorscope.store.search import SearchFilter

from .blocking import Blocking, blocked_refs, blocking_by
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
from .timewindow import RECENT_DAYS, last_measurement_time, recent_window

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


def _days(cells: Sequence[Mapping[str, Any]]) -> tuple[date | None, date | None]:
    """The first and last day of ``cells`` (None, None when no measurement has a time)."""
    days = [c["day"] for c in cells if c["day"] is not None]
    return (min(days), max(days)) if days else (None, None)


def _at(d: date) -> datetime:
    return datetime.combine(d, time())


def _recent_search(last_day: date | None, **filters: Any) -> str:
    """The search of the last 30 days up to ``last_day`` (the search's default without)."""
    if last_day is None:
        return search_path(filters)
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
        if n["last_day"] is None:
            continue
        rows = store.search_measurements(
            SearchFilter(since=_at(n["last_day"]), probe_cc=(cc,), probe_asn=(n["asn"],)),
            order="desc", limit=1)
        if rows:
            n["as_name"] = rows[0].probe_network_name
            n["last"] = measurement_ref(rows[0].measurement_uid,
                                        rows[0].measurement_start_time)
    return out


def _blocked(cell: Mapping[str, Any]) -> bool:
    return int(cell["anomaly_count"]) + int(cell["confirmed_count"]) > 0


def _blocked_domains(store: Store, where: SearchFilter, cells: Sequence[Mapping[str, Any]]
                     ) -> tuple[list[dict[str, Any]], int]:
    """The domains with blocked measurements among ``cells`` (test, domain, AS, blocking
    type), most blocked first: the first :data:`TOP_DOMAINS` with their first and last blocked
    measurement; and how many more there are."""
    web = [c for c in cells if c["domain"] and c["test_name"] != "service"]
    per = blocking_by(web, lambda c: str(c["domain"]))
    blocking: dict[str, set[int]] = {}
    for c in web:
        if _blocked(c):
            blocking.setdefault(str(c["domain"]), set()).add(int(c["probe_asn"]))
    ranked = sorted((d for d, b in per.items() if b.blocked),
                    key=lambda d: (-per[d].blocked, d))
    out = []
    for d in ranked[:TOP_DOMAINS]:
        mine = replace(where, domain=(d,))
        out.append({"domain": d, "url": domain_path(d), **per[d].to_json(),
                    "networks_blocking": sorted(blocking[d]), **blocked_refs(store, mine),
                    "search_url": search_path({"probe_cc": where.probe_cc[0]
                                               if where.probe_cc else None, "domain": d,
                                               "since": where.since, "until": where.until})})
    return out, max(0, len(ranked) - TOP_DOMAINS)


def _services(cells: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per known service, the MAT counts of the measurements its scope covers (its tests,
    the domains of its endpoint set) and the networks where some were blocked."""
    out: list[dict[str, Any]] = []
    for name, service in known_services().items():
        mine = [c for c in cells if service.scope.covers(
            c["test_name"], c["domain"] if c["test_name"] == "service" else None, c["domain"])]
        if not mine:
            continue
        total = Blocking()
        for c in mine:
            total.add(c)
        out.append({"name": name, "url": service_path(name), **total.to_json(),
                    "networks": len({c["probe_asn"] for c in mine}),
                    "networks_blocking": sorted({int(c["probe_asn"]) for c in mine
                                                 if _blocked(c)})})
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
        incidents = store.read_detections("incidents", cc=code)
        outages = store.read_detections("outages", cc=code)
        last = last_measurement_time(store, SearchFilter(
            since=_at(last_day) if last_day else None, probe_cc=(code,)))
        window: tuple[datetime, datetime, str] | None = None
        domains: list[dict[str, Any]] = []
        more_domains = 0
        services: list[dict[str, Any]] = []
        if first_day is not None and last is not None:  # measurements with a time
            window = since, until, _ = recent_window(_at(first_day), last)
            recent_cells = store.query_aggregate(
                ["test_name", "domain", "probe_asn", "blocking_type"], since=since,
                until=until, probe_cc=[code])
            domains, more_domains = _blocked_domains(
                store, SearchFilter(since=since, until=until, probe_cc=(code,)), recent_cells)
            services = _services(recent_cells)
    since_t, until_t = (window[0], window[1]) if window else (None, None)
    names = {n["asn"]: n["as_name"] for n in networks}
    recent = recent_chart(request, *window, probe_cc=code) if window else None
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
        "window": {"since": window[0], "until": window[1], "grain": window[2],
                   "days": RECENT_DAYS} if window else None,
        "recent": recent,
        "blocked_domains": domains,
        "blocked_domains_left_out": more_domains,
        "services": services,
        "links": {
            "search": search_path({"probe_cc": code, "since": since_t, "until": until_t}),
            "search_anomalies": search_path({"probe_cc": code, "since": since_t,
                                             "until": until_t, "anomaly": "true"}),
            "mat": recent["mat_url"] if recent else None,
            "report": f"/reports/{code}" if incidents or outages else None,
        },
    }
