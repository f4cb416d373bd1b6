"""An incident or an outage as the alerts see it: an :class:`Episode`.

An episode has a *subject* — what stays the same across detection runs and across the
episodes of one flapping story: ``(country, target)`` for an incident, ``(country, AS,
kind)`` for an outage — and the facts whose change is material: its scope and its networks.

Episodes are built from the events' JSON (``to_json()``, which is also what the store keeps
and ``censorscope incidents --format json`` prints), so alerts read the store's detection
tables and the model objects alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from censorscope.model.detection import Incident, Outage

__all__ = ["EPISODE_KINDS", "Episode", "EpisodeKind", "episodes", "from_incident",
           "from_json", "from_outage", "parse_time"]

EpisodeKind = Literal["incident", "outage"]
EPISODE_KINDS: Final = ("incident", "outage")


@dataclass(frozen=True)
class Episode:
    """One incident or outage of the current detection.

    ``asns`` are the networks affected (an outage: its AS, none for a country-wide one);
    ``scope`` the incident's scope (None for an outage); ``evidence`` the measurement uids a
    person can open; ``payload`` the event's ``to_json()``.
    """

    kind: EpisodeKind
    id: str
    subject: str
    start: datetime
    end: datetime | None
    scope: str | None
    asns: frozenset[int]
    title: str
    evidence: tuple[str, ...]
    payload: dict[str, Any]


def parse_time(text: str | None) -> datetime | None:
    """ISO-8601 (``…Z`` or with an offset) → naive UTC; None stays None."""
    if text is None:
        return None
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo is None else t.astimezone(UTC).replace(tzinfo=None)


def _unique(items: Iterable[Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(i) for i in items if i))


def from_json(kind: EpisodeKind, d: dict[str, Any]) -> Episode:
    """The episode of an incident's or outage's JSON; ValueError when a field is missing."""
    try:
        start = parse_time(d["start"])
        if start is None:
            raise ValueError("no start")
        if kind == "incident":
            networks = d.get("networks", [])
            scope = str(d["scope"])
            title = d.get("title") or (
                f"{d['target']} blocked in {d['cc']} ({scope.replace('_', ' ')})")
            evidence = _unique([*d.get("evidence", []),
                                *(n.get("first_blocked_uid") for n in networks),
                                *(n.get("last_clean_uid") for n in networks)])
            return Episode("incident", str(d["id"]), f"{d['cc']}|{d['target']}", start,
                           parse_time(d.get("end")), scope,
                           frozenset(int(n["asn"]) for n in networks), title, evidence, d)
        asn = d.get("asn")
        where = d["cc"] if asn is None else f"AS{asn} ({d['cc']})"
        return Episode("outage", str(d["id"]),
                       f"{d['cc']}|{'*' if asn is None else asn}|{d['kind']}", start,
                       parse_time(d.get("end")), None,
                       frozenset(() if asn is None else (int(asn),)),
                       f"{str(d['kind']).replace('_', ' ')} in {where}",
                       _unique(d.get("evidence", [])), d)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{kind} {d.get('id', '?')}: missing or bad field {exc}") from None


def from_incident(incident: Incident) -> Episode:
    return from_json("incident", incident.to_json())


def from_outage(outage: Outage) -> Episode:
    return from_json("outage", outage.to_json())


def episodes(incidents: Iterable[Incident], outages: Iterable[Outage]) -> list[Episode]:
    """The episodes of a detection's objects."""
    return [from_incident(i) for i in incidents] + [from_outage(o) for o in outages]
