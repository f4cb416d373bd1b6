"""Service endpoint sets as data: the CSV format, its parser, the bundled sets' assembly.

An endpoint file is CSV with the header ``service,host,port,protocol`` and optionally ``path``
and ``note`` columns (any order; other columns are ignored). One row per endpoint:

- ``service``: lower-case name (``[a-z0-9_-]+``) of the service the endpoint belongs to;
- ``host``: a DNS name (letters, digits, hyphens; dot-separated labels of at most 63
  characters, 253 in all) or an IP literal;
- ``port``: 1–65535;
- ``protocol``: ``https`` (TCP, TLS with the host as SNI and certificate validation, HTTP
  GET of ``path``), ``http`` (TCP, cleartext GET), ``tls`` (TCP and TLS only) or ``tcp``
  (connect only);
- ``path``: the path (and query) of the GET, starting with ``/`` (default ``/``); empty for
  ``tls`` and ``tcp``;
- ``note``: free text (where the endpoint comes from).

Empty lines and lines starting with ``#`` are skipped. A bad file raises
:class:`EndpointFileError` naming the file and line; nothing is half-loaded.

The bundled sets are ``censorscope/data/services/<service>.csv``; TikTok's adds the 24
endpoints of the Citizen Lab list ``data/test-lists/derived/tiktok_endpoints_az_am_2022.csv``
(every URL once, ``https`` on 443 with the URL's path and query). This module only parses:
:func:`bundled_set` assembles a set from texts its caller reads (the ``service`` experiment
to measure it, detection to know which domains make a service).
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

__all__ = [
    "CITIZENLAB_TIKTOK",
    "KNOWN_SERVICES",
    "PROTOCOLS",
    "Endpoint",
    "EndpointFileError",
    "bundled_set",
    "citizenlab_endpoints",
    "normalise_service",
    "parse_endpoints",
    "valid_host",
]

KNOWN_SERVICES: Final = ("tiktok", "whatsapp", "telegram", "signal", "youtube", "instagram",
                         "facebook", "x", "zoom", "skype", "linkedin")
PROTOCOLS: Final = ("https", "http", "tls", "tcp")
REQUIRED: Final = ("service", "host", "port", "protocol")
CITIZENLAB_TIKTOK: Final = "tiktok_endpoints_az_am_2022.csv"

_LABEL: Final = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SERVICE: Final = re.compile(r"^[a-z0-9_-]+$")


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of a service: where, how, and where it comes from (``source`` is
    ``file:line``)."""

    service: str
    host: str
    port: int
    protocol: str
    path: str = "/"
    note: str = ""
    source: str = ""

    @property
    def url(self) -> str | None:
        """The URL of the GET (``None`` for ``tls``/``tcp`` endpoints)."""
        if self.protocol not in ("https", "http"):
            return None
        default = 443 if self.protocol == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == default else f":{self.port}"
        return f"{self.protocol}://{host}{port}{self.path}"

    @property
    def label(self) -> str:
        """``host:port/protocol`` (how the test keys and messages name it)."""
        return f"{self.host}:{self.port}/{self.protocol}"


class EndpointFileError(ValueError):
    """An endpoint file (or a row of it) is unusable: the message starts ``file:line:``."""


def valid_host(text: str) -> bool:
    """True for a DNS name of dot-separated LDH labels or an IP literal."""
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        pass
    name = text.rstrip(".")
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    return all(_LABEL.match(label) for label in labels)


def normalise_service(raw: str) -> str:
    """A bundled service name in lower case (ValueError with the known names otherwise)."""
    name = raw.strip().lower()
    if name not in KNOWN_SERVICES:
        raise ValueError(f"unknown service {raw.strip()!r} (known: {', '.join(KNOWN_SERVICES)})")
    return name


