"""The report pages: ``/reports`` (the reports the store can give: each country with
incidents or outages, a link per country and per incident target) and ``/reports/{cc}``
(``?target=…&since=…&until=…``): the facts ``censorscope report`` gathers
(``censorscope.report.gather.gather_facts``, exactly the API's ``/api/v1/reports`` answer,
under ``facts`` in the twin) rendered as a page — the summary and limitations in the report's
own words (``censorscope.report.summary``, measurement citations linked to their pages), per
incident the onset table, the proof per network (verdict, evidence statements, the SNI proof
and the event-timeline excerpt), the networks not affected and the cost; outages; the network ×
endpoint and TLS tables behind the report's charts; coverage; rules versions; the cited
measurements. ``/reports/{cc}/charts`` draws the report's five charts (matplotlib SVGs, as
images) on a page of their own, as drawing them takes about half a second."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request

from censorscope.api.deps import pool_of
from censorscope.api.errors import APIError, bad_parameter
from censorscope.api.params import parse_time
from censorscope.api.render import iso_z
from censorscope.report.charts import draw_charts
from censorscope.report.document import Cite, Link, Mono, Text
from censorscope.report.facts import ReportFacts
from censorscope.report.gather import gather_facts
from censorscope.report.problems import (
    EmptyWindow,
    NothingToReport,
    NoVerdicts,
    ReportProblem,
    UnknownCountry,
)
from censorscope.report.summary import (
    cost_line,
    limitations,
    scope_name,
    sni_sentence,
    summary_bullets,
)
from censorscope.report.target import ReportTarget

from .countries import country_name
from .events import incident_row, outage_row
from .forms import Field, text
from .pages import page
from .paths import country_path, measurement_path, report_path

__all__ = ["REASONS", "router", "segments"]

router = APIRouter()

CC = Annotated[str, Path(pattern=r"^[A-Za-z]{2}$")]
# why there is no report, as the API and the command's exit statuses say it
REASONS: Final = {NoVerdicts: "no_verdicts", UnknownCountry: "unknown_country",
                  EmptyWindow: "empty_window", NothingToReport: "nothing_to_report"}


def segments(value: Text) -> list[dict[str, Any]]:
    """A report text as JSON segments: ``{"text"}``, ``{"text", "mono": true}``, a cited
    measurement ``{"text", "uid", "url"}`` (its page) or a link ``{"text", "url"}`` (only to
    an explorer path or an http(s) URL; anything else stays text)."""
    out: list[dict[str, Any]] = []
    for s in value:
        if isinstance(s, Cite):
            out.append({"text": s.label or s.uid, "uid": s.uid, "url": measurement_path(s.uid)})
        elif isinstance(s, Mono):
            out.append({"text": s.value, "mono": True})
        elif isinstance(s, Link):
            safe = s.url.startswith(("/", "https://", "http://"))
            out.append({"text": s.label, "url": s.url} if safe else {"text": s.label})
        else:
            out.append({"text": str(s)})
    return out


def _form(target: str | None, since: str | None, until: str | None
          ) -> tuple[dict[str, Any], ReportTarget | None, datetime | None, datetime | None]:
    form = {"target": text(target), "since": text(since), "until": text(until)}
    try:
        named = ReportTarget.parse(form["target"]) if form["target"] else None
    except ValueError as exc:
        raise bad_parameter("target", str(exc), form["target"]) from None
    t0, t1 = parse_time("since", form["since"]), parse_time("until", form["until"])
    if t0 is not None and t1 is not None and t0 >= t1:
        raise bad_parameter("since", "since must be before until",
                            f"{t0.isoformat()} >= {t1.isoformat()}")
    return form, named, t0, t1


def _facts(request: Request, cc: str, named: ReportTarget | None, t0: datetime | None,
           t1: datetime | None) -> ReportFacts:
    with pool_of(request).store() as store:
        try:
            return gather_facts(store, cc, named, t0, t1)
        except ReportProblem as exc:
            raise APIError(404, str(exc), {"reason": REASONS.get(type(exc), "no_report"),
                                           "probe_cc": cc,
                                           "target": named.spec if named else None}) from None


def _query(cc: str, form: Mapping[str, Any], named: ReportTarget | None) -> dict[str, str]:
    out = {"probe_cc": cc}
    if named is not None:
        out["target"] = named.spec
    out.update({k: form[k] for k in ("since", "until") if form[k]})
    return out


def _asked(request: Request, cc: str, target: str | None, since: str | None, until: str | None
           ) -> tuple[str, dict[str, Any], ReportFacts, dict[str, str]]:
    """A report page's request read: the country code, the form as echoed, the gathered facts
    and the query the API's report takes for the same report."""
    code = cc.upper()
    form, named, t0, t1 = _form(target, since, until)
    return code, form, _facts(request, code, named, t0, t1), _query(code, form, named)


