"""Analysts' findings: ``POST /api/v1/findings`` (a text and links about an incident or a
measurement; role analyst), ``GET /api/v1/findings`` and ``GET /api/v1/findings/{id}``
(anyone), ``DELETE /api/v1/findings/{id}`` (role admin). Kept in the annotation sidecar
(:mod:`.annotations`), never in the measurement store."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from .annotations import AnnotationStore
from .auth import require
from .deps import UID_PATTERN, check_page_size, pool_of, settings_of
from .errors import ERROR_RESPONSES, APIError, bad_parameter
from .render import json_response
from .tokens import Principal
from .writefields import check_links, check_text

__all__ = ["WRITE_RESPONSES", "FindingIn", "annotations_of", "router"]

router = APIRouter(prefix="/api/v1", tags=["annotations"], responses=ERROR_RESPONSES)

INCIDENT_PATTERN = r"^[A-Za-z0-9_.:\-]{1,100}$"
FINDING_PATTERN = r"^fnd-[0-9a-f]{12}$"

WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ERROR_RESPONSES[400]["model"], "description": text} for status, text in (
        (401, "No bearer token, or one that is not valid (see WWW-Authenticate)."),
        (403, "The token's role does not grant this."),
        (413, "The request body is too long."),
    )
}


class FindingIn(BaseModel):
    """A finding: exactly one of ``incident`` (an incident id) or ``measurement_uid``."""

    model_config = ConfigDict(extra="forbid")

    incident: str | None = Field(None, pattern=INCIDENT_PATTERN)
    measurement_uid: str | None = Field(None, pattern=UID_PATTERN)
    text: str = Field(description="Markdown or plain text, at most 10 kB of UTF-8.")
    links: list[str] = Field(default_factory=list, description="At most 20 http(s) URLs.")


class FindingAnswer(BaseModel):
    finding: dict[str, Any]


class FindingsAnswer(BaseModel):
    metadata: dict[str, int]
    findings: list[dict[str, Any]]


def annotations_of(request: Request) -> AnnotationStore:
    store: AnnotationStore = request.app.state.annotations
    return store


@router.post("/findings", status_code=201, response_model=FindingAnswer,
             responses=WRITE_RESPONSES,
             summary="Write a finding about an incident or a measurement (role analyst)")
def add_finding(request: Request, body: FindingIn,
                who: Annotated[Principal, Depends(require("analyst"))]) -> Response:
    if (body.incident is None) == (body.measurement_uid is None):
        raise bad_parameter("incident" if body.incident is None else "measurement_uid",
                            "give exactly one of incident and measurement_uid")
    text = check_text("text", body.text, required=True)
    links = check_links("links", body.links)
    with pool_of(request).store() as store:
        if body.incident is not None and not store.read_detections("incidents",
                                                                   id=body.incident):
            raise APIError(404, "no such incident", {"incident": body.incident})
        if body.measurement_uid is not None and store.get_measurement(
                body.measurement_uid) is None:
            raise APIError(404, "no such measurement",
                           {"measurement_uid": body.measurement_uid})
    finding = annotations_of(request).add_finding(
        token_id=who.token_id, role=who.role, incident_id=body.incident,
        measurement_uid=body.measurement_uid, text=text, links=links)
    return json_response({"finding": finding}, status=201)


@router.get("/findings", response_model=FindingsAnswer,
            summary="Findings (in the order written), of an incident or a measurement")
def findings(
    request: Request,
    incident: Annotated[str | None, Query(pattern=INCIDENT_PATTERN)] = None,
    measurement_uid: Annotated[str | None, Query(pattern=UID_PATTERN)] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Response:
    size = check_page_size(limit, settings_of(request))
    count, rows = annotations_of(request).findings(
        incident_id=incident, measurement_uid=measurement_uid, limit=size, offset=offset)
    return json_response({"metadata": {"count": count, "limit": size, "offset": offset},
                          "findings": rows})


FindingId = Annotated[str, Path(pattern=FINDING_PATTERN)]


@router.get("/findings/{finding_id}", response_model=FindingAnswer, summary="One finding")
def finding(request: Request, finding_id: FindingId) -> Response:
    found = annotations_of(request).finding(finding_id)
    if found is None:
        raise APIError(404, "no such finding", {"id": finding_id})
    return json_response({"finding": found})


@router.delete("/findings/{finding_id}", response_model=FindingAnswer,
               responses=WRITE_RESPONSES, summary="Delete a finding (role admin)")
def delete_finding(request: Request, finding_id: FindingId,
                   _who: Annotated[Principal, Depends(require("admin"))]) -> Response:
    gone = annotations_of(request).delete_finding(finding_id)
    if gone is None:
        raise APIError(404, "no such finding", {"id": finding_id})
    return json_response({"finding": gone})
