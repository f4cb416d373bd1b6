"""The per-measurement cookie jar (OONI uses a public-suffix-aware jar across redirects).

Built on the standard library's ``http.cookiejar`` (domain rules, paths, secure flag) with
small adapters, because our HTTP layer does not use ``urllib``.
"""

from __future__ import annotations

import email.message
import http.cookiejar
import urllib.request

__all__ = ["CookieJar"]


class _Response:
    """What ``http.cookiejar`` needs of a response: ``info()`` with the headers."""

    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self._msg = email.message.Message()
        for name, value in headers:
            self._msg[name] = value

    def info(self) -> email.message.Message:
        return self._msg


class CookieJar:
    """Cookies set by responses, sent back on later requests of the same measurement."""

    def __init__(self) -> None:
        self._jar = http.cookiejar.CookieJar()

    def header_for(self, url: str) -> str | None:
        """The ``Cookie`` header value for a request to ``url``, or ``None``."""

        req = urllib.request.Request(url)
        self._jar.add_cookie_header(req)
        value = req.get_header("Cookie")
        return value if value else None

    def store(self, url: str, headers: list[tuple[str, str]]) -> None:
        """Remember the ``Set-Cookie`` headers of a response to a request for ``url``."""

        self._jar.extract_cookies(_Response(headers), urllib.request.Request(url))  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self._jar)