def _with_query(path: str, query: Mapping[str, str]) -> str:
    """``path`` (which names the country) with the rest of the report's query."""
    rest = urlencode({k: v for k, v in query.items() if k != "probe_cc"})
    return path + (f"?{rest}" if rest else "")


def _title(facts: ReportFacts) -> str:
    if len(facts.incidents) == 1 and facts.incidents[0].title:
        return facts.incidents[0].title
    if facts.target:
        return f"{scope_name(facts)} in {facts.country}"
    return f"Blocking and outages in {facts.country}"


@page(router, "/reports", template="reports.html", nav="reports")
def reports(request: Request) -> dict[str, Any]:
    """The countries with something to report."""
    with pool_of(request).store() as store:
        incidents = store.read_detections("incidents")
        outages = store.read_detections("outages")
    countries = sorted({e["cc"] for e in (*incidents, *outages)})
    rows = []
    for cc in countries:
        mine = sorted((i for i in incidents if i["cc"] == cc),
                      key=lambda i: (i["start"], i["id"]), reverse=True)
        targets = sorted({i["target"] for i in mine})
        rows.append({
            "probe_cc": cc, "name": country_name(cc), "country_url": country_path(cc),
            "report_url": report_path(cc),
            "targets": [{"target": t, "report_url": report_path(cc, t)} for t in targets],
            "incidents": [incident_row(i) for i in mine],
            "outages": [outage_row(o) for o in outages if o["cc"] == cc],
        })
    return {"title": "Reports", "countries": rows}


@page(router, "/reports/{cc}", template="report.html", nav="reports")
def report(request: Request, cc: CC, target: Field = None, since: Field = None,
           until: Field = None) -> dict[str, Any]:
    """The report on a country (and target) over a window, as a page."""
    code, form, facts, query = _asked(request, cc, target, since, until)
    return {
        "title": _title(facts),
        "probe_cc": code, "name": country_name(code),
        "form": form,
        "facts": facts.to_json(),
        "summary": [segments(b) for b in summary_bullets(facts)],
        "limitations": [segments(b) for b in limitations(facts)],
        "cost_lines": {i.id: cost_line(i.cost) for i in facts.incidents}
        | {o.id: cost_line(o.cost) for o in facts.outages},
        "sni_sentences": {
            i.id: {str(n.asn): segments(s) for n in i.networks
                   if (s := sni_sentence(n)) is not None} for i in facts.incidents},
        "links": {
            "api": f"/api/v1/reports?{urlencode(query)}",
            "charts": _with_query(f"/reports/{code}/charts", query),
            "country": country_path(code),
        },
    }


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


@page(router, "/reports/{cc}/charts", template="reportcharts.html", nav="reports")
def report_charts(request: Request, cc: CC, target: Field = None, since: Field = None,
                  until: Field = None) -> dict[str, Any]:
    """The report's charts (``censorscope.report.charts.draw_charts``) as SVG images."""
    code, form, facts, query = _asked(request, cc, target, since, until)
    charts: Sequence[Any] = draw_charts(facts.charts)
    return {
        "title": f"Charts: {_title(facts)}",
        "probe_cc": code, "form": form,
        "window": {"first": iso_z(facts.first), "last": iso_z(facts.last)},
        "charts": [{"name": c.name, "title": c.title, "alt": c.alt,
                    "series": list(c.series), "src": _data_uri(c.svg)} for c in charts],
        "links": {"report": _with_query(f"/reports/{code}", query)},
    }
