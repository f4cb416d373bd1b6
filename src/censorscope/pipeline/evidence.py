"""Claims: how each kind of evidence statement is worded and how it is checked.

Every :class:`~censorscope.model.evidence.Evidence` a scorer emits is made with :func:`say`,
which renders the sentence from the facts with the claim's template (lists are joined with
", "). Every claim registers a checker (:func:`claim`) that verifies the facts against the
measurement (:class:`Facts`: its rows, the raw dict when at hand, and a look-up of the
measurements cited as context). :func:`check_verdict` runs them over a verdict and its
layers and returns the false statements (empty: every statement is true).

A statement without facts can only be made explicitly, with :func:`unstructured` (claim
``unstructured``), and the checker always reports it: evidence must be data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from censorscope.model.evidence import Evidence, Source
from censorscope.model.rows import MeasurementRow, ObservationRow
from censorscope.model.verdict import Verdict

__all__ = ["CLAIMS", "Claim", "Facts", "check_items", "check_verdict", "claim", "render",
           "say", "unstructured"]

UNSTRUCTURED: Final = "unstructured"

Lookup = Callable[[str], "tuple[MeasurementRow, Sequence[ObservationRow]] | None"]
Checker = Callable[[Evidence, "Facts"], "str | None"]


@dataclass(frozen=True)
class Facts:
    """What a checker may consult: the measurement's rows, its raw dict (None when re-scoring
    stored rows) and ``lookup`` (uid → rows of another measurement, for context claims)."""

    meta: MeasurementRow
    observations: Sequence[ObservationRow]
    raw: Mapping[str, Any] | None = None
    lookup: Lookup | None = None


@dataclass(frozen=True)
class Claim:
    """A kind of statement: its id, sentence template and checker."""

    claim_id: str
    template: str
    check: Checker


CLAIMS: dict[str, Claim] = {}


def claim(claim_id: str, template: str) -> Callable[[Checker], Checker]:
    """Register ``claim_id`` with its sentence ``template`` (``str.format`` fields named after
    the facts) and the decorated checker (returns None when the facts hold, else why not)."""

    def register(check: Checker) -> Checker:
        if claim_id in CLAIMS:
            raise ValueError(f"claim {claim_id!r} registered twice")
        CLAIMS[claim_id] = Claim(claim_id, template, check)
        return check

    return register


_JOINED: Final = (list, tuple, set, frozenset)


def _shown(value: Any) -> Any:
    if isinstance(value, _JOINED):
        return ", ".join([str(v) for v in value])
    return value


def render(template: str, facts: Mapping[str, Any]) -> str:
    """The sentence for ``facts`` (lists joined with ", ")."""
    for v in facts.values():
        if isinstance(v, _JOINED):
            return template.format_map({k: _shown(v) for k, v in facts.items()})
    return template.format_map(facts)


def say(claim_id: str, *, source: Source = "probe", context_uids: Sequence[str] = (),
        context_count: int = 0, **facts: Any) -> Evidence:
    """An evidence item of the registered claim ``claim_id`` stating ``facts``."""
    return Evidence(claim_id, render(CLAIMS[claim_id].template, facts), facts, source,
                    tuple(context_uids), context_count)


def unstructured(text: str) -> Evidence:
    """A sentence without facts (reported by :func:`check_verdict`)."""
    return Evidence(claim=UNSTRUCTURED, text=text)


def check_verdict(verdict: Verdict, facts: Facts) -> list[str]:
    """Every false or uncheckable statement of ``verdict`` (and its layers), as
    ``"<claim>: <why>: <text>"``; empty when all hold."""
    items = list(verdict.evidence) + [e for lv in verdict.layers for e in lv.evidence]
    return [f"{ev.claim}: {why}: {ev.text}" for ev, why in check_items(items, facts)
            if why is not None]


def check_items(items: Sequence[Evidence], facts: Facts
                ) -> list[tuple[Evidence, str | None]]:
    """Each item with why it does not hold (None: it holds), in order."""
    return [(ev, _check_one(ev, facts)) for ev in items]


def _check_one(ev: Evidence, facts: Facts) -> str | None:
    if ev.claim == UNSTRUCTURED:
        return "a statement without facts"
    c = CLAIMS.get(ev.claim)
    if c is None:
        return "unknown claim"
    try:
        rendered = render(c.template, ev.facts)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        return f"the facts do not fill the claim's template ({exc!r})"
    if rendered != ev.text:
        return "the sentence is not the rendering of its facts"
    if ev.source == "context":
        if not ev.context_uids or ev.context_count < len(ev.context_uids):
            return "context without the measurements it came from"
        if facts.lookup is None:
            return "context cannot be checked without a look-up"
        for uid in ev.context_uids:
            other = facts.lookup(uid)
            if other is None:
                return f"cited measurement {uid} is unknown"
            if other[0].probe_asn != facts.meta.probe_asn:
                return f"cited measurement {uid} is from AS{other[0].probe_asn}, not " \
                       f"AS{facts.meta.probe_asn}"
    return c.check(ev, facts)
