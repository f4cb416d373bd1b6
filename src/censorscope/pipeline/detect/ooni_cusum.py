"""OONI's event detector (ooni/data ``analysis/detector.py``) as a baseline for comparison.

A two-sided CUSUM after Basseville (1993, §2.2.5) as OONI's published parameters define it
(``docs/detection.md`` quotes them; the source is the OONI backend reference, §2.7):

- the series is hourly: an hour's signal ``y`` is the **median** of its measurements' blocked
  values (here 1 for ``blocked``/``impaired``, 0 for ``ok``; other outcomes are skipped), an
  hour without measurements is skipped (weight 0);
- ``mu_0 = 0`` (ok), ``mu_1 = 0.7`` (blocked), ``v = mu_1 - mu_0``, ``h = edd * v / 2`` with
  ``edd = 10`` (h = 3.5);
- in the ok state ``s_pos = max(0, s_pos + (y - mu_0) - v/2)``, crossing ``h`` is an onset;
  in the blocked state ``s_neg = max(0, s_neg - (y - mu_1) - v/2)``, crossing ``h`` an offset;
  in the initial unknown state both run and a crossing sets the state silently;
- after a gap of more than 24 hours both sums are multiplied by ``0.5 ** (gap_h / 48)``.

The change is reported at the hour whose signal crossed ``h`` (OONI stores that hour's
``ts``): here its first measurement (the first blocked one for an onset, the first clean one
for an offset, else the hour's first). Sums restart at 0 after a crossing. OONI gives no
confidence; 1.0 is reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import median
from typing import Final

from censorscope.model.detection import ChangePoint, SeriesKey, VerdictPoint

from .changepoints import Change
from .series import ordered_points, readings

__all__ = ["DETECTOR", "OONI_PARAMS", "OoniParams", "ooni_changes", "ooni_cusum"]

DETECTOR: Final = "ooni-cusum-edd10"


@dataclass(frozen=True)
class OoniParams:
    """OONI's published parameters."""

    mu0: float = 0.0
    mu1: float = 0.7
    edd: float = 10.0
    gap_hours: float = 24.0
    decay_hours: float = 48.0

    @property
    def h(self) -> float:
        return self.edd * (self.mu1 - self.mu0) / 2.0


OONI_PARAMS: Final = OoniParams()


_EPOCH: Final = datetime(1970, 1, 1)


def _hour(t: datetime) -> int:
    """Hours since the epoch (naive datetimes are UTC)."""
    if t.tzinfo is not None:
        t = t.astimezone(UTC).replace(tzinfo=None)
    return int((t - _EPOCH).total_seconds() // 3600)


def _hours(times: Sequence[datetime]) -> list[tuple[int, int, int]]:
    """``(hour number, first index, end index)`` of each non-empty hour, in order."""
    out: list[tuple[int, int, int]] = []
    for i, t in enumerate(times):
        hour = _hour(t)
        if out and out[-1][0] == hour:
            out[-1] = (hour, out[-1][1], i + 1)
        else:
            out.append((hour, i, i + 1))
    return out


def ooni_changes(times: Sequence[datetime], bits: Sequence[int],
                 params: OoniParams = OONI_PARAMS) -> list[Change]:
    """The changes OONI's CUSUM reports over time-ordered ``bits`` (1: blocked) taken at
    ``times``; ``index`` is the reported measurement, ``alarm`` the hour's last one."""
    v = params.mu1 - params.mu0
    h = params.h
    state = 0  # 0 unknown, 1 ok, 2 blocked
    s_pos = s_neg = 0.0
    last_hour: int | None = None
    out: list[Change] = []
    for hour, lo, hi in _hours(times):
        if last_hour is not None and hour - last_hour > params.gap_hours:
            decay = 0.5 ** ((hour - last_hour) / params.decay_hours)
            s_pos *= decay
            s_neg *= decay
        last_hour = hour
        y = float(median(bits[lo:hi]))
        if state in (0, 1):
            s_pos = max(0.0, s_pos + (y - params.mu0) - v / 2)
        if state in (0, 2):
            s_neg = max(0.0, s_neg - (y - params.mu1) - v / 2)
        if state != 2 and s_pos > h:
            if state == 1:
                at = next((i for i in range(lo, hi) if bits[i]), lo)
                out.append(Change("onset", at, hi - 1, s_pos, 1.0))
            state, s_pos, s_neg = 2, 0.0, 0.0
        elif state != 1 and s_neg > h:
            if state == 2:
                at = next((i for i in range(lo, hi) if not bits[i]), lo)
                out.append(Change("offset", at, hi - 1, s_neg, 1.0))
            state, s_pos, s_neg = 1, 0.0, 0.0
    return out


def ooni_cusum(key: SeriesKey, points: Iterable[VerdictPoint],
               params: OoniParams = OONI_PARAMS) -> list[ChangePoint]:
    """OONI's change points of the series ``key`` made of ``points`` (any order)."""
    read, bits = readings(key, ordered_points(points))
    changes = ooni_changes([p.measurement_start_time for p in read], bits, params)
    out: list[ChangePoint] = []
    for c in changes:
        first = read[c.index]
        before = read[c.index - 1] if c.index else None
        out.append(ChangePoint(
            key=key, kind=c.kind, at=first.measurement_start_time, first_uid=first.measurement_uid,
            last_before_uid=None if before is None else before.measurement_uid,
            last_before_at=None if before is None else before.measurement_start_time,
            confidence=1.0, detector=DETECTOR))
    return out
