"""HTTP-diff primitives of Web Connectivity (minipipeline ``analysis.go`` httpDiff*): body
proportion, status-code match, uncommon header intersection, differing long title words, and
the "does an HTTP diff exist" rule. Titles are extracted by ``censorscope.model.http.page_title``
(``measurexlite.WebGetTitle``).

Every function takes plain values; ``None`` means "not computable" and propagates to ``null``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

# Headers too common to say anything about whether two responses come from the same server.
COMMON_HTTP_HEADERS: Final = frozenset({
    "date", "content-type", "server", "cache-control", "vary", "set-cookie", "location",
    "expires", "x-powered-by", "content-encoding", "last-modified", "accept-ranges", "pragma",
    "x-frame-options", "etag", "x-content-type-options", "age", "via", "p3p",
    "x-xss-protection", "content-language", "cf-ray", "strict-transport-security", "link",
    "x-varnish",
})

BODY_PROPORTION_THRESHOLD: Final = 0.7
LONG_WORD_MIN_BYTES: Final = 5


def body_proportion_factor(probe_length: int | None, probe_truncated: bool | None,
                           control_length: int | None) -> float | None:
    """min/max of the two body lengths; None unless the probe body is complete and both > 0."""
    measured = probe_length or 0
    if measured <= 0 or (probe_truncated is None or probe_truncated):
        return None
    control = control_length or 0
    if control <= 0:
        return None
    return control / measured if measured >= control else measured / control


def status_code_match(probe_status: int | None, control_status: int | None) -> bool | None:
    """True if equal; False if different while the TH got a 2xx; None otherwise (the TH may
    itself have hit an error page, so a mismatch proves nothing)."""
    measured = probe_status or 0
    control = control_status or 0
    if measured <= 0 or control <= 0:
        return None
    if measured == control:
        return True
    if int(control / 100) != 2:
        return None
    return False


def uncommon_headers_intersection(probe_keys: Iterable[str] | None,
                                  control_keys: Iterable[str] | None,
                                  probe_status: int | None,
                                  control_status: int | None) -> frozenset[str] | None:
    """Lower-cased header names present in both responses, minus :data:`COMMON_HTTP_HEADERS`."""
    if (probe_status or 0) <= 0 or (control_status or 0) <= 0:
        return None
    probe = {k.lower() for k in probe_keys or ()}
    control = {k.lower() for k in control_keys or ()}
    return frozenset((probe & control) - COMMON_HTTP_HEADERS)


def _long_words(title: str) -> set[str]:
    return {
        w.lower() for w in title.split(" ")
        if len(w.encode("utf-8", errors="surrogatepass")) >= LONG_WORD_MIN_BYTES
    }


def title_different_long_words(probe_title: str | None, control_title: str | None,
                               probe_status: int | None,
                               control_status: int | None) -> frozenset[str] | None:
    """Words of ≥5 UTF-8 bytes (split on " ", lower-cased) found in only one of the titles."""
    if (probe_status or 0) <= 0 or (control_status or 0) <= 0:
        return None
    return frozenset(_long_words(probe_title or "") ^ _long_words(control_title or ""))


def http_diff_exists(status_match: bool | None, body_length_match: bool | None,
                     headers_match: bool | None, title_match: bool | None) -> bool:
    """No diff only if the status matches and at least one of body/headers/title matches."""
    if status_match is True and True in (body_length_match, headers_match, title_match):
        return False
    return True
