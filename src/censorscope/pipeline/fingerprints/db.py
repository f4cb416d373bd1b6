"""The compiled fingerprint database: match DNS answers and HTTP responses.

Unlike OONI's fastpath (ooni-backend §1.3) every pattern type is honoured where it applies:

- DNS: ``full`` answers are looked up in a dict, ``prefix``/``contains``/``regexp`` checked in
  turn (none in OONI's data today, but the schema allows them);
- HTTP body: ``contains`` literals (and regexes that are plain literals) in one
  :class:`LiteralSet` pass; ``full`` is equality, ``prefix`` is startswith, ``regexp`` is a
  real regex search (fastpath matches regexes as literal strings);
- HTTP headers ``header.<name>``: ``full``, ``prefix``, ``contains`` (fastpath never matches
  the 118 ``header.location`` contains rows) and ``regexp``, for every value of the header;
- Censored Planet signatures are regexes over the whole response: they are searched in the
  body and in the header block written ``Name: value`` one per line.

Matches carry ``confirmed`` (:func:`is_confirmed`) next to the plain fact that they matched.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final

from .literal import LiteralSet, regex_literal
from .load import read_sources
from .types import Fingerprint, FingerprintMatch

__all__ = ["VETO_MIN_LENGTH", "Body", "FingerprintDB", "Headers", "body_text", "header_pairs",
           "load_fingerprints", "vetoes"]

Body = bytes | str | Mapping[str, Any] | None
Headers = Mapping[str, Any] | Sequence[Sequence[Any]] | None


def _decode(value: Any) -> str | None:
    """A MaybeBinaryData value (str, bytes, ``{"format": "base64", "data": …}``) as text;
    bytes that are not UTF-8 keep their bytes as surrogates (so UTF-8 patterns still match
    the UTF-8 parts)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "surrogateescape")
    if isinstance(value, Mapping) and value.get("format") == "base64":
        try:
            raw = base64.b64decode(str(value.get("data") or ""), validate=False)
        except (binascii.Error, ValueError):
            return None
        return raw.decode("utf-8", "surrogateescape")
    return None


def body_text(body: Body) -> str:
    """The response body as text ("" when absent or undecodable)."""
    return _decode(body) or ""


def header_pairs(headers: Headers) -> list[tuple[str, str]]:
    """Headers as (name, value) pairs from a mapping or OONI's ``headers_list``."""
    pairs: list[tuple[str, str]] = []
    if headers is None:
        return pairs
    items: Iterable[Any] = headers.items() if isinstance(headers, Mapping) else headers
    for item in items:
        if not isinstance(item, tuple | list) or len(item) != 2:
            continue
        name, value = item[0], _decode(item[1])
        if isinstance(name, str) and value is not None:
            pairs.append((name, value))
    return pairs


@dataclass
class _Group:
    """Fingerprints of one list (blockpage or false-positive), indexed for matching."""

    by_literal: dict[str, list[Fingerprint]] = field(default_factory=dict)
    literals: LiteralSet = field(default_factory=lambda: LiteralSet(()))
    # (fingerprint, compiled regex) searched in body ("body") or body and headers ("both")
    regexes: list[tuple[Fingerprint, re.Pattern[str]]] = field(default_factory=list)
    body_exact: list[Fingerprint] = field(default_factory=list)  # body full / prefix
    headers_literal: list[Fingerprint] = field(default_factory=list)  # "headers" contains
    header_rules: dict[str, list[tuple[Fingerprint, re.Pattern[str] | None]]] = field(
        default_factory=dict)


def _build(fps: Iterable[Fingerprint], invalid: list[tuple[str, str]],
           automaton: bool) -> _Group:
    group = _Group()
    by_literal: defaultdict[str, list[Fingerprint]] = defaultdict(list)
    header_rules: defaultdict[str, list[tuple[Fingerprint, re.Pattern[str] | None]]] = (
        defaultdict(list))
    for fp in fps:
        if fp.location.startswith("header."):
            compiled: re.Pattern[str] | None = None
            if fp.pattern_type == "regexp":
                try:
                    compiled = re.compile(fp.pattern)
                except re.error as exc:
                    invalid.append((fp.id, str(exc)))
                    continue
            header_rules[fp.location.removeprefix("header.")].append((fp, compiled))
        elif fp.location == "headers":
            group.headers_literal.append(fp)
        elif fp.pattern_type == "contains":
            by_literal[fp.pattern].append(fp)
        elif fp.pattern_type in ("full", "prefix"):
            group.body_exact.append(fp)
        else:  # regexp, in the body (OONI) or anywhere in the response (Censored Planet)
            literal = regex_literal(fp.pattern)
            if literal is not None:
                by_literal[literal].append(fp)
                continue
            try:
                group.regexes.append((fp, re.compile(fp.pattern)))
            except re.error as exc:
                invalid.append((fp.id, str(exc)))
    group.by_literal = dict(by_literal)
    group.literals = LiteralSet(by_literal, automaton=automaton)
    group.header_rules = dict(header_rules)
    return group


