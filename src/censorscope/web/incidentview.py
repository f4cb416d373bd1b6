"""What the incident page shows beyond the stored incident, read from the store:

- the **onset table**: per affected network, in onset order, its first blocked and last clean
  measurements with their stored times (the uids detection named), techniques, endpoints;
- the **policy matrix**: network × endpoint, from each affected network's onset to its offset
  (the incident's end, or the last measurement) and for the networks not affected over the
  incident: how many measurements of the incident's scope tried the endpoint and how many
  failed there in a verdict judged blocked or impaired — ``blocked`` when one did, ``ok`` when
  measured without, ``not measured`` otherwise (the report's network × endpoint grid, counted
  the same way by ``censorscope.report.digest``);
- the **networks not affected** with their measurements of the scope over the incident;
- the **IP × server-name matrix** of the incident's ``sni_matrix`` (detection's handshakes);
- the **evidence** measurements with their rows and latest verdicts.

The scope (:func:`censorscope.report.target.scope_of`) and the digests are the report's, so
the page and ``censorscope report`` count alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from censorscope.model.services import KNOWN_SERVICES
from censorscope.report.digest import MeasurementDigest, read_digests
from censorscope.report.proof import Period, latest_verdict
from censorscope.report.target import TargetScope, scope_of
from censorscope.store.base import Store
from censorscope.store.points import FoldSpec, PointRow
from censorscope.store.search import SearchFilter

from .paths import measurement_ref, network_path
from .timewindow import last_measurement_time

__all__ = ["IncidentData", "evidence_rows", "gather_incident", "parse_z", "policy_matrix",
           "sni_grids"]


def parse_z(value: str | None) -> datetime | None:
    """A stored ``…Z`` time as a naive UTC datetime."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)


@dataclass(frozen=True)
class IncidentData:
    """The store's rows behind one incident page."""

    onsets: list[dict[str, Any]]
    unaffected: list[dict[str, Any]]
    matrix: dict[str, Any]
    evidence: list[dict[str, Any]]
    last_measurement: datetime | None  # of the country: "now" for what is going on


def _fold(scope: TargetScope) -> FoldSpec:
    tests = {"service"} | {n for n in KNOWN_SERVICES if scope.covers(n, None, None)}
    return FoldSpec(keep_domains=scope.domains, keep_tests=frozenset(tests))


def _scope_rows(store: Store, cc: str, scope: TargetScope, asns: set[int], since: datetime,
                until: datetime | None) -> list[PointRow]:
    """The scope's measurements of ``asns`` in the window, each with its latest verdict."""
    rows: list[PointRow] = []
    for batch in store.iter_point_rows(since=since, until=until, cc=cc, fold=_fold(scope)):
        rows.extend(r for r in batch
                    if r.probe_asn in asns and scope.covers(r.test_name, r.input, r.domain))
    return rows


