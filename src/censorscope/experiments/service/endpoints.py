"""Endpoint sets of the ``service`` experiment: the user's file loader and the bundled sets.

The format and its parser are :mod:`censorscope.model.services` (detection reads the same
sets to know which domains make a service); this module reads the files: a user's own
(:func:`load_endpoint_file`) and the package's (:func:`bundled_endpoints`, from
``censorscope/data``).
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from censorscope.model.services import (
    CITIZENLAB_TIKTOK,
    KNOWN_SERVICES,
    PROTOCOLS,
    Endpoint,
    EndpointFileError,
    bundled_set,
    citizenlab_endpoints,
    normalise_service,
    parse_endpoints,
    valid_host,
)

__all__ = [
    "CITIZENLAB_TIKTOK",
    "KNOWN_SERVICES",
    "PROTOCOLS",
    "Endpoint",
    "EndpointFileError",
    "bundled_endpoints",
    "citizenlab_endpoints",
    "endpoints_for",
    "load_endpoint_file",
    "normalise_service",
    "parse_endpoints",
    "read_data",
    "valid_host",
]


def load_endpoint_file(path: str | Path) -> list[Endpoint]:
    """The endpoints of a user's file (EndpointFileError if unreadable or bad)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EndpointFileError(f"{p}:0: cannot read: {exc}") from exc
    return parse_endpoints(text, source=str(p))


def read_data(rel: str) -> str:
    """The text of the package data file ``rel`` (``services/tiktok.csv``)."""
    item = resources.files("censorscope.data").joinpath(*rel.split("/"))
    return item.read_text(encoding="utf-8")


def bundled_endpoints(service: str) -> list[Endpoint]:
    """The shipped endpoint set of ``service`` (one of :data:`KNOWN_SERVICES`)."""
    return bundled_set(service, read_data)


def endpoints_for(service: str, own: Iterable[Endpoint] = ()) -> list[Endpoint]:
    """The endpoints measured for ``service``: the user's own file's rows for it if it has
    any, else the bundled set."""
    mine = [e for e in own if e.service == service]
    return mine or bundled_endpoints(service)
