"""Find which of many literal strings occur in a text, in one pass when possible.

With ``pyahocorasick`` installed the literals are compiled into one Aho-Corasick automaton
(one C-level pass over the text whatever the number of patterns); without it each literal is
looked for with ``in`` (CPython's fast search), which gives the same answers, only slower.
:func:`regex_literal` turns a regex that is really a literal (``fortinet\\.net``) into that
literal, so most Censored Planet signatures take the fast path too.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import Any, Final

try:  # optional accelerator
    import ahocorasick as _aho
except ImportError:  # pragma: no cover - depends on the environment
    _aho = None

__all__ = ["HAVE_AUTOMATON", "LiteralSet", "regex_literal"]

HAVE_AUTOMATON: Final = _aho is not None
_META: Final = frozenset(".^$*+?{}[]|()")
_second: Final = itemgetter(1)  # (end index, value) → value


def regex_literal(pattern: str) -> str | None:
    """The literal a regex matches if it has no operators (escaped punctuation is allowed),
    else None. ``a\\.b`` → ``a.b``; ``a.*b``, ``\\d``, ``x?`` → None."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= len(pattern):
                return None
            nxt = pattern[i + 1]
            if nxt.isalnum() or nxt == "_":
                return None
            out.append(nxt)
            i += 2
            continue
        if ch in _META:
            return None
        out.append(ch)
        i += 1
    return "".join(out) or None


class LiteralSet:
    """A set of literal strings; :meth:`find` returns those occurring in a text."""

    def __init__(self, literals: Iterable[str], *, automaton: bool = True) -> None:
        self.literals: tuple[str, ...] = tuple(sorted({lit for lit in literals if lit}))
        self._automaton: Any = None
        if automaton and _aho is not None and self.literals:
            auto = _aho.Automaton()
            for lit in self.literals:
                auto.add_word(lit, lit)
            auto.make_automaton()
            self._automaton = auto

    @property
    def uses_automaton(self) -> bool:
        """True when matching runs on the Aho-Corasick automaton."""
        return self._automaton is not None

    def find(self, text: str) -> set[str]:
        """The literals that occur in ``text``."""
        if not text or not self.literals:
            return set()
        if self._automaton is not None:
            return set(map(_second, self._automaton.iter(text)))
        return {lit for lit in self.literals if lit in text}
