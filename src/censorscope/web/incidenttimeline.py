"""The geometry of an incident's timeline chart, as data (the template ``_timeline.html`` draws
it as SVG, so every text is escaped by Jinja2): one row per affected network, in onset order,
with a bar from its first blocked measurement to its offset (or the incident's end, or the
country's last measurement while it goes on), the switch from its last clean measurement
(a circle) to its first blocked one (a diamond) as a dashed line; one thin row per network
measured and not affected; the incident's start and end as vertical lines; time ticks.

The chart's ``title`` and ``desc`` state every time it draws (its text alternative); the
onset table on the page gives the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

__all__ = ["HEIGHT_PER_ROW", "WIDTH", "timeline_chart"]

WIDTH: Final = 960
LEFT: Final = 230  # room for the network labels
RIGHT: Final = 24
TOP: Final = 44  # room for the legend
HEIGHT_PER_ROW: Final = 34
AXIS_H: Final = 36
MAX_LABEL: Final = 32
MAX_TICKS: Final = 8
STEPS: Final = tuple(timedelta(seconds=s) for s in (
    900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400,
    14 * 86400, 30 * 86400, 91 * 86400, 365 * 86400))
EPOCH: Final = datetime(1970, 1, 1)


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"


def _hm(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC")


def _ticks(t0: datetime, t1: datetime, x: Any) -> list[dict[str, Any]]:
    span = t1 - t0
    step = next((s for s in STEPS if span / s <= MAX_TICKS), STEPS[-1])
    first = EPOCH + ((t0 - EPOCH) // step + 1) * step
    fmt = "%m-%d %H:%M" if step < timedelta(days=1) else "%Y-%m-%d"
    out = []
    t = first
    while t < t1:
        out.append({"x": x(t), "label": t.strftime(fmt), "time": t})
        t += step
    return out


def timeline_chart(incident: Mapping[str, Any], onsets: Sequence[Mapping[str, Any]],
                   unaffected: Sequence[Mapping[str, Any]], now: datetime | None
                   ) -> dict[str, Any]:
    """The chart of ``incident`` (its stored JSON, with ``start``/``end`` as datetimes):
    ``onsets`` are the onset table's rows (``asn``, ``as_name``, ``onset``, ``offset``,
    ``first_blocked``/``last_clean`` with their ``time``), ``unaffected`` the networks not
    affected (``asn``, ``as_name``); ``now`` ends what is still going on (the country's last
    measurement)."""
    start: datetime = incident["start"]
    end: datetime | None = incident["end"]
    close = end or now or max([start, *(o["onset"] for o in onsets)])
    times = [start, close]
    for o in onsets:
        times.append(o["onset"])
        if o["last_clean"] and o["last_clean"]["time"]:
            times.append(o["last_clean"]["time"])
        if o["offset"]:
            times.append(o["offset"])
    t0, t1 = min(times), max(times)
    pad = max((t1 - t0) * 0.04, timedelta(minutes=30))
    t0, t1 = t0 - pad, t1 + pad
    plot = WIDTH - LEFT - RIGHT

    def x(t: datetime) -> float:
        return round(LEFT + plot * ((t - t0) / (t1 - t0)), 1)

    rows: list[dict[str, Any]] = []
    said: list[str] = []
    for i, o in enumerate(onsets):
        y = TOP + i * HEIGHT_PER_ROW
        label = f"AS{o['asn']}" + (f" {o['as_name']}" if o["as_name"] else "")
        stop = o["offset"] or close
        clean = o["last_clean"]["time"] if o["last_clean"] else None
        ongoing = o["offset"] is None and end is None
        until_text = (f"until {_hm(stop)}" if not ongoing
                      else f"still at the last measurement, {_hm(stop)}")
        text = (f"{label}: " + (f"last clean {_hm(clean)}, " if clean else "")
                + f"first blocked {_hm(o['onset'])}, blocked {until_text}")
        said.append(text)
        rows.append({
            "kind": "affected", "label": _short(label), "y": y, "mid": y + 10,
            "bar": {"x": x(o["onset"]), "width": max(round(x(stop) - x(o["onset"]), 1), 2.0),
                    "title": text},
            "clean": {"x": x(clean), "title": f"{label}: last clean measurement {_hm(clean)}"}
            if clean else None,
            "onset": {"x": x(o["onset"]),
                      "title": f"{label}: first blocked measurement {_hm(o['onset'])}"},
            "ongoing": ongoing,
        })
    for j, u in enumerate(unaffected):
        y = TOP + (len(onsets) + j) * HEIGHT_PER_ROW
        label = f"AS{u['asn']}" + (f" {u['as_name']}" if u.get("as_name") else "")
        text = f"{label}: measured and not affected from {_hm(start)} to {_hm(close)}"
        said.append(f"{label}: not affected")
        rows.append({"kind": "not_affected", "label": _short(label), "y": y, "mid": y + 10,
                     "line": {"x1": x(start), "x2": x(close), "title": text}})
    height = TOP + max(len(rows), 1) * HEIGHT_PER_ROW + AXIS_H
    axis_y = TOP + max(len(rows), 1) * HEIGHT_PER_ROW
    title = (f"Timeline of {incident.get('title') or incident['id']}: per network, from the "
             "last clean to the first blocked measurement and the blocking period")
    span = f"from {_hm(start)} to " + (_hm(end) if end else
                                       f"now (ongoing; last measurement {_hm(close)})")
    desc = f"The incident runs {span}. " + "; ".join(said) + "."
    return {
        "title": title, "desc": desc, "width": WIDTH, "height": height, "left": LEFT,
        "right": WIDTH - RIGHT, "axis_y": axis_y, "top": TOP - 8, "rows": rows,
        "ticks": _ticks(t0, t1, x),
        "start": {"x": x(start), "label": f"start {_hm(start)}"},
        "end": {"x": x(close), "label": (f"end {_hm(end)}" if end
                                          else f"last measurement {_hm(close)}"),
                "ongoing": end is None},
    }
