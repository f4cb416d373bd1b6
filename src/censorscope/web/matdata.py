"""What the MAT chart shows, as data: the aggregation's cells arranged as panels (one per
``axis_y`` value, or one) of stacked bars (one per ``axis_x`` value), with the time buckets of
the window filled in when ``axis_x`` is time, and the chart's title and description (its alt
text, stating the numbers). The SVG (:mod:`.svgchart`) is drawn from this and nothing else."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

__all__ = ["CLASSES", "MAX_BARS", "MAX_PANELS", "buckets", "chart", "search_bounds"]

TIME_AXIS: Final = "measurement_start_day"
# the MAT's four exclusive classes, bottom of a bar first
CLASSES: Final = ("confirmed", "anomaly", "failure", "ok")
MAX_BARS: Final = 800  # bars per panel (a category axis keeps its largest)
MAX_PANELS: Final = 40  # panels of a grid (the largest rows)
DESC_ITEMS: Final = 40  # bars listed one by one in the description
AXIS_NAMES: Final = {"measurement_start_day": "time", "probe_cc": "country",
                     "probe_asn": "network (ASN)", "test_name": "test", "domain": "domain",
                     "input": "input", "blocking_type": "blocking type"}


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)


def _start(t: datetime, grain: str) -> datetime:
    if grain == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    d = t.date()
    if grain == "week":  # weeks start on Sunday, as OONI's
        d -= timedelta(days=(d.weekday() + 1) % 7)
    elif grain == "month":
        d = d.replace(day=1)
    elif grain == "year":
        d = d.replace(month=1, day=1)
    return datetime.combine(d, datetime.min.time())


def _next(t: datetime, grain: str) -> datetime:
    if grain == "hour":
        return t + timedelta(hours=1)
    if grain == "day":
        return t + timedelta(days=1)
    if grain == "week":
        return t + timedelta(days=7)
    if grain == "month":
        return t.replace(year=t.year + t.month // 12, month=t.month % 12 + 1)
    return t.replace(year=t.year + 1)


def _label(t: datetime, grain: str) -> str:
    return t.strftime("%Y-%m-%dT%H:00:00Z") if grain == "hour" else t.date().isoformat()


def buckets(since: str, until: str, grain: str) -> list[tuple[str, str, str]]:
    """The time buckets of the window as (label, start, end): labels as the API writes
    them, start and end as search bounds (``YYYY-MM-DDTHH:MM:SSZ``)."""
    t, end = _start(_parse(since), grain), _parse(until)
    out = []
    while t < end:
        n = _next(t, grain)
        out.append((_label(t, grain), t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    n.strftime("%Y-%m-%dT%H:%M:%SZ")))
        t = n
    return out


def _key(value: Any) -> str:
    return "(none)" if value is None else (f"AS{value}" if isinstance(value, int) else
                                           str(value))


def _counts(cell: Mapping[str, Any] | None) -> dict[str, int]:
    out = {c: int(cell[f"{c}_count"]) if cell else 0 for c in CLASSES}
    out["total"] = int(cell["measurement_count"]) if cell else 0
    return out


def _describe(title: str, panels: Sequence[Mapping[str, Any]], x_name: str) -> str:
    totals = {c: sum(b[c] for p in panels for b in p["bars"]) for c in (*CLASSES, "total")}
    parts = [f"{title}. In all {totals['total']} measurements: " + ", ".join(
        f"{totals[c]} {c}" for c in ("ok", "anomaly", "confirmed", "failure")) + "."]
    for p in panels:
        bars = [b for b in p["bars"] if b["total"]]
        head = f"{p['label']}: " if p["label"] is not None else ""
        if len(bars) <= DESC_ITEMS:
            listed = "; ".join(
                f"{b['x']}: {b['total']} ({b['ok']} ok, {b['anomaly']} anomaly, "
                f"{b['confirmed']} confirmed, {b['failure']} failure)" for b in bars)
            parts.append(f"{head}{listed or 'no measurements'}.")
        else:
            top = max(bars, key=lambda b: b["total"])
            worst = max(bars, key=lambda b: b["anomaly"] + b["confirmed"])
            parts.append(f"{head}{len(bars)} {x_name} values with measurements; most at "
                         f"{top['x']} ({top['total']}); most anomalies and confirmed at "
                         f"{worst['x']} ({worst['anomaly']} anomaly, {worst['confirmed']} "
                         "confirmed). Every number is in the table below.")
    return " ".join(parts)


def chart(answer: Mapping[str, Any], axis_x: str, axis_y: str | None) -> dict[str, Any]:
    """The chart of an ``/api/v1/aggregation`` answer with ``axis_x`` (and ``axis_y``)."""
    grain = answer["time_grain"]
    cells = answer["result"] if isinstance(answer["result"], list) else [answer["result"]]
    time_x = axis_x == TIME_AXIS
    rows: dict[str, dict[str, Mapping[str, Any]]] = {}
    for cell in cells:
        y = _key(cell.get(axis_y)) if axis_y else ""
        rows.setdefault(y, {})[_key(cell.get(axis_x))] = cell
    if time_x:
        xs = [b[0] for b in buckets(answer["since"], answer["until"], grain)]
    else:
        totals: dict[str, int] = {}
        for row in rows.values():
            for x, cell in row.items():
                totals[x] = totals.get(x, 0) + int(cell["measurement_count"])
        xs = sorted(totals, key=lambda x: (-totals[x], x))[:MAX_BARS]
    ranked = sorted(rows, key=lambda y: (-sum(int(c["measurement_count"])
                                              for c in rows[y].values()), y))
    shown = ranked[:MAX_PANELS]
    if axis_y:
        shown.sort()
    panels = [{"label": y if axis_y else None,
               "bars": [{"x": x, **_counts(rows[y].get(x))} for x in xs]} for y in shown]
    x_name, y_name = AXIS_NAMES.get(axis_x, axis_x), AXIS_NAMES.get(axis_y or "", axis_y)
    window = f"{answer['since'][:10]} to {answer['until'][:10]}"
    unit = f" per {grain}" if time_x else f" by {x_name}"
    title = f"Measurements{unit}{f', one row per {y_name}' if axis_y else ''}, {window} (UTC)"
    return {"title": title, "desc": _describe(title, panels, x_name), "axis_x": axis_x,
            "axis_y": axis_y, "time_grain": grain, "time_x": time_x, "x_values": xs,
            "panels": panels, "panels_left_out": len(ranked) - len(shown),
            "bars_left_out": 0 if time_x else max(0, len({x for r in rows.values()
                                                          for x in r}) - len(xs))}


def search_bounds(label: str, grain: str) -> tuple[str, str]:
    """The (since, until) of the time bucket ``label``."""
    t = _parse(label if "T" in label else f"{label}T00:00:00Z")
    return t.strftime("%Y-%m-%dT%H:%M:%SZ"), _next(t, grain).strftime("%Y-%m-%dT%H:%M:%SZ")

