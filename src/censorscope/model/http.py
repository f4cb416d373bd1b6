"""HTTP words shared by the probe, the control and the pipeline: header keys and page titles.

Both follow what probe-cli and oohelperd do, so that a title or header key the probe records,
the one the control reports and the one the pipeline extracts from an archived body can be
compared as they are:

* ``canonical_header_key``: Go's ``textproto.CanonicalMIMEHeaderKey``; ``first_header_values``
  the first value of each canonical key.
* ``page_title``: ``measurexlite.WebGetTitle``, the regular expression
  ``(?i)<title>([^<]{1,512})</title>``, with Go's case folding (ASCII letters only).

Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

__all__ = ["TITLE_PATTERN", "canonical_header_key", "first_header_values", "page_title"]

# RFC 7230 ``token`` characters: Go leaves a key with any other byte exactly as it is.
_TOKEN: Final = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")

# OONI's ``(?i)<title>([^<]{1,512})</title>``. Spelled with explicit classes because Python's
# IGNORECASE also folds 'İ' (U+0130) and 'ı' (U+0131) onto 'i', which Go's (?i) does not.
TITLE_PATTERN: Final = re.compile(r"<[Tt][Ii][Tt][Ll][Ee]>([^<]{1,512})</[Tt][Ii][Tt][Ll][Ee]>")


def canonical_header_key(name: str) -> str:
    """Go's ``textproto.CanonicalMIMEHeaderKey``: ``content-type`` → ``Content-Type``.

    The first letter and every letter after a ``-`` upper case, the other letters lower case.
    A name that is empty or not an RFC 7230 token (a space, a non-ASCII or control character,
    ``:`` …) comes back unchanged; the other token characters (``_``, ``.``, ``!`` …) are kept
    and do not start a new word: ``x_forwarded-for`` → ``X_forwarded-For``.
    """

    if not name or not _TOKEN.fullmatch(name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def first_header_values(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``{canonical key: first value}`` in the order the keys first appear: what Go's
    ``http.Header`` gives for ``Get`` (OONI's archival ``headers`` map, the control's
    ``http_request.headers``)."""

    out: dict[str, str] = {}
    for name, value in headers:
        out.setdefault(canonical_header_key(name), value)
    return out


def page_title(body: str | bytes) -> str:
    """The first ``<title>…</title>`` of an HTTP body as OONI extracts it, or ``""``.

    1 to 512 characters without ``<``, case kept, white space kept, no entity decoding; a
    longer, empty or unterminated title does not count (a later one may). Bytes are read as
    UTF-8 with invalid sequences replaced (what Go's JSON encoding makes of them).
    """

    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    match = TITLE_PATTERN.search(text)
    return match.group(1) if match else ""
