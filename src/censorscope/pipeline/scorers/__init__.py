"""Scorers of the OONI tests other than Web Connectivity, in the verdict vocabulary.

Importing this package registers every scorer with
``censorscope.pipeline.analyze.registry`` (``register(test_name)``) and the claims of their
evidence with ``censorscope.pipeline.evidence`` (:mod:`.claims`); :data:`SCORERS` maps the
test names to them for direct use. Rules are data: each module's family in
``censorscope.pipeline.rules`` (``MESSAGING``, ``CIRCUMVENTION``, ``PROBES``, ``MIDDLEBOX``,
``FALLBACK``), each with its version; docs/analysis.md describes each scorer.

A scorer of a censorscope experiment lives in its own module here and registers itself with
``@register(test_name)``; every module of this package is imported (:func:`_import_all`), and
:data:`SCORERS` gains what they registered, so adding one touches no list.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.registry import registered
from censorscope.pipeline.analyze.subject import Subject

from . import circumvention, messaging, middlebox, probes
from . import claims as claims  # registers the claims of the scorers' evidence
from .fallback import FALLBACK_TEST_NAMES, score_fallback

if TYPE_CHECKING:
    from censorscope.pipeline.analyze.context import AnalysisContext

__all__ = [
    "FALLBACK_TEST_NAMES",
    "SCORERS",
    "score_fallback",
]

ScorerFn = Callable[[Subject, "AnalysisContext"], Verdict]

SCORERS: Final[dict[str, ScorerFn]] = {
    "telegram": messaging.score_telegram,
    "whatsapp": messaging.score_whatsapp,
    "signal": messaging.score_signal,
    "facebook_messenger": messaging.score_facebook_messenger,
    "tor": circumvention.score_tor,
    "vanilla_tor": circumvention.score_tor_bootstrap,
    "torsf": circumvention.score_tor_bootstrap,
    "psiphon": circumvention.score_psiphon,
    "riseupvpn": circumvention.score_riseupvpn,
    "openvpn": circumvention.score_openvpn,
    "meek_fronted_requests_test": circumvention.score_meek,
    "urlgetter": probes.score_urlgetter,
    "dnscheck": probes.score_dnscheck,
    "stunreachability": probes.score_stun,
    "stun_reachability": probes.score_stun,
    "browser_web": probes.score_browser_web,
    "dash": probes.score_speed,
    "ndt": probes.score_speed,
    "http_header_field_manipulation": middlebox.score_hhfm,
    "http_invalid_request_line": middlebox.score_hirl,
    **{name: score_fallback for name in FALLBACK_TEST_NAMES},
}


def _import_all() -> None:
    """Import every module of this package (each registers its scorers on import)."""

    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        importlib.import_module(f"{__name__}.{info.name}")


_import_all()
for _name, _scorer in registered().items():
    if _scorer.__module__.startswith(f"{__name__}."):
        SCORERS.setdefault(_name, _scorer)
