"""The lab clock: the scenario time of a lab, so minutes of lab time read like the days of a case.

A lab scenario's phases may carry the real date the phase began in the case (``starts_at``) and a
``clock_rate`` (scenario seconds per real second). Each time the lab switches phase it appends a
:class:`ClockAnchor` — (real time, scenario time, phase) — to its :class:`LabClock`, kept in the
lab's ``clock.json``. A probe running in the lab maps a real time to scenario time with
:meth:`LabClock.at`: the last anchor at or before it, plus the real seconds since then times the
rate, held below the start of the next phase of the case (``until``), so several rounds of
measurements inside one phase spread over its scenario time and never run into the next one.

A phase without ``starts_at`` continues the clock from where it stands. Switching back to an
earlier phase puts the clock back to that phase's date. Pure data and arithmetic, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["DEFAULT_RATE", "ClockAnchor", "LabClock"]

DEFAULT_RATE = 60.0

# A scenario time held below the next phase's start stays this far before it.
_MARGIN = timedelta(seconds=1)


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _parse(text: str) -> datetime:
    return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def _iso(t: datetime) -> str:
    return _utc(t).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ClockAnchor:
    """At real time ``real`` (epoch seconds) the lab entered ``phase``, whose scenario time was
    ``scenario``; ``until`` is when the next phase of the case begins (None: open-ended)."""

    real: float
    scenario: datetime
    phase: str
    until: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"real": self.real, "real_iso": _iso(datetime.fromtimestamp(self.real, UTC)),
                "scenario": _iso(self.scenario), "phase": self.phase,
                "until": None if self.until is None else _iso(self.until)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ClockAnchor:
        until = d.get("until")
        return cls(real=float(d["real"]), scenario=_parse(str(d["scenario"])),
                   phase=str(d["phase"]), until=None if until is None else _parse(str(until)))


@dataclass(frozen=True)
class LabClock:
    """The scenario clock of one lab: its rate and the phase switches so far (oldest first)."""

    scenario: str
    rate: float = DEFAULT_RATE
    anchors: tuple[ClockAnchor, ...] = ()

    @property
    def phase(self) -> str | None:
        return self.anchors[-1].phase if self.anchors else None

    def anchor_for(self, real: float) -> ClockAnchor | None:
        """The anchor in force at ``real``: the last one switched at or before it (whole
        seconds, as measurements record their start time), else the first."""

        if not self.anchors:
            return None
        chosen = self.anchors[0]
        for anchor in self.anchors:
            if math.floor(anchor.real) <= real:
                chosen = anchor
        return chosen

    def at(self, real: datetime | float) -> datetime:
        """The scenario time at real time ``real`` (a datetime, naive = UTC, or epoch seconds).

        Never before the anchor's own scenario time, and held one second below the next phase's
        start (``until``). Without anchors the real time itself.
        """

        t = real if isinstance(real, float | int) else _utc(real).timestamp()
        anchor = self.anchor_for(float(t))
        if anchor is None:
            return datetime.fromtimestamp(float(t), UTC)
        elapsed = max(0.0, float(t) - anchor.real) * self.rate
        scen = anchor.scenario + timedelta(seconds=elapsed)
        if anchor.until is not None and scen >= anchor.until:
            scen = max(anchor.scenario, anchor.until - _MARGIN)
        return scen

    def switched(self, phase: str, real: float, starts_at: datetime | None,
                 until: datetime | None) -> LabClock:
        """This clock after switching to ``phase`` at ``real``: at ``starts_at`` if the phase
        has a date, else where the clock stands (the scenario's start if it never ran)."""

        if starts_at is not None:
            scen = _utc(starts_at)
        elif self.anchors:
            scen = self.at(real)
        else:
            scen = datetime.fromtimestamp(real, UTC)
        if until is not None and _utc(until) <= scen:
            until = None
        anchor = ClockAnchor(real=real, scenario=scen, phase=phase,
                             until=None if until is None else _utc(until))
        return LabClock(self.scenario, self.rate, (*self.anchors, anchor))

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "rate": self.rate,
                "anchors": [a.to_json() for a in self.anchors]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LabClock:
        """Read :meth:`to_json`'s shape; ``ValueError``/``KeyError``/``TypeError`` if broken."""

        rate = float(d.get("rate", DEFAULT_RATE))
        if not rate > 0:
            raise ValueError(f"lab clock rate must be positive, not {rate}")
        anchors = tuple(ClockAnchor.from_json(a) for a in d.get("anchors") or ())
        return cls(scenario=str(d["scenario"]), rate=rate, anchors=anchors)
