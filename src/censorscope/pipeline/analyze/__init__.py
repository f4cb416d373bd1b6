"""Analysis: measurement → observations → per-layer verdicts → one explainable verdict.

Rules are data (``censorscope.pipeline.rules``, family ``WEB_CONNECTIVITY``); scorers are
found by test name in the registry (``register``); the :class:`AnalysisContext` carries facts
across measurements (TLS handshakes that worked, ASNs, fingerprints). Imports only
``censorscope.model`` (and the sibling ``pipeline`` packages).
"""

from __future__ import annotations

from .analyzer import (
    analyze_batch,
    analyze_measurement,
    ingest_analyzer,
    score,
    stored_version,
    to_verdict_row,
)
from .context import AnalysisContext
from .registry import register, registered, scorer_for
from .subject import Subject, mat_flags, ooni_blocking

__all__ = [
    "AnalysisContext",
    "Subject",
    "analyze_batch",
    "analyze_measurement",
    "ingest_analyzer",
    "mat_flags",
    "ooni_blocking",
    "register",
    "registered",
    "score",
    "scorer_for",
    "stored_version",
    "to_verdict_row",
]
