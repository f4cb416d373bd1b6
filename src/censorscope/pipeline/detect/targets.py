"""Which domains make a service: the target map of detection.

A detection *target* is a domain (``domain:www.tiktok.com``) or a service (``service:tiktok``),
the set of domains of the service's endpoint set. :class:`TargetMap` maps a domain to the
services whose endpoint sets name it (a name may belong to several: a CDN shared by two apps).
:meth:`TargetMap.bundled` builds it from the sets the package ships
(``censorscope/data/services/*.csv`` and, for TikTok, the Citizen Lab list), parsed by
:mod:`censorscope.model.services` — the same sets the ``service`` experiment measures.
IP-literal endpoints name no domain and are left out.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from importlib import resources

from censorscope.model.services import KNOWN_SERVICES, Endpoint, bundled_set

__all__ = ["TargetMap", "bundled_targets", "normalise_domain"]


def normalise_domain(name: str) -> str:
    """A domain as targets spell it: lower case, no trailing dot."""
    return name.strip().lower().rstrip(".")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class TargetMap(Mapping[str, tuple[str, ...]]):
    """Domain -> the (sorted) names of the services whose endpoint sets name it."""

    __slots__ = ("_by_domain",)

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        """``pairs`` are ``(domain, service)``; names are normalised and de-duplicated."""
        acc: dict[str, set[str]] = {}
        for domain, service in pairs:
            acc.setdefault(normalise_domain(domain), set()).add(service.strip().lower())
        self._by_domain = {d: tuple(sorted(s)) for d, s in sorted(acc.items())}

    @classmethod
    def from_endpoints(cls, endpoints: Iterable[Endpoint]) -> TargetMap:
        """The map of these endpoints (IP literals skipped)."""
        return cls((e.host, e.service) for e in endpoints if not _is_ip(e.host))

    @classmethod
    def bundled(cls) -> TargetMap:
        """The map of every endpoint set the package ships (read once, then cached)."""
        return bundled_targets()

    def __getitem__(self, domain: str) -> tuple[str, ...]:
        return self._by_domain[normalise_domain(domain)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_domain)

    def __len__(self) -> int:
        return len(self._by_domain)

    def __contains__(self, domain: object) -> bool:
        return isinstance(domain, str) and normalise_domain(domain) in self._by_domain

    def services_of(self, domain: str | None) -> tuple[str, ...]:
        """The services ``domain`` belongs to (``()`` for None or an unknown domain)."""
        if not domain:
            return ()
        return self._by_domain.get(normalise_domain(domain), ())

    def domains_of(self, service: str) -> tuple[str, ...]:
        """The (sorted) domains of ``service``'s endpoint set."""
        name = service.strip().lower()
        return tuple(d for d, s in self._by_domain.items() if name in s)

    def merged(self, other: Iterable[tuple[str, str]]) -> TargetMap:
        """This map with more ``(domain, service)`` pairs (a user's own endpoint set)."""
        mine = ((d, s) for d, names in self._by_domain.items() for s in names)
        return TargetMap([*mine, *other])


def _read_data(rel: str) -> str:
    return resources.files("censorscope.data").joinpath(*rel.split("/")).read_text("utf-8")


@lru_cache(maxsize=1)
def bundled_targets() -> TargetMap:
    """The :class:`TargetMap` of the package's endpoint sets (every known service)."""
    endpoints = [e for name in KNOWN_SERVICES for e in bundled_set(name, _read_data)]
    return TargetMap.from_endpoints(endpoints)
