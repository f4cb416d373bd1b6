"""The messaging experiments' own options, parsed (``--option NAME.KEY=VALUE``).

Every parser raises ``ValueError`` naming the key, which the CLI turns into a usage error
before anything is measured. A missing or empty option keeps OONI's default.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

__all__ = ["PARALLELISM_HELP", "ca_file", "host", "ip", "listed", "parallelism", "port",
           "url"]

PARALLELISM_HELP = "targets measured at once (OONI: 3)"

T = TypeVar("T")

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def host(key: str, text: str) -> str:
    """A DNS name (lower case, no trailing dot)."""

    name = text.strip().lower().rstrip(".")
    if not name or len(name) > 253 or not all(_LABEL.match(p) for p in name.split(".")):
        raise ValueError(f"{key}: {text!r} is not a host name")
    return name


def ip(key: str, text: str) -> str:
    """An IPv4 or IPv6 address (canonical text)."""

    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ValueError(f"{key}: {text!r} is not an IP address") from None


def port(key: str, text: str) -> int:
    """A TCP port, 1-65535."""

    value = text.strip()
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{key}: {text!r} is not a port (1-65535)")
    return int(value)


def url(key: str, text: str, schemes: tuple[str, ...] = ("https",)) -> str:
    """A URL with one of ``schemes`` and a host."""

    value = text.strip()
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"{key}: {text!r} is not a {'/'.join(schemes)} URL with a host")
    return value


def ca_file(key: str, text: str) -> str:
    """A readable file of PEM certificates."""

    path = Path(text.strip())
    try:
        pem = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise ValueError(f"{key}: cannot read {text!r}: {exc.strerror}") from None
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise ValueError(f"{key}: {text!r} holds no PEM certificate")
    return str(path)


def parallelism(options: Mapping[str, str]) -> int:
    """The ``parallelism`` option: 1-64, default 3 (OONI's ``urlgetter.Multi``)."""

    text = options.get("parallelism", "").strip()
    if not text:
        return 3
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise ValueError(f"parallelism: {text!r} is not a number from 1 to 64")
    return int(text)


def listed(options: Mapping[str, str], key: str, parse: Callable[[str, str], T],
              default: tuple[T, ...]) -> tuple[T, ...]:
    """A comma-separated option, each item parsed; ``default`` when absent or empty."""

    text = options.get(key, "")
    items = [p for p in (s.strip() for s in text.split(",")) if p]
    if not items:
        return default
    return tuple(parse(key, item) for item in items)
