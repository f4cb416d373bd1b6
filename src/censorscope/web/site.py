"""The site: the API app (``censorscope.api.create_app``) with the explorer's pages and their
assets, in one ASGI app for ``censorscope serve``.

``create_site(store_url, settings=…)`` adds the page routers at ``/`` and the package's
``static/`` directory at ``/static/``, and makes every error of a page an HTML page rendered
from the API's JSON envelope (same status and headers), while errors of ``/api/…``,
``/openapi.json``, ``/static/…`` and of the JSON twins (``….json``) stay the envelope.
``site_from_env()`` is the import-string factory of ``--workers N``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from censorscope.api.app import create_app, from_env
from censorscope.api.settings import Settings
from censorscope.store.base import Store

from . import (
    countries,
    domains,
    incidents,
    mat,
    measurement,
    networks,
    outages,
    reports,
    search,
    services,
)
from .pages import render
from .templating import STATIC

__all__ = ["PAGE_ROUTERS", "create_site", "is_page_path", "site_from_env"]

# the explorer's page routers, in the order their routes are tried
PAGE_ROUTERS = (search.router, measurement.router, mat.router, countries.router,
                networks.router, domains.router, services.router, incidents.router,
                outages.router, reports.router)

TITLES = {400: "Bad request", 404: "Not found", 405: "Method not allowed", 422: "Bad request",
          429: "Too many requests", 500: "Internal error", 503: "Store unavailable"}

ErrorHandler = Callable[[Request, Exception], Awaitable[Response] | Response]


def is_page_path(path: str) -> bool:
    """Whether an answer on ``path`` is an explorer page (HTML) rather than data (JSON)."""
    return not (path.startswith(("/api/", "/static/")) or path == "/openapi.json"
                or path.endswith(".json"))


def _html_or_envelope(handler: ErrorHandler) -> Callable[[Request, Exception],
                                                         Awaitable[Response]]:
    """The API's error handler, answering pages with an HTML page made from its envelope."""

    async def on_error(request: Request, exc: Exception) -> Response:
        response = handler(request, exc)
        if not isinstance(response, Response):
            response = await response
        if not is_page_path(request.url.path) or response.media_type != "application/json":
            return response
        envelope: dict[str, Any] = orjson.loads(bytes(response.body))
        status = response.status_code
        data = {"title": TITLES.get(status, f"Error {status}"), **envelope}
        headers = {k: v for k, v in response.headers.items()
                   if k.lower() in ("retry-after", "allow")}
        return render(request, "error.html", data, status=status, headers=headers)

    return on_error


def create_site(store_url: str, *, settings: Settings | None = None,
                opener: Callable[[], Store] | None = None) -> FastAPI:
    """The API and the explorer over the store at ``store_url`` (read-only)."""
    app = create_app(store_url, settings=settings, opener=opener)
    for router in PAGE_ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for key, handler in list(app.exception_handlers.items()):
        app.exception_handlers[key] = _html_or_envelope(handler)
    return app


def site_from_env() -> FastAPI:
    """The site of ``$CENSORSCOPE_API_STORE`` with ``$CENSORSCOPE_API_SETTINGS`` (uvicorn
    workers import this factory)."""
    url, settings = from_env()
    return create_site(url, settings=settings)
