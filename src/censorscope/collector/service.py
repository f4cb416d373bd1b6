"""The collector's request handling: OONI's submission API on top of the live archive.

Routes: ``POST /report`` (open), ``POST /report/{report_id}`` (submit), ``POST
/report/{report_id}/close``, ``POST /api/v1/submit_measurement``, ``GET
/api/v1/raw_measurement?measurement_uid=…`` (the archived body), ``GET /`` and ``GET /health``,
and ``POST /admin/seal`` behind a bearer token. Success bodies are OONI's (its probes parse them);
every error is the serving layer's envelope ``{"error": {"code": <status>, "message"}}`` with a
4xx status (503 only when the spool cannot be written).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import orjson

from censorscope import __version__
from censorscope.archive.fetch import fetch_measurement
from censorscope.archive.live import LiveArchive, SpoolWriteError
from censorscope.collector.errors import CollectorError
from censorscope.collector.validation import (
    Submission,
    decode_body,
    parse_json_object,
    require_json,
    validate_open_report,
    validate_report_submission,
    validate_submit_measurement,
)
from censorscope.model.ids import (
    ReportIdError,
    body_digest,
    new_report_id,
    parse_report_id,
    submission_uid,
)
from censorscope.serve import Limits, Request, Response

__all__ = ["CollectorService", "ServiceConfig"]

LOG = logging.getLogger("censorscope.collector")
BACKEND_VERSION = f"censorscope-{__version__}"
_REPORT = re.compile(r"^/report/([^/]{1,200})$")
_CLOSE = re.compile(r"^/report/([^/]{1,200})/close$")
_UID = re.compile(r"^[0-9]{14}\.[0-9]{6}_[A-Z]{2}_[a-z0-9]{2,40}_[0-9a-f]{16}$")


@dataclass
class ServiceConfig:
    """What the service needs besides the archive."""

    collector_id: int = 1
    admin_token: str | None = None
    limits: Limits = field(default_factory=Limits)


class CollectorService:
    """Turns requests into responses (a :data:`censorscope.serve.server.Handler`)."""

    def __init__(
        self, archive: LiveArchive, config: ServiceConfig,
        seal: Callable[[], Awaitable[int]] | None = None,
        health: Callable[[], tuple[bool, dict[str, Any]]] | None = None,
    ) -> None:
        self.archive = archive
        self.config = config
        self._seal = seal
        self._health = health
        self.refused = 0
        self.discarded = 0

    async def handle(self, request: Request) -> Response:
        try:
            status, payload = await self._route(request)
            return Response(status, orjson.dumps(payload))
        except CollectorError as exc:
            if 400 <= exc.status < 500:
                self.refused += 1
            return Response(exc.status, exc.body(), exc.headers)

    async def _route(self, request: Request) -> tuple[int, Any]:
        path = request.path
        if path == "/":
            self._method(request, "GET")
            return 200, {"service": "censorscope-collector", "version": __version__,
                         "status": "ok"}
        if path == "/health":
            self._method(request, "GET")
            return self._health_report()
        if path == "/report":
            self._method(request, "POST")
            return 200, self._open_report(self._json(request))
        if path == "/api/v1/submit_measurement":
            self._method(request, "POST")
            return await self._submit(validate_submit_measurement(self._json(request)))
        if path == "/api/v1/raw_measurement":
            self._method(request, "GET")
            return await self._raw(request)
        if path == "/admin/seal":
            self._method(request, "POST")
            self._authorize(request)
            sealed = await self._seal() if self._seal is not None else 0
            return 200, {"sealed": sealed}
        match = _CLOSE.match(path)
        if match:
            self._method(request, "POST")
            try:
                parse_report_id(match.group(1))
            except ReportIdError as exc:
                raise CollectorError(400, "bad_report_id", str(exc)) from None
            return 200, {}
        match = _REPORT.match(path)
        if match:
            self._method(request, "POST")
            return await self._submit(validate_report_submission(match.group(1),
                                                                 self._json(request)))
        raise CollectorError(404, "not_found", f"no such endpoint {path[:100]!r}")

    def _health_report(self) -> tuple[int, Any]:
        """200 ``{service, version, status: "ok", spool, feeder, …}``, or 503 with the same
        fields, ``status: "failing"`` and the error envelope's ``error`` naming the problem."""

        healthy, report = self._health() if self._health is not None else (True, {})
        payload: dict[str, Any] = {"service": "censorscope-collector", "version": __version__,
                                   "status": "ok" if healthy else "failing", **report}
        if healthy:
            return 200, payload
        message = "; ".join(report.get("problems", [])) or "unhealthy"
        return 503, {"error": {"code": 503, "message": message}, **payload}

    @staticmethod
    def _method(request: Request, allowed: str) -> None:
        if request.method != allowed:
            raise CollectorError(405, "method_not_allowed", f"use {allowed} here",
                                 headers=(("Allow", allowed),))

    def _json(self, request: Request) -> dict[str, Any]:
        require_json(request.headers.get("content-type"))
        body = decode_body(request.body, request.headers.get("content-encoding"),
                           self.config.limits.max_body)
        return parse_json_object(body)

    def _open_report(self, payload: dict[str, Any]) -> dict[str, Any]:
        meta = validate_open_report(payload)
        report_id = new_report_id(meta.test_name, meta.cc, meta.asn, datetime.now(UTC),
                                  collector_id=self.config.collector_id)
        return {"backend_version": BACKEND_VERSION, "report_id": report_id,
                "supported_formats": ["json"]}

    async def _submit(self, submission: Submission | None) -> tuple[int, Any]:
        if submission is None:
            self.discarded += 1
            return 200, {}
        received = datetime.now(UTC)
        digest = body_digest(submission.body)
        uid = submission_uid(received, submission.cc, submission.test_name, digest)
        try:
            uid, _new = await self.archive.put(
                submission.body, digest, uid, cc=submission.cc, asn=submission.asn,
                test_name=submission.test_name, report_id=submission.report_id,
                received=received,
            )
        except SpoolWriteError as exc:
            LOG.error("spool write failed: %s", exc)
            raise CollectorError(
                503, "storage_unavailable", "the measurement could not be stored; retry later",
                headers=(("Retry-After", str(self.config.limits.retry_after)),)) from None
        return 200, {"measurement_uid": uid, "report_id": submission.report_id,
                     "verification_status": "unverified", "error": None}

    async def _raw(self, request: Request) -> tuple[int, Any]:
        values = parse_qs(request.query).get("measurement_uid", [])
        if len(values) != 1 or not _UID.match(values[0]):
            raise CollectorError(400, "bad_request", "give one well-formed measurement_uid")
        body = await asyncio.to_thread(fetch_measurement, self.archive.path, values[0])
        if body is None:
            raise CollectorError(404, "not_found", "no measurement with this uid")
        return 200, orjson.Fragment(body)

    def _authorize(self, request: Request) -> None:
        token = self.config.admin_token
        given = request.headers.get("authorization", "")
        if not token:
            raise CollectorError(403, "forbidden", "admin endpoints are disabled (no token)")
        if not given.startswith("Bearer ") or not hmac.compare_digest(
            given[7:].encode(), token.encode()
        ):
            raise CollectorError(401, "unauthorized", "a valid admin bearer token is required")

