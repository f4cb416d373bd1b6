"""censorscope's own per-measurement endpoints: ``/api/v1/verdicts`` (the analysis' decision
with its evidence as data) and ``/api/v1/observations`` (the DNS/TCP/TLS/HTTP facts, per
answer and endpoint, of the probe and of the control)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from .deps import Uid, pool_of
from .errors import ERROR_RESPONSES, APIError
from .render import json_response, observation_json, verdict_json
from .schemas import ObservationsAnswer, VerdictAnswer

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["analysis"], responses=ERROR_RESPONSES)


@router.get("/verdicts", response_model=VerdictAnswer,
            summary="A measurement's verdict (the latest rules version) with its evidence")
def verdicts(
    request: Request,
    measurement_uid: Uid,
    rules_version: Annotated[str | None, Query(max_length=100,
                                               description="Default: the latest.")] = None,
) -> Response:
    with pool_of(request).store() as store:
        rows = store.get_verdicts(measurement_uid)
        known = bool(rows) or store.get_measurement(measurement_uid) is not None
    if not known:
        raise APIError(404, "no such measurement", {"measurement_uid": measurement_uid})
    versions = [r.rules_version for r in rows]  # ascending
    chosen = [r for r in rows if rules_version is None or r.rules_version == rules_version]
    if not chosen:
        raise APIError(404, "no verdict of that rules version" if rules_version
                       else "the measurement has no verdict (it was stored unanalysed)",
                       {"measurement_uid": measurement_uid, "rules_version": rules_version,
                        "rules_versions": versions})
    return json_response({"measurement_uid": measurement_uid, "rules_versions": versions,
                          "verdict": verdict_json(chosen[-1])})


@router.get("/observations", response_model=ObservationsAnswer,
            summary="A measurement's observation rows (probe and control)")
def observations(
    request: Request,
    measurement_uid: Uid,
    origin: Literal["probe", "control"] | None = None,
) -> Response:
    with pool_of(request).store() as store:
        rows = store.get_observations(measurement_uid)
        if not rows and store.get_measurement(measurement_uid) is None:
            raise APIError(404, "no such measurement", {"measurement_uid": measurement_uid})
    return json_response({
        "measurement_uid": measurement_uid,
        "results": [observation_json(r) for r in rows if origin is None or r.origin == origin],
    })
