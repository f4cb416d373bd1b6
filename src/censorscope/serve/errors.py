"""The one error type of the serving layer and its JSON envelope.

``{"error": {"code": <HTTP status>, "message": "<what to fix>"}}`` for every refusal of every
service built on :mod:`censorscope.serve`. ``reason`` is a short machine word for logs and
tests (``invalid_json``, ``too_large``, …); it is not sent.
"""

from __future__ import annotations

import orjson

__all__ = ["REASONS", "HTTPError", "error_body"]

REASONS = {
    100: "Continue", 200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 411: "Length Required",
    413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type",
    429: "Too Many Requests", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable", 504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}


class HTTPError(Exception):
    """A request refused with HTTP ``status`` and a ``message`` a person can act on.

    ``headers`` are added to the answer (``Allow`` for a 405, for instance).
    """

    def __init__(self, status: int, message: str, *, reason: str = "",
                 headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.headers = headers

    def body(self) -> bytes:
        return error_body(self.status, self.message)


def error_body(status: int, message: str) -> bytes:
    """The JSON error envelope."""

    return orjson.dumps({"error": {"code": status, "message": message}})
