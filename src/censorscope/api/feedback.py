"""Feedback labels on verdicts: ``POST /api/v1/verdicts/{measurement_uid}/feedback`` (role
analyst) says whether a verdict is right, with a label from a fixed vocabulary and a comment;
``GET`` lists them with counts per label. Kept in the annotation sidecar
(:mod:`.annotations`); the verdict itself is never changed.

Labels: ``correct`` (the verdict is right), ``false_positive`` (it says blocked or impaired and
the target was reachable), ``false_negative`` (it says ok and the target was blocked),
``wrong_mechanism`` (blocked, but not how the verdict says: another layer or technique).
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from .auth import require
from .deps import UID_PATTERN, pool_of
from .errors import ERROR_RESPONSES, APIError
from .findings import WRITE_RESPONSES, annotations_of
from .render import json_response
from .tokens import Principal
from .writefields import check_text

__all__ = ["LABELS", "FeedbackIn", "router"]

router = APIRouter(prefix="/api/v1", tags=["annotations"], responses=ERROR_RESPONSES)

LABELS: Final = ("correct", "false_positive", "false_negative", "wrong_mechanism")
Label = Literal["correct", "false_positive", "false_negative", "wrong_mechanism"]
MeasurementUid = Annotated[str, Path(pattern=UID_PATTERN)]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Label
    comment: str = Field("", description="At most 10 kB of UTF-8.")
    rules_version: str | None = Field(None, max_length=100,
                                      description="The verdict's rules version (default: "
                                                  "the latest).")


class FeedbackAnswer(BaseModel):
    feedback: dict[str, Any]


class FeedbackList(BaseModel):
    measurement_uid: str
    counts: dict[str, int]
    feedback: list[dict[str, Any]]


def _versions(request: Request, uid: str) -> list[str]:
    """The stored rules versions of ``uid``'s verdicts (404 when it has none)."""
    with pool_of(request).store() as store:
        versions = [v.rules_version for v in store.get_verdicts(uid)]
        if not versions:
            known = store.get_measurement(uid) is not None
            raise APIError(404, "the measurement has no verdict" if known
                           else "no such measurement", {"measurement_uid": uid})
    return versions


@router.post("/verdicts/{measurement_uid}/feedback", status_code=201,
             response_model=FeedbackAnswer, responses=WRITE_RESPONSES,
             summary="Label a verdict: correct, false_positive, false_negative, "
                     "wrong_mechanism (role analyst)")
def add_feedback(request: Request, measurement_uid: MeasurementUid, body: FeedbackIn,
                 who: Annotated[Principal, Depends(require("analyst"))]) -> Response:
    comment = check_text("comment", body.comment, required=False)
    versions = _versions(request, measurement_uid)
    version = body.rules_version or versions[-1]
    if version not in versions:
        raise APIError(404, "no verdict of that rules version",
                       {"measurement_uid": measurement_uid, "rules_version": version,
                        "rules_versions": versions})
    row = annotations_of(request).add_feedback(
        token_id=who.token_id, role=who.role, measurement_uid=measurement_uid,
        rules_version=version, label=body.label, comment=comment)
    return json_response({"feedback": row}, status=201)


@router.get("/verdicts/{measurement_uid}/feedback", response_model=FeedbackList,
            summary="The feedback labels on a measurement's verdicts, with counts")
def feedback(request: Request, measurement_uid: MeasurementUid) -> Response:
    rows = annotations_of(request).feedback(measurement_uid)
    if not rows:
        _versions(request, measurement_uid)  # 404 for a measurement without verdicts
    counts = {label: sum(1 for r in rows if r["label"] == label) for label in LABELS}
    return json_response({"measurement_uid": measurement_uid, "counts": counts,
                          "feedback": rows})