def _row_endpoint(row: dict[str, str | None], where: str) -> Endpoint:
    def cell(key: str) -> str:
        return (row.get(key) or "").strip()

    service, host, protocol = cell("service").lower(), cell("host").lower(), cell("protocol")
    for key in REQUIRED:
        if not cell(key):
            raise EndpointFileError(f"{where}: empty {key}")
    if not _SERVICE.match(service):
        raise EndpointFileError(f"{where}: bad service name {service!r} (use [a-z0-9_-])")
    if not valid_host(host):
        raise EndpointFileError(f"{where}: bad host name {cell('host')!r}")
    port_text = cell("port")
    if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
        raise EndpointFileError(f"{where}: bad port {port_text!r} (1-65535)")
    protocol = protocol.lower()
    if protocol not in PROTOCOLS:
        raise EndpointFileError(
            f"{where}: bad protocol {cell('protocol')!r} (one of {', '.join(PROTOCOLS)})")
    path = cell("path")
    if protocol in ("https", "http"):
        path = path or "/"
        if not path.startswith("/") or any(ch.isspace() for ch in path):
            raise EndpointFileError(f"{where}: bad path {path!r} (it starts with /)")
    elif path:
        raise EndpointFileError(f"{where}: a {protocol} endpoint has no path")
    return Endpoint(service, host.rstrip("."), int(port_text), protocol, path, cell("note"),
                    where)


def parse_endpoints(text: str, *, source: str) -> list[Endpoint]:
    """The endpoints of CSV ``text`` (``source`` names it in errors: ``source:line: …``)."""
    lines = text.splitlines()
    kept = [(n, line) for n, line in enumerate(lines, 1)
            if line.strip() and not line.lstrip().startswith("#")]
    if not kept:
        raise EndpointFileError(f"{source}:1: no header (want {','.join(REQUIRED)})")
    header_no, header = kept[0]
    columns = [c.strip().lower() for c in next(csv.reader([header]))]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise EndpointFileError(
            f"{source}:{header_no}: missing column(s) {', '.join(missing)} "
            f"(header must name {','.join(REQUIRED)}[,path][,note])")
    out: list[Endpoint] = []
    seen: dict[tuple[str, str, int, str, str], str] = {}
    for n, line in kept[1:]:
        where = f"{source}:{n}"
        cells = next(csv.reader(io.StringIO(line)), [])
        if len(cells) < len(columns):
            short = [c for c in columns[len(cells):] if c in REQUIRED]
            if short:
                raise EndpointFileError(f"{where}: missing column(s) {', '.join(short)}")
        if len(cells) > len(columns):
            raise EndpointFileError(
                f"{where}: {len(cells)} fields, the header has {len(columns)}")
        ep = _row_endpoint(dict(zip(columns, cells, strict=False)), where)
        key = (ep.service, ep.host, ep.port, ep.protocol, ep.path)
        if key in seen:
            raise EndpointFileError(f"{where}: duplicate of the endpoint at {seen[key]}")
        seen[key] = where
        out.append(ep)
    if not out:
        raise EndpointFileError(f"{source}:{header_no}: no endpoints")
    return out


def citizenlab_endpoints(text: str, *, source: str) -> list[Endpoint]:
    """TikTok endpoints of the Citizen Lab list (header ``country,url,…``): each URL once."""
    reader = csv.DictReader(io.StringIO(text))
    if "url" not in (reader.fieldnames or []):
        raise EndpointFileError(f"{source}:1: missing column url")
    out: list[Endpoint] = []
    seen: set[str] = set()
    for n, row in enumerate(reader, 2):
        url = (row.get("url") or "").strip()
        if not url or url in seen:
            continue
        seen.add(url)
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        row_cells = {"service": "tiktok", "host": parts.hostname or "", "protocol": parts.scheme,
                     "port": str(parts.port or (443 if parts.scheme == "https" else 80)),
                     "path": path, "note": f"Citizen Lab {row.get('country', '')} list"}
        out.append(_row_endpoint(dict(row_cells), f"{source}:{n}"))
    return out


def bundled_set(service: str, read: Callable[[str], str]) -> list[Endpoint]:
    """The shipped endpoint set of ``service`` (one of :data:`KNOWN_SERVICES`); ``read`` gives
    the text of a file of the package's ``data`` directory by its relative path
    (``services/tiktok.csv``)."""
    name = normalise_service(service)
    rel = f"services/{name}.csv"
    out = parse_endpoints(read(rel), source=f"data/{rel}")
    if name == "tiktok":
        cl = f"test-lists/derived/{CITIZENLAB_TIKTOK}"
        have = {(e.host, e.port, e.protocol, e.path) for e in out}
        for ep in citizenlab_endpoints(read(cl), source=f"data/{cl}"):
            if (ep.host, ep.port, ep.protocol, ep.path) not in have:
                out.append(ep)
    return out