@dataclass(frozen=True)
class _Scan:
    """One response prepared for matching: text, header pairs and block, and the literals
    (of either group) found in the text and in the header block."""

    text: str
    pairs: list[tuple[str, str]]
    block: str
    in_text: set[str]
    in_block: set[str]


def _header_value_matches(fp: Fingerprint, compiled: re.Pattern[str] | None,
                          value: str) -> bool:
    if fp.pattern_type == "full":
        return value == fp.pattern
    if fp.pattern_type == "prefix":
        return value.startswith(fp.pattern)
    if fp.pattern_type == "contains":
        return fp.pattern in value
    return compiled is not None and compiled.search(value) is not None


#: false-positive patterns shorter than this (as literals) do not veto a blockpage
VETO_MIN_LENGTH: Final = 16


def vetoes(fp: Fingerprint) -> bool:
    """True if a false-positive match of ``fp`` is specific enough to overrule blockpage
    matches: censorscope's own rows, and patterns of at least :data:`VETO_MIN_LENGTH`
    characters."""
    return fp.source == "censorscope" or len(regex_literal(fp.pattern) or fp.pattern) >= \
        VETO_MIN_LENGTH


class FingerprintDB:
    """Fingerprints compiled for matching. Build with :func:`load_fingerprints`."""

    def __init__(self, dns: Iterable[Fingerprint], http: Iterable[Fingerprint],
                 false_positive: Iterable[Fingerprint], *, version: str,
                 files: tuple[str, ...] = (), automaton: bool = True) -> None:
        self.version = version
        self.files = files
        self.dns: tuple[Fingerprint, ...] = tuple(dns)
        self.http: tuple[Fingerprint, ...] = tuple(http)
        self.false_positives: tuple[Fingerprint, ...] = tuple(false_positive)
        #: (fingerprint id, error) of regexes Python cannot compile; they never match
        self.invalid: list[tuple[str, str]] = []
        full: defaultdict[str, list[Fingerprint]] = defaultdict(list)
        self._dns_other: list[tuple[Fingerprint, re.Pattern[str] | None]] = []
        for fp in self.dns:
            if fp.pattern_type == "full":
                full[fp.pattern].append(fp)
            elif fp.pattern_type == "regexp":
                try:
                    self._dns_other.append((fp, re.compile(fp.pattern)))
                except re.error as exc:
                    self.invalid.append((fp.id, str(exc)))
            else:
                self._dns_other.append((fp, None))
        self._dns_full = dict(full)
        self._blockpages = _build(self.http, self.invalid, automaton)
        self._fps = _build(self.false_positives, self.invalid, automaton)
        self._veto_ids = frozenset(fp.id for fp in self.false_positives if vetoes(fp))
        # both groups' literals: one pass over a response finds those of either group
        self._both = LiteralSet([*self._blockpages.by_literal, *self._fps.by_literal],
                                automaton=automaton)

    def __len__(self) -> int:
        return len(self.dns) + len(self.http) + len(self.false_positives)

    @property
    def uses_automaton(self) -> bool:
        """True when body literals are matched with the Aho-Corasick automaton."""
        return self._blockpages.literals.uses_automaton

    # DNS ------------------------------------------------------------------------------------

    def match_dns(self, answer: str | Sequence[str] | None, cc: str) -> list[FingerprintMatch]:
        """DNS fingerprints matching one answer (an IPv4/IPv6 address or a CNAME target), or
        each of a sequence of answers."""
        if not answer:
            return []
        if not isinstance(answer, str):
            return [m for one in answer for m in self.match_dns(one, cc)]
        answer = answer.strip()
        found = [FingerprintMatch.of(fp, cc, blockpage_ip=answer, matched=answer)
                 for fp in self._dns_full.get(answer, ())]
        for fp, compiled in self._dns_other:
            if fp.pattern_type == "prefix":
                hit = answer.startswith(fp.pattern)
            elif fp.pattern_type == "contains":
                hit = fp.pattern in answer
            else:
                hit = compiled is not None and compiled.search(answer) is not None
            if hit:
                found.append(FingerprintMatch.of(fp, cc, blockpage_ip=answer, matched=answer))
        return found

    def blockpage_ips(self) -> frozenset[str]:
        """Answers that DNS fingerprints name exactly: IPs (or names) known to serve a
        blockpage or to be injected by a censor (for ``dns.injection.blockpage``)."""
        return frozenset(self._dns_full)

    # HTTP -----------------------------------------------------------------------------------

    def match_http(self, body: Body, headers: Headers, cc: str) -> list[FingerprintMatch]:
        """Blockpage fingerprints (OONI's non-``fp`` rows, Censored Planet blockpage
        signatures, Citizen Lab extras) found in one HTTP response."""
        return self._match(self._blockpages, body, headers, cc)

    def false_positive(self, body: Body, headers: Headers, cc: str = "", *,
                       every: bool = False) -> list[FingerprintMatch]:
        """Known false-positive patterns (CDN challenge and error pages, parked domains,
        default server pages …: OONI's ``fp`` rows, Censored Planet's false-positive
        signatures, censorscope's CDN rows) in one response. A response with such a match is
        not a blockpage whatever else matched.

        By default only the specific patterns count (:func:`vetoes`): Censored Planet wrote
        short ones (``redirect``, ``Bad Request``, ``max-age=86400``) for its scans of
        arbitrary servers, where they would hide real blockpages here. ``every=True``
        returns every match."""
        found = self._match(self._fps, body, headers, cc)
        return found if every else [m for m in found if m.id in self._veto_ids]

    def blockpage_matches(self, body: Body, headers: Headers,
                          cc: str) -> list[FingerprintMatch]:
        """:meth:`match_http` unless a false-positive pattern matched too (then ``[]``): the
        matches a blockpage verdict may rest on."""
        if self.false_positive(body, headers, cc):
            return []
        return self.match_http(body, headers, cc)

    def blockpage_and_false_positive(self, body: Body, headers: Headers,
                                     cc: str) -> list[FingerprintMatch]:
        """``match_http(…) + false_positive(…)`` (the same list, in that order) with one
        literal pass over the response instead of one per list."""
        scan = self._scan(body, headers)
        found = self._match(self._fps, body, headers, cc, scan)
        return self._match(self._blockpages, body, headers, cc, scan) + [
            m for m in found if m.id in self._veto_ids]

    def _scan(self, body: Body, headers: Headers) -> _Scan:
        text = body_text(body)
        pairs = header_pairs(headers)
        block = "".join(f"{name}: {value}\r\n" for name, value in pairs)
        return _Scan(text, pairs, block, self._both.find(text),
                     self._both.find(block) if block else set())

    def _match(self, group: _Group, body: Body, headers: Headers,
               cc: str, scan: _Scan | None = None) -> list[FingerprintMatch]:
        if scan is None:
            text = body_text(body)
            pairs = header_pairs(headers)
            block = "".join(f"{name}: {value}\r\n" for name, value in pairs)
            in_text = group.literals.find(text)
            in_block = group.literals.find(block) if block else set()
        else:  # the literals of both groups found at once: keep this group's
            text, pairs, block = scan.text, scan.pairs, scan.block
            in_text = {lit for lit in scan.in_text if lit in group.by_literal}
            in_block = {lit for lit in scan.in_block if lit in group.by_literal}
        out: list[FingerprintMatch] = []
        seen: set[str] = set()

        def add(fp: Fingerprint, location: str, matched: str) -> None:
            if fp.id not in seen:
                seen.add(fp.id)
                out.append(FingerprintMatch.of(fp, cc, location=location, matched=matched))

        for lit in sorted(in_text):
            for fp in group.by_literal[lit]:
                add(fp, "body", lit)
        if block:
            for lit in sorted(in_block):
                for fp in group.by_literal[lit]:
                    if fp.location == "headers_or_body":
                        add(fp, "headers", lit)
        for fp in group.body_exact:
            if (text == fp.pattern if fp.pattern_type == "full"
                    else text.startswith(fp.pattern)) and text:
                add(fp, "body", fp.pattern)
        for fp, rx in group.regexes:
            m = rx.search(text)
            if m is None and fp.location == "headers_or_body" and block:
                hm = rx.search(block)
                if hm is not None:
                    add(fp, "headers", hm.group(0))
                continue
            if m is not None:
                add(fp, "body", m.group(0))
        for fp in group.headers_literal:
            if fp.pattern in block:
                add(fp, "headers", fp.pattern)
        if group.header_rules:
            for name, value in pairs:
                for fp, compiled in group.header_rules.get(name.lower(), ()):
                    if _header_value_matches(fp, compiled, value):
                        add(fp, f"header.{name.lower()}", value)
        return out


def load_fingerprints(path: str | Path | Traversable | None = None, *,
                      automaton: bool = True) -> FingerprintDB:
    """Read and compile the fingerprints under ``path`` (default: the bundled data). Call it
    again to reload after the files changed; ``db.version`` changes with their content."""
    src = read_sources(path)
    return FingerprintDB(src.dns, src.http, src.false_positive, version=src.version,
                         files=src.files, automaton=automaton)
