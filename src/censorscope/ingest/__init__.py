"""Import OONI data files (JSONL, JSONL.gz, post-cans, JSON, bucket directories) into the store.

``ingest(paths, store)`` is the API; ``censorscope ingest PATH…`` the command.
"""

from __future__ import annotations

from .driver import Analyzer, FileReport, IngestReport, ingest, rows_of

__all__ = ["Analyzer", "FileReport", "IngestReport", "ingest", "rows_of"]
