"""Scorers by test name: ``register("telegram")(fn)`` plugs a scorer into the analysis.

A scorer is ``fn(subject: Subject, ctx: AnalysisContext) -> Verdict``. ``subject`` holds the
measurement's metadata row, its observation rows and, when the raw measurement is at hand
(``analyze``, ingest), the measurement dict; ``reprocess`` re-scores from the stored rows only,
so ``subject.raw`` is None there and a scorer should decide from the observations whenever it
can. Build the result with :meth:`Subject.verdict`, which fills the metadata, the rules version
and OONI's ``blocking`` and MAT flags from the outcome/layer/mechanism.

The built-in Web Connectivity scorer registers itself (``web_connectivity``); scorers of other
tests live in ``censorscope.pipeline.scorers`` and are imported by :func:`load_scorers`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from censorscope.model.verdict import Verdict

from .subject import Subject

if TYPE_CHECKING:
    from .context import AnalysisContext

__all__ = ["SCORER_PACKAGES", "Scorer", "load_scorers", "register", "registered", "scorer_for"]

Scorer = Callable[[Subject, "AnalysisContext"], Verdict]

_SCORERS: dict[str, Scorer] = {}

# packages whose modules register scorers on import
SCORER_PACKAGES: Final = ("censorscope.pipeline.analyze.web", "censorscope.pipeline.scorers")


def register(test_name: str) -> Callable[[Scorer], Scorer]:
    """Decorator: ``fn`` scores measurements of ``test_name`` (a later registration wins)."""

    def decorate(fn: Scorer) -> Scorer:
        _SCORERS[test_name] = fn
        return fn

    return decorate


_loaded = False


def load_scorers() -> None:
    """Import the scorer packages once (a missing optional package is skipped)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in SCORER_PACKAGES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise


def scorer_for(test_name: str) -> Scorer | None:
    """The scorer registered for ``test_name``, or None."""
    if not _loaded:  # once per measurement: skip the call when the packages are in
        load_scorers()
    return _SCORERS.get(test_name)


def registered() -> dict[str, Scorer]:
    """A copy of the registry (test name → scorer)."""
    load_scorers()
    return dict(_SCORERS)