def _onsets(store: Store, inc: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for n in inc.get("networks", ()):
        first_uid, clean_uid = n.get("first_blocked_uid"), n.get("last_clean_uid")
        first = store.get_measurement(first_uid) if first_uid else None
        clean = store.get_measurement(clean_uid) if clean_uid else None
        onset = (first.measurement_start_time if first is not None else None) \
            or parse_z(n.get("onset"))
        out.append({
            "asn": int(n["asn"]), "as_name": n.get("as_name") or None,
            "network_url": network_path(int(n["asn"])),
            "onset": onset, "detected_onset": parse_z(n.get("onset")),
            "offset": parse_z(n.get("offset")),
            "first_blocked": measurement_ref(first_uid, first.measurement_start_time
                                             if first is not None else None),
            "last_clean": measurement_ref(clean_uid, clean.measurement_start_time
                                          if clean is not None else None),
            "techniques": list(n.get("techniques", ())),
            "endpoints": list(n.get("endpoints", ())),
            "endpoint_count": len(n.get("endpoints", ())),
            "confidence": n.get("confidence"),
        })
    out.sort(key=lambda o: (o["onset"], o["asn"]))
    return out


def policy_matrix(onsets: Sequence[Mapping[str, Any]], unaffected: Sequence[Mapping[str, Any]],
                  digests: Sequence[MeasurementDigest], periods: Mapping[int, Period]
                  ) -> dict[str, Any]:
    """Network × endpoint (see the module docstring); endpoints: those detection names for
    the affected networks, then the other names that failed somewhere."""
    measured: Counter[tuple[int, str]] = Counter()
    failed: Counter[tuple[int, str]] = Counter()
    for d in digests:
        period = periods.get(d.asn)
        if period is None or not period.holds(d.time):
            continue
        for name, bad in d.names:
            measured[(d.asn, name)] += 1
            if bad:
                failed[(d.asn, name)] += 1
    named = sorted({e.lower() for o in onsets for e in o["endpoints"]})
    others = sorted({name for (_, name), n in failed.items() if n} - set(named))
    endpoints = named + others
    rows = []
    for n, affected in [*((o, True) for o in onsets), *((u, False) for u in unaffected)]:
        asn = n["asn"]
        period = periods[asn]
        cells = []
        for e in endpoints:
            m, f = measured[(asn, e)], failed[(asn, e)]
            status = "blocked" if f else ("ok" if m else "not measured")
            cells.append({"endpoint": e, "status": status, "measured": m, "failed": f})
        rows.append({"asn": asn, "as_name": n.get("as_name"), "network_url": network_path(asn),
                     "affected": affected, "since": period.onset, "until": period.offset,
                     "cells": cells})
    return {"endpoints": endpoints, "rows": rows}


def _unaffected(asns: Sequence[int], names: Mapping[int, str | None],
                digests: Sequence[MeasurementDigest], period: Period) -> list[dict[str, Any]]:
    out = []
    for asn in asns:
        mine = sorted((d for d in digests if d.asn == asn and period.holds(d.time)),
                      key=lambda d: (d.time, d.uid))
        outcomes = Counter(d.outcome for d in mine)
        out.append({
            "asn": asn, "as_name": names.get(asn), "network_url": network_path(asn),
            "measured": len(mine), "blocked": sum(1 for d in mine if d.blocking),
            "outcomes": dict(sorted(outcomes.items(), key=lambda kv: (-kv[1], kv[0]))),
            "first": measurement_ref(mine[0].uid, mine[0].time) if mine else None,
            "last": measurement_ref(mine[-1].uid, mine[-1].time) if mine else None,
        })
    return out


def sni_grids(inc: Mapping[str, Any], names: Mapping[int, str | None]) -> list[dict[str, Any]]:
    """The incident's ``sni_matrix`` per network: addresses × server names, each cell the
    handshake's result and its measurement (None where none was stored)."""
    by_asn: dict[int, list[Mapping[str, Any]]] = {}
    for cell in inc.get("sni_matrix", ()):
        by_asn.setdefault(int(cell["asn"]), []).append(cell)
    out: list[dict[str, Any]] = []
    for asn, cells in by_asn.items():
        ips = sorted({str(c["ip"]) for c in cells})
        server_names = sorted({str(c["server_name"]) for c in cells})
        at = {(str(c["ip"]), str(c["server_name"])): c for c in cells}
        out.append({
            "asn": asn, "as_name": names.get(asn), "network_url": network_path(asn),
            "server_names": server_names,
            "rows": [{"ip": ip, "cells": [
                None if (ip, s) not in at else {
                    "server_name": s, "result": at[(ip, s)]["result"],
                    "measurement": measurement_ref(at[(ip, s)].get("uid"))}
                for s in server_names]} for ip in ips],
        })
    order = {int(n["asn"]): i for i, n in enumerate(inc.get("networks", ()))}
    out.sort(key=lambda g: (order.get(g["asn"], len(order)), g["asn"]))
    return out


def evidence_rows(store: Store, uids: Sequence[str]) -> list[dict[str, Any]]:
    """The evidence measurements with their stored rows and latest verdicts, by time (uids
    the store does not hold last)."""
    out = []
    for uid in dict.fromkeys(uids):
        row = store.get_measurement(uid)
        verdict = latest_verdict(store, uid)
        out.append({
            **(measurement_ref(uid, row.measurement_start_time if row else None) or {}),
            "stored": row is not None,
            "asn": row.probe_asn if row else None,
            "as_name": row.probe_network_name if row else None,
            "network_url": network_path(row.probe_asn) if row else None,
            "test_name": row.test_name if row else None,
            "input": row.input if row else None,
            "outcome": verdict.outcome if verdict else None,
            "mechanism": verdict.mechanism if verdict else None,
        })
    out.sort(key=lambda r: (r["time"] is None, r["time"] or datetime.min, r["uid"]))
    return out


def gather_incident(store: Store, inc: Mapping[str, Any]) -> IncidentData:
    """Everything the incident page reads from the store (one pass over the incident's
    country in its window, observation rows of the scope's measurements in batches)."""
    onsets = _onsets(store, inc)
    start = parse_z(inc["start"])
    assert start is not None
    end = parse_z(inc.get("end"))
    not_affected = [int(a) for a in inc.get("not_affected", ())]
    scope = scope_of(None, [inc])
    since = min([start, *(o["onset"] for o in onsets)])
    until = end + timedelta(seconds=1) if end is not None else None
    rows = _scope_rows(store, inc["cc"], scope,
                             {o["asn"] for o in onsets} | set(not_affected), since, until)
    names: dict[int, str | None] = {o["asn"]: o["as_name"] for o in onsets}
    for r in rows:
        if r.probe_network_name:
            names.setdefault(r.probe_asn, r.probe_network_name)
    digests = list(read_digests(store, rows))
    periods = {o["asn"]: Period(o["onset"], o["offset"] or end) for o in onsets}
    incident_period = Period(start, end)
    for asn in not_affected:
        periods.setdefault(asn, incident_period)
    unaffected = _unaffected(not_affected, names, digests, incident_period)
    for o in onsets:
        mine = [d for d in digests if d.asn == o["asn"] and periods[o["asn"]].holds(d.time)]
        o["measured"] = len(mine)
        o["blocked"] = sum(1 for d in mine if d.blocking)
    return IncidentData(
        onsets=onsets, unaffected=unaffected,
        matrix=policy_matrix(onsets, unaffected, digests, periods),
        evidence=evidence_rows(store, [str(u) for u in inc.get("evidence", ())]),
        last_measurement=last_measurement_time(store, SearchFilter(probe_cc=(inc["cc"],))))
