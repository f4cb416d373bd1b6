"""Transaction-id namespaces and tags of Web Connectivity records (OONI's ``idgenerator.go``,
``tags.go``).

Every record of one lookup or one endpoint shares a transaction id; the namespace tells what
produced it: system resolver 10001…, Do53 20001…, DoH 30001…, cleartext endpoints 40001…,
secure endpoints 50001…. One generator serves a whole measurement (all redirect depths).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

__all__ = ["IDGenerator", "dns_tags", "endpoint_tags"]


def _counter(offset: int) -> itertools.count[int]:
    return itertools.count(offset + 1)


@dataclass
class IDGenerator:
    """Hands out transaction ids, one namespace per kind of operation."""

    _system: itertools.count[int] = field(default_factory=lambda: _counter(10000))
    _udp: itertools.count[int] = field(default_factory=lambda: _counter(20000))
    _https: itertools.count[int] = field(default_factory=lambda: _counter(30000))
    _cleartext: itertools.count[int] = field(default_factory=lambda: _counter(40000))
    _secure: itertools.count[int] = field(default_factory=lambda: _counter(50000))

    def system_resolver(self) -> int:
        return next(self._system)

    def udp_resolver(self) -> int:
        return next(self._udp)

    def doh_resolver(self) -> int:
        return next(self._https)

    def cleartext(self) -> int:
        return next(self._cleartext)

    def secure(self) -> int:
        return next(self._secure)


def dns_tags(depth: int, *, classic: bool) -> list[str]:
    """``["classic", "depth=N"]`` for the system resolver, ``["depth=N"]`` otherwise."""

    return (["classic"] if classic else []) + [f"depth={depth}"]


def endpoint_tags(depth: int, *, classic: bool, fetch_body: bool) -> list[str]:
    """Tags of an endpoint flow, in OONI's order:
    ``classic`` (address from the system resolver), ``tcptls_experiment`` (depth 0),
    ``depth=N``, ``fetch_body=true|false``."""

    tags: list[str] = []
    if classic:
        tags.append("classic")
    if depth == 0:
        tags.append("tcptls_experiment")
    tags.append(f"depth={depth}")
    tags.append(f"fetch_body={'true' if fetch_body else 'false'}")
    return tags
