"""Probe inputs: validate and normalise the URLs to measure.

Web Connectivity accepts only ``http``/``https`` URLs with a host (OONI's ``inputparser``). A bad
URL is reported with a clear reason and skipped; the others still run. Internationalised host
names are converted to their IDNA (punycode) form and upper-case hosts are lowered, as OONI's
QA cases ``idnaWithoutCensorship*`` expect; the input string itself is kept as given.
``probe/sources.py`` collects the command line's sources (``--input``, ``--input-file``,
``--test-list``/``--category``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "InputError",
    "InputSourceError",
    "MeasurementInput",
    "parse_input",
    "read_input_file",
    "validate_inputs",
]


class InputError(ValueError):
    """A URL the probe cannot measure, with the reason in plain words."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url!r}: {reason}")
        self.url = url
        self.reason = reason


class InputSourceError(ValueError):
    """A source of inputs that cannot be used (unreadable file, unknown test list …)."""


@dataclass(frozen=True)
class MeasurementInput:
    """One URL to measure: ``input`` as written to the measurement, ``url`` as fetched."""

    input: str
    url: str
    category_code: str = ""


def _idna_host(host: str, original: str) -> str:
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise InputError(original, f"host name {host!r} is not a valid IDNA name ({exc})") from exc


def parse_input(raw: str, *, category_code: str = "") -> MeasurementInput:
    """Validate one URL; raise :class:`InputError` if Web Connectivity cannot measure it."""

    text = raw.strip()
    if not text:
        raise InputError(raw, "empty input")
    if any(c.isspace() for c in text):
        raise InputError(raw, "a URL cannot contain spaces")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InputError(raw, f"not a valid URL ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        what = f"scheme {parts.scheme!r}" if parts.scheme else "no scheme"
        raise InputError(raw, f"{what}: only http:// and https:// URLs can be measured")
    host = parts.hostname
    if not host:
        raise InputError(raw, "the URL has no host name")
    if port == 0:
        raise InputError(raw, "port 0 is not a valid port")
    ascii_host = _idna_host(host, raw)
    netloc = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    if port is not None:
        netloc += f":{port}"
    url = urlunsplit((scheme, netloc, parts.path, parts.query, ""))
    return MeasurementInput(input=text, url=url, category_code=category_code)


def target_parser(normalise: Callable[[str], str]) -> Callable[[str], MeasurementInput]:
    """A parser of free-form targets (host names, IPs, service names …) from an experiment's
    ``normalise`` (``ValueError`` → :class:`InputError` with its reason)."""

    def parse(raw: str) -> MeasurementInput:
        text = raw.strip()
        if not text:
            raise InputError(raw, "empty input")
        try:
            return MeasurementInput(input=text, url=normalise(text))
        except ValueError as exc:
            raise InputError(raw, str(exc)) from exc

    return parse


def validate_inputs(
    raws: Iterable[str | MeasurementInput],
    parse: Callable[[str], MeasurementInput] = parse_input,
) -> tuple[list[MeasurementInput], list[InputError]]:
    """Split raw inputs into valid ones (first occurrence, order kept) and errors; ``parse``
    validates one raw input (URLs by default)."""

    good: list[MeasurementInput] = []
    bad: list[InputError] = []
    seen: set[str] = set()
    for raw in raws:
        try:
            if isinstance(raw, MeasurementInput):  # a test-list entry, already a URL
                item = raw if parse is parse_input else parse(raw.input)
            else:
                item = parse(raw)
        except InputError as exc:
            bad.append(exc)
            continue
        if item.input in seen:
            continue
        seen.add(item.input)
        good.append(item)
    return good, bad


def read_input_file(path: Path) -> list[str]:
    """URLs of a text file: one per line; blank lines and ``#`` comments are ignored."""

    out: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            out.append(text)
    return out
