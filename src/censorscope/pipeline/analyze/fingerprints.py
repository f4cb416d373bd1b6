"""The seam to the fingerprint matchers (``censorscope.pipeline.fingerprints``).

The analysis needs two calls, ``match_dns(answers, cc)`` and ``match_http(body, headers,
cc)``, each returning matches with an ``id``, a ``scope`` (``"fp"`` marks a known false
positive, e.g. a CDN challenge page) and ``confirmed`` (OONI's confirmation rule for the
probe's country), plus the fingerprints' ``version``. :func:`default_fingerprints` adapts the
fingerprints package when it is importable and returns None otherwise (no fingerprints: the
rules that need them simply do not fire).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["FingerprintSource", "MatchLike", "ModuleFingerprints", "default_fingerprints"]


class MatchLike(Protocol):
    """What the analysis reads of a fingerprint match."""

    @property
    def id(self) -> str: ...
    @property
    def scope(self) -> str: ...
    @property
    def confirmed(self) -> bool: ...


class FingerprintSource(Protocol):
    """Fingerprint matching as the analysis calls it."""

    @property
    def version(self) -> str: ...

    def match_dns(self, answers: Sequence[str], cc: str) -> Sequence[MatchLike]: ...

    def match_http(self, body: str | None, headers: Mapping[str, str], cc: str
                   ) -> Sequence[MatchLike]: ...


@dataclass(frozen=True)
class ModuleFingerprints:
    """A :class:`FingerprintSource` over the fingerprints package's functions."""

    version: str
    dns: Callable[..., Any]
    http: Callable[..., Any]

    def match_dns(self, answers: Sequence[str], cc: str) -> Sequence[MatchLike]:
        return list(self.dns(list(answers), cc) or ())

    def match_http(self, body: str | None, headers: Mapping[str, str], cc: str
                   ) -> Sequence[MatchLike]:
        return list(self.http(body, dict(headers), cc) or ())


def default_fingerprints() -> FingerprintSource | None:
    """The bundled fingerprints (``censorscope.pipeline.fingerprints``), or None when that
    package is not there (yet)."""
    try:
        mod = importlib.import_module("censorscope.pipeline.fingerprints")
    except ImportError:
        return None
    dns = getattr(mod, "match_dns", None)
    http = getattr(mod, "match_http", None)
    if not callable(dns) or not callable(http):
        return None
    version = getattr(mod, "VERSION", None) or getattr(mod, "FINGERPRINTS_VERSION", None)
    if callable(version):
        version = version()
    return ModuleFingerprints(str(version or "unknown"), dns, http)
