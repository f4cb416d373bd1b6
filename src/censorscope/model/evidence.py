"""Evidence as data: one statement under a verdict, with the facts it states.

An :class:`Evidence` item says one thing (its ``claim``: a stable id such as
``tls.handshake_failed``) about one source of facts:

- ``probe``: the measurement's own network events (the probe's DNS, TCP, TLS, HTTP records);
- ``control``: the measurement's control (test helper) answer;
- ``context``: other measurements of the same network (``context_uids`` names some of them,
  ``context_count`` says how many there were in all);
- ``rules``: what the analysis itself knows (fingerprints, bogon ranges, rule tables).

``facts`` holds the JSON values the sentence states (addresses, names, failures, byte counts,
event indices …) and ``text`` is the sentence rendered from them by the claim's template, so
the sentence can never say more than the facts. A checker (``censorscope.pipeline.evidence``)
verifies every fact against the measurement and the cited context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = ["SOURCES", "Evidence", "Source"]

Source = Literal["probe", "control", "context", "rules"]
SOURCES: Final = ("probe", "control", "context", "rules")


@dataclass(frozen=True)
class Evidence:
    """One checkable statement (see the module docstring)."""

    claim: str
    text: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    source: Source = "probe"
    context_uids: tuple[str, ...] = ()
    context_count: int = 0

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown evidence source {self.source!r}")
        if self.source == "context" and self.context_count < len(self.context_uids):
            raise ValueError("context_count is smaller than the number of context_uids")

    def __str__(self) -> str:
        return self.text

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"claim": self.claim, "source": self.source,
                               "text": self.text, "facts": dict(self.facts)}
        if self.source == "context":
            out["context_uids"] = list(self.context_uids)
            out["context_count"] = self.context_count
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Evidence:
        return cls(claim=str(obj["claim"]), text=str(obj["text"]),
                   facts=dict(obj.get("facts") or {}), source=obj.get("source", "probe"),
                   context_uids=tuple(obj.get("context_uids") or ()),
                   context_count=int(obj.get("context_count") or 0))
