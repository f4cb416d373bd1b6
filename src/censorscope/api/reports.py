"""``/api/v1/reports``: the facts of the report on a country (and target) over a window, as
JSON — what ``censorscope report`` gathers (``censorscope.report.gather.gather_facts``) and
writes as ``report.json``, without the charts drawn (their data is in ``charts``).

Read-only: nothing is written, no chart is drawn. The window is optional as in the command
(open ends: from the country's first to its last scored measurement). When the store cannot
give a report, the answer is a 404 whose ``detail.reason`` says why, as the command's exit
statuses do: ``no_verdicts``, ``unknown_country``, ``empty_window``, ``nothing_to_report``.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from censorscope.report.gather import gather_facts
from censorscope.report.problems import (
    EmptyWindow,
    NothingToReport,
    NoVerdicts,
    ReportProblem,
    UnknownCountry,
)
from censorscope.report.target import ReportTarget

from .deps import pool_of
from .errors import ERROR_RESPONSES, APIError, bad_parameter
from .params import cc_list, parse_time
from .render import json_response
from .schemas import ReportAnswer

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["reports"], responses=ERROR_RESPONSES)

_REASONS: Final = {NoVerdicts: "no_verdicts", UnknownCountry: "unknown_country",
                   EmptyWindow: "empty_window", NothingToReport: "nothing_to_report"}


@router.get("/reports", response_model=ReportAnswer,
            summary="The facts of a country's report (censorscope report's report.json)")
def report(
    request: Request,
    probe_cc: Annotated[str, Query(description="The country (two-letter code).")],
    target: Annotated[str | None, Query(
        max_length=300, description="A service (tiktok), a domain (www.example.org), or "
                                    "service:… / domain:… as detection spells them; default: "
                                    "every incident of the country.")] = None,
    since: Annotated[str | None, Query(description="Window start (inclusive); default: the "
                                                   "first measurement.")] = None,
    until: Annotated[str | None, Query(description="Window end (exclusive); default: the "
                                                   "last measurement.")] = None,
) -> Response:
    ccs = cc_list("probe_cc", probe_cc)
    if ccs is None or len(ccs) != 1:
        raise bad_parameter("probe_cc", "a report is about one country", probe_cc)
    try:
        named = ReportTarget.parse(target) if target is not None else None
    except ValueError as exc:
        raise bad_parameter("target", str(exc), target) from None
    t0, t1 = parse_time("since", since), parse_time("until", until)
    if t0 is not None and t1 is not None and t0 >= t1:
        raise bad_parameter("since", "since must be before until",
                            f"{t0.isoformat()} >= {t1.isoformat()}")
    with pool_of(request).store() as store:
        try:
            facts = gather_facts(store, ccs[0], named, t0, t1)
        except ReportProblem as exc:
            reason = _REASONS.get(type(exc), "no_report")
            raise APIError(404, str(exc), {"reason": reason, "probe_cc": ccs[0],
                                           "target": named.spec if named else None}) from None
    return json_response(facts.to_json())
