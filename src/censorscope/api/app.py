"""The application factory: ``create_app(store_url, settings=…)`` → a FastAPI app.

``app_from_env()`` builds the same app from ``$CENSORSCOPE_API_STORE`` and
``$CENSORSCOPE_API_SETTINGS`` (JSON of ``Settings``): the import-string factory that uvicorn's
worker processes call (``censorscope serve --workers N``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from censorscope import __version__
from censorscope.store import open_store
from censorscope.store.base import Store

from . import aggregation, analysis, cost, detections, measurements, reports, services
from .errors import install_error_handlers
from .ratelimit import RateLimiter, RateLimitMiddleware
from .settings import Quota, Settings
from .storepool import StorePool
from .writes import install_writes

__all__ = ["ENV_SETTINGS", "ENV_STORE", "app_from_env", "create_app", "from_env",
           "settings_from_json", "settings_to_json"]

ENV_STORE = "CENSORSCOPE_API_STORE"
ENV_SETTINGS = "CENSORSCOPE_API_SETTINGS"

DESCRIPTION = """\
censorscope's API: OONI's measurement endpoints with OONI's names and parameters
(search with keyset pages, measurement_meta, raw_measurement, the MAT aggregation with CSV),
and censorscope's verdicts with evidence, observations, incidents, outages, services,
reports and costs. Reads are anonymous; the writes (analysts' findings, feedback labels on
verdicts) need a bearer token (`censorscope token new`).
Every error is `{"error": {"code", "message", "detail"}}`; every answer carries
`X-RateLimit-Remaining` (seconds of request time left in the client's quota).
"""


def read_only_opener(store_url: str) -> Callable[[], Store]:
    def opener() -> Store:
        return open_store(store_url, read_only=True)
    return opener


class _SecurityHeaders:
    """``X-Content-Type-Options: nosniff`` on every answer: JSON and CSV (raw measurement
    bodies among them) are data, never to be sniffed into something a browser runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"],
                                      (b"x-content-type-options", b"nosniff")]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(store_url: str, *, settings: Settings | None = None,
               opener: Callable[[], Store] | None = None) -> FastAPI:
    """The API over the store at ``store_url`` (opened read-only, per request, by
    ``opener``). Nothing is opened before the first request."""
    settings = settings or Settings()
    pool = StorePool(opener or read_only_opener(store_url), linger=settings.store_linger)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.close()

    app = FastAPI(title="censorscope API", version=__version__, description=DESCRIPTION,
                  openapi_url="/openapi.json", docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    app.state.pool, app.state.settings, app.state.store_url = pool, settings, store_url
    install_error_handlers(app)
    for module in (measurements, aggregation, analysis, detections, services, reports, cost):
        app.include_router(module.router)
    install_writes(app, store_url, settings)
    app.add_middleware(RateLimitMiddleware, limiter=RateLimiter(settings.quotas),
                       min_request_cost=settings.min_request_cost,
                       trust_forwarded_for=settings.trust_forwarded_for)
    app.add_middleware(_SecurityHeaders)
    return app


def settings_to_json(settings: Settings) -> str:
    return orjson.dumps(dataclasses.asdict(settings)).decode()


def settings_from_json(text: str) -> Settings:
    data: dict[str, Any] = orjson.loads(text)
    data["quotas"] = tuple(Quota(**q) for q in data.get("quotas", ()))
    return Settings(**data)


def from_env() -> tuple[str, Settings | None]:
    """The store URL and settings a worker process is given (``$CENSORSCOPE_API_STORE``,
    ``$CENSORSCOPE_API_SETTINGS``)."""
    url = os.environ.get(ENV_STORE)
    if not url:
        raise RuntimeError(f"${ENV_STORE} is not set")
    text = os.environ.get(ENV_SETTINGS)
    return url, settings_from_json(text) if text else None


def app_from_env() -> FastAPI:
    """The app of ``$CENSORSCOPE_API_STORE`` with ``$CENSORSCOPE_API_SETTINGS`` (uvicorn
    workers import this factory)."""
    url, settings = from_env()
    return create_app(url, settings=settings)
