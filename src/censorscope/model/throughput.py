"""Throughput of one download from its ``bytes_received_cumulative`` samples, and the
throttling verdict of a target download against a control download.

Pure functions shared by the ``throttling`` experiment (which writes the figures into its test
keys) and its scorer (which recomputes them from the recorded network events to check them).

The *plateau* is a policer's steady rate, estimated robustly:

1. the body phase runs from the first response byte (``first_byte``, counted from the last
   sample before it, or from 0 bytes: the handshake's few kB then count as body) to the last
   sample;
2. its first :data:`WARMUP_SHARE` (a quarter) is left out: TCP slow start, a policer's initial
   burst;
3. the plateau is the median of the rates between every two samples of the rest that are
   at least ``window`` seconds apart (a Theil–Sen slope of the cumulative byte count over
   long pairs: one packet more or less in an interval cannot move it, nor can the lumps of a
   shaper releasing whole GSO segments or a window-limited flow's one flight per round trip;
   a stall lowers it as it lowers what the user gets);
4. with no such pair (a download shorter than the window), the mean rate of the body phase
   (``method`` ``"mean"``).

``cv`` is the coefficient of variation of the rates of consecutive non-overlapping windows
(at least three), OONI's flatness test for a policer (dd-007: below 0.1 at 64/128/256 kbit/s).

The verdict (:func:`judge`): ``throttled`` when the target's plateau is at most
:data:`THROTTLED_RATIO` of the control's (OONI's same-session floor, observatories.md §4.4),
``ok`` from :data:`OK_RATIO` up, ``inconclusive`` between them and whenever a download did not
reach its body. A target body shorter than :data:`MIN_BODY_SECONDS` that completed is ``ok``:
too fast for a policer to be measured (it ran at ≥ size / 1 s) and too short for its rate to be
told from scheduling noise. Without a control: ``throttled`` only for a policer's signature (a
flat plateau, ``cv`` ≤ :data:`FLAT_CV` over ≥ 3 windows, at most :data:`POLICER_MAX_KBPS`),
``ok`` from :data:`FAST_KBPS`, else ``inconclusive``.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = [
    "FAST_KBPS",
    "FLAT_CV",
    "MAX_POINTS",
    "MIN_BODY_SECONDS",
    "OK_RATIO",
    "POLICER_MAX_KBPS",
    "THROTTLED_RATIO",
    "WARMUP_SHARE",
    "BodyRate",
    "Judgement",
    "Plateau",
    "body_rate",
    "first_byte_time",
    "judge",
    "kbps",
    "plateau",
    "rate_from_events",
    "request_and_first_byte",
    "samples_of",
    "window_for",
]

THROTTLED_RATIO: Final = 0.25
OK_RATIO: Final = 0.5
MIN_BODY_SECONDS: Final = 1.0
WARMUP_SHARE: Final = 0.25
FLAT_CV: Final = 0.1
POLICER_MAX_KBPS: Final = 1024.0
FAST_KBPS: Final = 10_000.0
MAX_POINTS: Final = 240  # pairs are quadratic: longer series are thinned evenly

Verdict = Literal["throttled", "ok", "inconclusive"]
BYTES_RECEIVED: Final = "bytes_received_cumulative"


def kbps(bytes_per_second: float | None) -> float | None:
    """Bytes per second as kbit/s (1 kbit = 1000 bit), rounded to 0.1."""

    return None if bytes_per_second is None else round(bytes_per_second * 8 / 1000, 1)


@dataclass(frozen=True)
class Plateau:
    """The steady rate (bytes/s) and how it was found: ``windows`` long pairs of samples
    (``"windows"``) or the body's mean rate (``"mean"``); ``cv`` of the non-overlapping
    window rates (None with fewer than three)."""

    rate: float | None
    method: Literal["windows", "mean", "none"]
    windows: int
    cv: float | None


def _thin(points: list[tuple[float, int]]) -> list[tuple[float, int]]:
    if len(points) <= MAX_POINTS:
        return points
    step = (len(points) - 1) / (MAX_POINTS - 1)
    return [points[round(i * step)] for i in range(MAX_POINTS)]


def _cv(points: list[tuple[float, int]], window: float) -> float | None:
    rates: list[float] = []
    start = points[0]
    for t, b in points[1:]:
        if t - start[0] >= window:
            rates.append((b - start[1]) / (t - start[0]))
            start = (t, b)
    if len(rates) < 3:
        return None
    mean = statistics.fmean(rates)
    return round(statistics.pstdev(rates) / mean, 3) if mean > 0 else None


def plateau(samples: Sequence[tuple[float, int]], first_byte: float | None, *,
            window: float) -> Plateau:
    """The plateau of ``samples`` ((time s, cumulative bytes received), any order) from
    ``first_byte`` on; ``window`` is the shortest span of a pair (seconds)."""

    if first_byte is None:
        return Plateau(None, "none", 0, None)
    ordered = sorted(samples)
    before = [b for t, b in ordered if t < first_byte]
    body = [(first_byte, before[-1] if before else 0)]
    body += [(t, b) for t, b in ordered if t >= first_byte]
    if len(body) < 2 or body[-1][0] <= body[0][0]:
        return Plateau(None, "none", 0, None)
    end = body[-1][0]
    steady_from = first_byte + WARMUP_SHARE * (end - first_byte)
    steady = _thin([p for p in body if p[0] >= steady_from])
    rates = [
        (b2 - b1) / (t2 - t1)
        for i, (t1, b1) in enumerate(steady)
        for t2, b2 in steady[i + 1:]
        if t2 - t1 >= window
    ]
    if not rates:
        mean = (body[-1][1] - body[0][1]) / (end - body[0][0])
        return Plateau(mean, "mean", 0, None)
    return Plateau(statistics.median(rates), "windows", len(rates), _cv(steady, window))


@dataclass(frozen=True)
class BodyRate:
    """What :func:`judge` needs of one download: whether its body started, how long it ran
    (first byte → last sample), whether it got everything, and its plateau."""

    started: bool
    body_seconds: float
    complete: bool
    plateau: Plateau


def body_rate(samples: Sequence[tuple[float, int]], first_byte: float | None, *,
              complete: bool, window: float) -> BodyRate:
    """The :class:`BodyRate` of one download."""

    last = max((t for t, _ in samples), default=None)
    seconds = last - first_byte if first_byte is not None and last is not None else 0.0
    return BodyRate(first_byte is not None, max(seconds, 0.0), complete,
                    plateau(samples, first_byte, window=window))


@dataclass(frozen=True)
class Judgement:
    """The verdict, the ratio of the plateaus (target / control; None without both) and the
    reason in words."""

    verdict: Verdict
    ratio: float | None
    reason: str


def _fast(target: BodyRate) -> bool:
    return target.complete and target.body_seconds < MIN_BODY_SECONDS


def judge(target: BodyRate, control: BodyRate | None) -> Judgement:
    """The throttling verdict of ``target`` against ``control`` (None: no control)."""

    if not target.started:
        return Judgement("inconclusive", None, "the target download got no body byte")
    if control is not None and not control.started:
        return Judgement("inconclusive", None, "the control download got no body byte")
    t_rate = target.plateau.rate
    c_rate = control.plateau.rate if control is not None else None
    ratio = float(f"{t_rate / c_rate:.4g}") if t_rate is not None and c_rate else None
    if _fast(target):
        return Judgement("ok", ratio, f"the target body completed within {MIN_BODY_SECONDS} s")
    if not target.complete and target.body_seconds < MIN_BODY_SECONDS:
        return Judgement("inconclusive", ratio, "the target body ended early and incomplete")
    if control is not None:
        if ratio is None:
            return Judgement("inconclusive", None, "no rate to compare")
        if ratio <= THROTTLED_RATIO:
            return Judgement("throttled", ratio,
                             f"target plateau at most {THROTTLED_RATIO} of the control's")
        if ratio >= OK_RATIO:
            return Judgement("ok", ratio, f"target plateau at least {OK_RATIO} of the control's")
        return Judgement("inconclusive", ratio,
                         f"target plateau between {THROTTLED_RATIO} and {OK_RATIO} of the "
                         "control's")
    rate = kbps(t_rate)
    p = target.plateau
    if rate is not None and p.cv is not None and p.cv <= FLAT_CV and rate <= POLICER_MAX_KBPS:
        return Judgement("throttled", None,
                         f"no control; a flat plateau (cv ≤ {FLAT_CV}) at most "
                         f"{POLICER_MAX_KBPS:g} kbit/s, a policer's signature")
    if rate is not None and rate >= FAST_KBPS:
        return Judgement("ok", None, f"no control; the plateau is at least {FAST_KBPS:g} kbit/s")
    return Judgement("inconclusive", None, "no control and no policer signature")


# --- from recorded network events (OONI's df-008 records) ------------------------------------

def _time(ev: Any) -> float | None:
    t = ev.get("t") if isinstance(ev, Mapping) else None
    return float(t) if isinstance(t, int | float) and not isinstance(t, bool) else None


def samples_of(events: Sequence[Any], transaction_id: int) -> list[tuple[float, int]]:
    """The (t, cumulative bytes) ``bytes_received_cumulative`` samples of
    ``transaction_id`` among ``network_events``."""

    out: list[tuple[float, int]] = []
    for ev in events:
        t = _time(ev)
        if (t is not None and ev.get("operation") == BYTES_RECEIVED
                and ev.get("transaction_id") == transaction_id
                and isinstance(ev.get("num_bytes"), int)):
            out.append((t, int(ev["num_bytes"])))
    return out


def request_and_first_byte(events: Sequence[Any], transaction_id: int
                           ) -> tuple[float | None, float | None]:
    """When the request started (``http_transaction_start``) and the response's first byte
    arrived (the first non-empty ``read`` after it, at the TCP level: under TLS 1.3 a session
    ticket read at that moment would count as the first byte) in ``transaction_id``."""

    started: float | None = None
    for ev in events:
        t = _time(ev)
        if t is None or ev.get("transaction_id") != transaction_id:
            continue
        op = ev.get("operation")
        if op == "http_transaction_start":
            started = t
        elif (started is not None and op == "read" and t >= started
              and isinstance(ev.get("num_bytes"), int) and ev["num_bytes"] > 0):
            return started, t
    return started, None


def first_byte_time(events: Sequence[Any], transaction_id: int) -> float | None:
    """When the response's first byte arrived (:func:`request_and_first_byte`)."""

    return request_and_first_byte(events, transaction_id)[1]


def window_for(sample_interval: float, round_trip: float = 0.0) -> float:
    """The shortest span of a plateau pair: five sample intervals, at least 0.5 s, and at
    least two round trips (``round_trip``: the time to first byte), so that a
    window-limited flow, one flight per round trip, is never measured between flights."""

    return max(0.5, 5 * sample_interval, 2 * round_trip)


def rate_from_events(events: Sequence[Any], transaction_id: int, *, complete: bool,
                     sample_interval: float) -> BodyRate:
    """The :class:`BodyRate` of the download recorded under ``transaction_id`` (window:
    :func:`window_for` with its time to first byte as the round trip)."""

    request, first = request_and_first_byte(events, transaction_id)
    rtt = first - request if first is not None and request is not None else 0.0
    return body_rate(samples_of(events, transaction_id), first, complete=complete,
                     window=window_for(sample_interval, rtt))
