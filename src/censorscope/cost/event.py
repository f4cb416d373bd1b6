"""The cost of a detected event, from what the store measured.

:func:`estimate_for_event` prices a stored event (a payload of ``Store.read_detections``):

- an **outage** of kind ``shutdown`` → kind ``national`` when its networks made every
  measurement of the country in its window, else ``regional``; residual connectivity from its
  facts: ``control_reachable_share`` (the share of measurements that knew and still reached
  the control), else ``1 − failing_share``, else none;
- an **incident** whose target is ``service:<name>`` or ``services:<a>+<b>…`` (not
  ``server_side``) → kind ``services`` with those services, no residual;
- anything else → None (other outage kinds, domain incidents, server-side failures).

Duration: from ``start`` to ``end``, or to ``until`` for an ongoing event, or to the country's
last scored measurement since the start. Affected share: the affected networks' (the outage's
AS, the networks a country-wide outage lists, the incident's networks) share of the country's
measurements in that window (``Store.query_aggregate`` grouped by ``probe_asn``; the window
includes the end's second). Year: the start's, or the latest year with World Bank GDP before
it (the inputs say which). Every measured value's input names the event and how it was
measured.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any, Final

from censorscope.store.base import Store
from censorscope.store.detections import naive_utc

from .economy import economy_table
from .errors import CostInputError
from .estimate import Estimate, estimate

__all__ = ["estimate_for_event"]

_SECOND: Final = timedelta(seconds=1)
_DAY: Final = timedelta(days=1)


def _time(text: str) -> datetime:
    return naive_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def _services_of(target: str) -> list[str] | None:
    kind, _, names = target.partition(":")
    if kind == "service" and names:
        return [names]
    if kind == "services" and names:
        return names.split("+")
    return None


def _last_measurement(store: Store, cc: str, start: datetime) -> datetime | None:
    """The time of ``cc``'s last scored measurement since ``start`` (None: none)."""
    days = store.query_aggregate(("day",), since=start, probe_cc=[cc])
    if not days:
        return None
    last_day = days[-1]["day"]
    day_start = max(start, datetime(last_day.year, last_day.month, last_day.day))
    last: datetime | None = None
    for rows in store.iter_point_rows(since=day_start, until=day_start + _DAY, cc=cc):
        last = max([r.measurement_start_time for r in rows] + ([last] if last else []))
    return naive_utc(last) if last else day_start + _DAY


def _residual(facts: dict[str, Any]) -> tuple[float, str]:
    share = facts.get("control_reachable_share")
    if isinstance(share, int | float):
        return 100.0 * share, "control_reachable_share"
    failing = facts.get("failing_share")
    if isinstance(failing, int | float):
        return 100.0 * (1.0 - failing), "1 − failing_share"
    return 0.0, ""


def estimate_for_event(store: Store, event: dict[str, Any], *, until: datetime | None = None
                       ) -> Estimate | None:
    """The cost of a stored shutdown outage or service-restriction incident (None for any
    other event); raises :class:`CostInputError` when it cannot be priced (a country the
    World Bank table lacks, no duration, no measurement in its window)."""
    event_id = str(event.get("id", "?"))
    residual, residual_how = 0.0, ""
    if "target" in event and "networks" in event:  # an incident
        services = _services_of(str(event["target"]))
        if services is None or event.get("scope") == "server_side":
            return None
        asns = sorted({int(n["asn"]) for n in event["networks"]})
        what = f"incident {event_id}"
    elif event.get("kind") == "shutdown" and "facts" in event:  # an outage
        services = None
        facts = dict(event["facts"])
        asns = ([int(event["asn"])] if event.get("asn") is not None
                else sorted(int(a) for a in facts.get("networks", [])))
        residual, residual_how = _residual(facts)
        what = f"shutdown outage {event_id}"
    else:
        return None
    cc = str(event["cc"]).upper()
    table = economy_table()
    table.iso3(cc)  # an unknown country fails first, whatever the store holds
    start = _time(str(event["start"]))
    if event.get("end"):
        end, end_how = _time(str(event["end"])), "its end"
    elif until is not None:
        end, end_how = naive_utc(until), "the given end of the window (the event is ongoing)"
    else:
        last = _last_measurement(store, cc, start)
        if last is None:
            raise CostInputError(f"{what}: no measurement from {cc} since its start {start}",
                                 "value")
        end, end_how = last, f"{cc}'s last measurement (the event is ongoing)"
    days = (end - start).total_seconds() / 86400
    if days <= 0:
        raise CostInputError(f"{what} has no duration ({start} to {end})", "value")

    rows = store.query_aggregate(("probe_asn",), since=start, until=end + _SECOND,
                                 probe_cc=[cc])
    total = sum(int(r["measurement_count"]) for r in rows)
    hit = sum(int(r["measurement_count"]) for r in rows if r["probe_asn"] in asns)
    if total == 0 or hit == 0:
        raise CostInputError(f"{what}: no measurement of its networks from {cc} between "
                             f"{start} and {end}", "value")
    share = hit / total
    window = f"{start.isoformat()}Z – {end.isoformat()}Z"
    nets = ", ".join(f"AS{a}" for a in asns)
    year = start.year
    year_how = f"the start year of {what}"
    if year not in table.years(cc):
        year = table.latest_year(cc, not_after=start.year)
        year_how = (f"{what} started in {start.year}, which has no World Bank GDP: the latest "
                    f"year with it")
    provenance = {
        "year": year_how,
        "days": f"measured: {what} from its start to {end_how} ({window})",
        "affected_share": (f"measured: {hit} of {total} measurements from {cc} in {window} "
                           f"were made on the affected networks ({nets})"),
    }
    if services is not None:
        provenance["services"] = f"measured: the target {event['target']} of {what}"
        provenance["kind"] = f"{what} restricts services"
        result = estimate(cc, year, "services", days, services=services,
                          affected_share=share, provenance=provenance)
    else:
        if residual_how:
            provenance["residual_pct"] = f"measured: {residual_how} of {what}"
        else:
            provenance["residual_pct"] = f"not measured for {what}: none assumed"
        kind = "national" if hit == total else "regional"
        provenance["kind"] = (f"{what} covers every network measured in {cc}" if hit == total
                              else f"{what} covers {nets}, not every network measured in {cc}")
        result = estimate(cc, year, kind, days, residual_pct=residual, affected_share=share,
                          provenance=provenance)
    inputs = {"event": {"value": event_id, "unit": "id", "source": f"{store.url}: {what}"},
              **result.inputs}
    return dataclasses.replace(result, inputs=inputs)
