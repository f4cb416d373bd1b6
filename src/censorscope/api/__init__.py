"""The HTTP API over the store: OONI's endpoints and parameters (``/api/v1/measurements``,
``measurement_meta``, ``raw_measurement``, ``aggregation``) and censorscope's own under
``/api/v1/`` (verdicts with their evidence, observations, incidents, outages, services,
the facts of reports, costs), and analysts' findings and feedback on verdicts behind bearer
tokens (``tokens``, ``auth``), kept in a SQLite sidecar (``annotations``).

A FastAPI application on uvicorn: :func:`create_app` builds it for one store URL, ``censorscope
serve`` runs it. Every error has one JSON envelope (``errors``), every list has a page-size
limit and every search or aggregation a window limit (``settings``), each client a quota
(``ratelimit``). The API never writes the store: DuckDB files are opened read-only
(``storepool``).
See docs/api.md.
"""

from __future__ import annotations

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
