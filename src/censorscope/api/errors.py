"""One JSON error envelope for every error the API returns.

``{"error": {"code": <HTTP status>, "message": <one sentence>, "detail": <data or null>}}``
— the envelope ``censorscope.serve`` gives the other servers, plus ``detail``. Parameter
problems name the parameter (``detail.parameter``); FastAPI's own type checks are 422 (as
OONI's FastAPI services answer), censorscope's checks of values and combinations are 400.
Server errors are 500 (or 503 when the store is unavailable or busy) and never carry a
traceback: it goes to the server log.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from censorscope.store.base import StoreBusy

__all__ = ["ERROR_RESPONSES", "APIError", "ErrorBody", "ErrorEnvelope", "StoreUnavailable",
           "bad_parameter", "error_response", "install_error_handlers"]

log = logging.getLogger("censorscope.api")

RETRY_AFTER_BUSY = 5  # seconds a client should wait when a writer holds a DuckDB store


class APIError(Exception):
    """An error answer: status, one-sentence message, optional data and headers."""

    def __init__(self, status: int, message: str, detail: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.detail = status, message, detail
        self.headers = headers or {}


def bad_parameter(name: str, problem: str, value: Any = None) -> APIError:
    """A 400 naming the parameter ``name``."""
    detail = {"parameter": name, "problem": problem}
    if value is not None:
        detail["value"] = value
    return APIError(400, f"bad parameter {name}: {problem}", detail)


class StoreUnavailable(Exception):
    """The store could not be opened or failed during a query (503)."""


class ErrorBody(BaseModel):
    code: int
    message: str
    detail: Any = None


class ErrorEnvelope(BaseModel):
    """The body of every error answer."""

    error: ErrorBody


_INT64 = 2**63


def _json_safe(value: Any) -> Any:
    """``value`` with integers JSON numbers cannot carry exactly (beyond 64 bits: a client's
    ``limit=1e30``) as their decimal text."""
    if isinstance(value, int) and not isinstance(value, bool) and not (
            -_INT64 <= value < _INT64):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def error_response(status: int, message: str, detail: Any = None,
                   headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps({"error": {"code": status, "message": message,
                                   "detail": _json_safe(detail)}})
    return Response(body, status_code=status, media_type="application/json",
                    headers=headers)


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"parameter": loc[-1] if loc else None,
                    "location": loc[0] if loc else None, "problem": err.get("msg", "")})
    return out


async def _on_api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    return error_response(exc.status, exc.message, exc.detail, exc.headers)


async def _on_validation(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    detail = _validation_detail(exc)
    first = detail[0] if detail else {"parameter": None, "problem": "invalid request"}
    return error_response(422, f"bad parameter {first['parameter']}: {first['problem']}",
                          detail)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    messages = {404: f"no such endpoint: {request.url.path}",
                405: f"method {request.method} not allowed on {request.url.path}"}
    message = messages.get(exc.status_code, str(exc.detail))
    return error_response(exc.status_code, message, None, dict(exc.headers or {}))


async def _on_busy(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoreBusy)
    return error_response(
        503, "the store is held by a writer; try again later",
        {"holder": exc.holder}, {"Retry-After": str(RETRY_AFTER_BUSY)})


async def _on_unavailable(_request: Request, exc: Exception) -> Response:
    log.warning("store unavailable: %s", exc)
    return error_response(503, "the store is unavailable; try again later", None,
                          {"Retry-After": str(RETRY_AFTER_BUSY)})


async def _on_crash(request: Request, exc: Exception) -> Response:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error", None)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(APIError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(StoreBusy, _on_busy)
    app.add_exception_handler(StoreUnavailable, _on_unavailable)
    app.add_exception_handler(Exception, _on_crash)


# what the OpenAPI document says every endpoint may answer besides 200
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": text} for status, text in (
        (400, "A parameter value or combination is refused (the parameter is named)."),
        (404, "Nothing with that id."),
        (422, "A parameter has the wrong type or form (the parameter is named)."),
        (429, "The client's quota is used up (see Retry-After and X-RateLimit-Remaining)."),
        (500, "Internal error (no details are given out)."),
        (503, "The store is unavailable or held by a writer (see Retry-After)."),
    )
}
