"""The API's writes, wired into an app: the token file (``Settings.tokens_file``), the
annotation sidecar (``Settings.annotations_file``, default beside the store), the findings
and feedback endpoints, and the cap on request bodies."""

from __future__ import annotations

from fastapi import FastAPI

from . import feedback, findings
from .annotations import AnnotationStore, default_annotations_path
from .bodylimit import BodyLimitMiddleware
from .settings import Settings
from .tokens import TokenFile

__all__ = ["install_writes"]


def install_writes(app: FastAPI, store_url: str, settings: Settings) -> None:
    """Add the write endpoints to ``app`` (raises TokenFileError for a bad token file)."""
    app.state.tokens = TokenFile(settings.tokens_file)
    app.state.annotations = AnnotationStore(
        settings.annotations_file or default_annotations_path(store_url))
    app.include_router(findings.router)
    app.include_router(feedback.router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
