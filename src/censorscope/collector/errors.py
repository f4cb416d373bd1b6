"""The collector's one error type and its JSON envelope ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import orjson

__all__ = ["CollectorError", "error_body"]


class CollectorError(Exception):
    """A request the collector refuses: HTTP ``status`` with a stable ``code``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_body(code: str, message: str) -> bytes:
    """The JSON error envelope."""

    return orjson.dumps({"error": {"code": code, "message": message}})
