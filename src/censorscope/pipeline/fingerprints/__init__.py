"""Blocking fingerprints: OONI's DNS/HTTP fingerprints, Censored Planet's blockpage and
false-positive signatures, Citizen Lab's annotations — loaded as data, versioned, matched.

``default_db()`` is the bundled set (loaded once); ``load_fingerprints(path)`` (re)loads a
directory. ``FINGERPRINTS_VERSION`` is the content hash of the bundled files, stamped on
verdicts as ``fingerprints_version``. See docs/analysis.md ("Fingerprints").
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from .db import (
    VETO_MIN_LENGTH,
    Body,
    FingerprintDB,
    Headers,
    body_text,
    header_pairs,
    load_fingerprints,
    vetoes,
)
from .literal import HAVE_AUTOMATON
from .load import bundled_root, content_version, read_sources
from .types import CONFIRMING_SCOPES, Fingerprint, FingerprintMatch, is_confirmed, parse_countries

__all__ = [
    "CONFIRMING_SCOPES",
    "FINGERPRINTS_VERSION",
    "HAVE_AUTOMATON",
    "VETO_MIN_LENGTH",
    "Fingerprint",
    "FingerprintDB",
    "FingerprintMatch",
    "blockpage_ips",
    "body_text",
    "bundled_root",
    "content_version",
    "default_db",
    "header_pairs",
    "is_confirmed",
    "load_fingerprints",
    "match_dns",
    "match_http",
    "parse_countries",
    "read_sources",
    "vetoes",
]


@lru_cache(maxsize=1)
def default_db() -> FingerprintDB:
    """The bundled fingerprints, compiled once per process."""
    return load_fingerprints()


FINGERPRINTS_VERSION: str = content_version()


def match_dns(answers: str | Sequence[str], cc: str) -> list[FingerprintMatch]:
    """Bundled DNS fingerprints matching the answer(s), for a probe in country ``cc``."""
    return default_db().match_dns(answers, cc)


def match_http(body: Body, headers: Headers, cc: str) -> list[FingerprintMatch]:
    """Bundled HTTP fingerprints found in one response: blockpage matches, then the
    vetoing false-positive matches (``scope == "fp"``, e.g. a CDN challenge page; see
    :meth:`FingerprintDB.false_positive`). A response with a false-positive match must not be
    called a blockpage."""
    return default_db().blockpage_and_false_positive(body, headers, cc)


def blockpage_ips() -> frozenset[str]:
    """Answers named by the bundled DNS fingerprints (known blockpage / injected IPs)."""
    return default_db().blockpage_ips()
