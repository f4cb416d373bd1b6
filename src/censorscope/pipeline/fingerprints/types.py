"""Fingerprint records, match results and OONI's confirmation rule.

A :class:`Fingerprint` is one row of a fingerprint source (OONI's CSV schema; Censored Planet
and Citizen Lab rows are mapped onto it). A :class:`FingerprintMatch` says that one fingerprint
matched one place of one measurement, and whether the match *confirms* blocking for the probe's
country (:func:`is_confirmed`, OONI fastpath's rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "CONFIRMING_SCOPES",
    "Fingerprint",
    "FingerprintMatch",
    "Kind",
    "Source",
    "is_confirmed",
    "parse_countries",
]

Kind = Literal["dns", "http"]
Source = Literal["ooni", "censoredplanet", "citizenlab", "censorscope"]

# A match with one of these scopes confirms in any country (OONI fastpath, ooni-backend §1.3).
CONFIRMING_SCOPES: Final = frozenset({"isp", "nat"})


def parse_countries(text: str) -> tuple[str, ...]:
    """``"AE, sa"`` / ``"['ID']"`` → ``("AE", "SA")`` / ``("ID",)``: comma-separated, upper
    case, ``ZZ`` and empty items dropped (OONI); Python-list text (Citizen Lab) works too."""
    cleaned = text.strip().strip("[]")
    out: list[str] = []
    for item in cleaned.split(","):
        cc = item.strip().strip("'\"").strip().upper()
        if cc and cc != "ZZ" and cc not in out:
            out.append(cc)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """One fingerprint: ``location`` is ``dns``, ``body``, ``headers`` (Censored Planet's
    whole-response signatures) or ``header.<lower-case name>``; ``pattern_type`` is ``full``,
    ``prefix``, ``contains`` or ``regexp``."""

    id: str
    kind: Kind
    location: str
    pattern_type: str
    pattern: str
    scope: str
    expected_countries: tuple[str, ...]
    confidence: int | None
    source: Source


def is_confirmed(cc: str, fp: Fingerprint) -> bool:
    """OONI's rule: the probe's country (not ``ZZ``) is one of the fingerprint's expected
    countries, or the fingerprint's scope is national (``nat``) or ISP (``isp``) whatever the
    country. Product (``prod``), institution (``inst``), vague-word (``vbw``) and
    false-positive (``fp``) fingerprints confirm only in their expected countries."""
    cc = cc.upper()
    if cc and cc != "ZZ" and cc in fp.expected_countries:
        return True
    return fp.scope in CONFIRMING_SCOPES


@dataclass(frozen=True, slots=True)
class FingerprintMatch:
    """One fingerprint found in one measurement. ``location`` is where it was found
    (``dns``, ``body``, ``headers``, ``header.<name>``); ``blockpage_ip`` is the DNS answer
    that matched a DNS fingerprint; ``matched`` the text that matched (truncated)."""

    id: str
    kind: Kind
    location: str
    pattern_type: str
    scope: str
    confirmed: bool
    source: Source
    confidence: int | None = None
    expected_countries: tuple[str, ...] = ()
    blockpage_ip: str | None = None
    matched: str | None = None

    @classmethod
    def of(cls, fp: Fingerprint, cc: str, *, location: str | None = None,
           blockpage_ip: str | None = None, matched: str | None = None) -> FingerprintMatch:
        """The match of ``fp`` for a probe in country ``cc``."""
        return cls(id=fp.id, kind=fp.kind, location=location or fp.location,
                   pattern_type=fp.pattern_type, scope=fp.scope,
                   confirmed=is_confirmed(cc, fp), source=fp.source,
                   confidence=fp.confidence, expected_countries=fp.expected_countries,
                   blockpage_ip=blockpage_ip,
                   matched=None if matched is None else matched[:200])
