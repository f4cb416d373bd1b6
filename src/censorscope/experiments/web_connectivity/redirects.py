"""Redirect rules of Web Connectivity (OONI's ``httpredirect.go``, ``redirects.go``).

Only 301, 302, 307 and 308 are followed (303 is not). The ``Location`` is resolved against
the request URL; a result without a host is the failure
``http_invalid_redirect_location_host``. One counter per measurement allows 10 redirects;
asking for the 11th gives ``unknown_failure: stopped after too many redirects``.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from censorscope.model import failures as F

__all__ = ["REDIRECT_STATUSES", "RedirectCounter", "redirect_target"]

REDIRECT_STATUSES = frozenset({301, 302, 307, 308})


class RedirectCounter:
    """Shared by every depth of one measurement."""

    def __init__(self, limit: int = 10) -> None:
        self._left = limit

    def take(self) -> bool:
        """Use one redirect; False when none is left."""

        if self._left <= 0:
            return False
        self._left -= 1
        return True


def redirect_target(
    request_url: str, status: int, location: str | None
) -> tuple[str | None, str | None]:
    """``(next_url, failure)`` for a response: ``(None, None)`` when it is not a redirect."""

    if status not in REDIRECT_STATUSES or location is None:
        return None, None
    try:
        target = urljoin(request_url, location.strip())
        parts = urlsplit(target)
        host = parts.hostname
    except ValueError:
        return None, F.HTTP_INVALID_REDIRECT_LOCATION_HOST
    if not host or parts.scheme not in ("http", "https"):
        return None, F.HTTP_INVALID_REDIRECT_LOCATION_HOST
    return target.split("#", 1)[0], None
