"""The collector's refusals: :class:`censorscope.serve.HTTPError` with a stable ``code`` word.

On the wire every refusal is the serving layer's one envelope ``{"error": {"code": <HTTP
status>, "message": …}}``; ``code`` (``invalid_json``, ``inconsistent_measurement``, …) is the
error's ``reason``, kept for logs and tests.
"""

from __future__ import annotations

from censorscope.serve.errors import HTTPError

__all__ = ["CollectorError"]


class CollectorError(HTTPError):
    """A request the collector refuses: HTTP ``status`` with a stable ``code``."""

    def __init__(self, status: int, code: str, message: str,
                 headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(status, message, reason=code, headers=headers)
        self.code = code
