"""Outages: a network (or a country) losing connectivity, told apart by kind.

:func:`find_outages` counts the verdict points per (country, AS) and time bucket
(:mod:`~censorscope.pipeline.detect.outage_buckets`) and walks each network's buckets in time
order. A bucket is

- ``shutdown``: measurements arrive (perhaps uploaded later) but nearly all fail
  (``shutdown_fail_share``) and the control is unreachable (at most ``shutdown_control_share``
  of the measurements that know reached it);
- ``low``: fewer than ``offline_ratio`` of the expected volume arrived
  (:class:`~censorscope.pipeline.detect.volume.VolumeHistory`: median of the same
  hour-of-week, past outages inpainted; weaker fallbacks with little history);
- ``slow``: throttled verdicts (``impaired`` at the ``throttling`` layer) make at least
  ``slow_share`` of the measurements of the targets they hit;
- ``blocking``: measurements blocked while the control answers;
- ``neutral`` (nothing arrived, nothing expected) or normal.

Consecutive ``shutdown``/``low`` buckets (``neutral`` ones bridge) make one episode: a
``shutdown`` outage when it holds at least ``min_shutdown_measurements`` failing measurements
of ``min_shutdown_targets`` targets (``min_shutdown_targets_blind`` when none of them says
whether the control answered: a probe measuring only blocked apps must not look like a
shutdown), else ``probes_offline`` when the volume drop is significant (expected at least
``min_expected``, a quasi-Poisson tail below ``alpha``), else nothing. ``slow`` and
``blocking`` buckets make their own episodes, which buckets that did not measure the affected
targets leave open (``blocking`` is reported only with ``include_blocking``: blocking is the
incidents' business). Start and end are refined from bucket resolution to the first and last
affected measurement (for ``probes_offline``: the last measurement before the silence and the
first after it); an episode still open at the end of the window has no end. A country has an
outage of a kind (``asn`` None) when two or more of its networks have overlapping ones and no
other network of it was measured in that period. Everything is computed from sorted buckets
and points, so the result does not depend on the order of the input.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from censorscope.model.detection import OUTAGE_KINDS, Outage, OutageKind, VerdictPoint

from .outage_buckets import (
    BucketCounts,
    Grid,
    NetworkBuckets,
    count_buckets,
    is_throttled,
    naive_utc,
    order,
    proves_path,
    target_of,
)
from .volume import TIER_WEIGHT, BaselineParams, VolumeHistory, estimate_noise, poisson_cdf

__all__ = ["DETECTOR", "OutageParams", "find_outages"]

DETECTOR: Final = "cs-outages-1"

_State = Literal["shutdown", "low", "slow", "blocking", "neutral", "normal"]


@dataclass(frozen=True)
class OutageParams:
    """The outage detector's parameters (defaults documented in ``docs/detection.md``)."""

    bucket: timedelta = timedelta(hours=1)
    offline_ratio: float = 0.25
    min_expected: float = 6.0
    alpha: float = 1e-6
    shutdown_fail_share: float = 0.9
    shutdown_control_share: float = 0.1
    min_shutdown_measurements: int = 3
    min_shutdown_targets: int = 2
    min_shutdown_targets_blind: int = 4  # when no measurement says whether the control answered
    slow_share: float = 0.5
    min_slow: int = 3
    min_blocked: int = 2
    include_blocking: bool = False
    max_offline: timedelta = timedelta(days=7)
    max_evidence: int = 10
    baseline: BaselineParams = field(default_factory=BaselineParams)


@dataclass
class _Step:
    b: int
    state: _State
    counts: BucketCounts | None
    base: float | None  # the predicted count of a whole bucket
    tier: str | None
    lam: float | None  # the prediction for the covered part of the bucket
    samples: int = 0  # the past buckets the prediction is the median of

    @property
    def n(self) -> int:
        return self.counts.n if self.counts else 0


_CORE: Final = {"down": ("shutdown", "low"), "slow": ("slow",), "blocking": ("blocking",)}


@dataclass
class _Run:
    """An episode: consecutive buckets of one track (``down``, ``slow``, ``blocking``)."""

    track: str
    steps: list[_Step]
    worked_before: bool
    targets: set[str] = field(default_factory=set)  # throttled / blocked so far
    speed_tests: set[str] = field(default_factory=set)  # the tests that saw the throttling

    def add(self, step: _Step) -> None:
        self.steps.append(step)
        column = {"slow": 2, "blocking": 3}.get(self.track)
        if step.counts and column:
            self.targets.update(t for t, row in step.counts.targets.items() if row[column])
        if step.counts and self.track == "slow":
            self.speed_tests.update(p.test_name for p in step.counts.points if is_throttled(p))

    def bridges(self, step: _Step) -> bool:
        """Whether a bucket of another state leaves a slow/blocking episode open: none of the
        targets throttled/blocked so far worked (unthrottled) in it."""
        if self.track == "down" or step.state == "shutdown":
            return False
        if step.counts is None:
            return True
        if self.track == "slow":
            # only a test that saw the throttling can show a target unthrottled: a page that
            # loaded in a test that does not time its download says nothing about its speed
            return not any(pt.test_name in self.speed_tests and pt.outcome == "ok"
                           and target_of(pt) in self.targets
                           for pt in step.counts.points)
        rows = [row for t, row in step.counts.targets.items() if t in self.targets]
        return not any(row[1] for row in rows)

    def counts(self, *states: str) -> list[BucketCounts]:
        return [s.counts for s in self.steps if s.counts and (not states or s.state in states)]


@dataclass
class _Context:
    cc: str
    asn: int | None
    buckets: NetworkBuckets
    grid: Grid
    params: OutageParams
    aware: bool

    def time(self, t: datetime) -> datetime:
        t = naive_utc(t)
        return t.replace(tzinfo=UTC) if self.aware else t


def _r(x: float) -> float:
    return round(x, 4)


def _classify(c: BucketCounts | None, lam: float | None, p: OutageParams) -> _State:
    n = c.n if c else 0
    if c and n:
        ctrl = c.ctrl_ok / c.ctrl_known if c.ctrl_known else None
        if c.failed - c.answered >= p.shutdown_fail_share * n and (
                ctrl is None or ctrl <= p.shutdown_control_share):
            return "shutdown"
    if lam is not None and lam > 0 and n < p.offline_ratio * lam:
        return "low"
    if c is None or not n:
        return "neutral"
    if c.throttled:
        hit = sum(row[0] for row in c.targets.values() if row[2])
        if c.throttled >= p.slow_share * hit:
            return "slow"
    if c.blocked and (not c.ctrl_known or c.ctrl_ok >= 0.5 * c.ctrl_known):
        return "blocking"
    return "normal"


def find_outages(points: Iterable[VerdictPoint], params: OutageParams | None = None, *,
                 until: datetime | None = None) -> list[Outage]:
    """The outages in ``points`` (one verdict point per measurement, any order).

    ``until`` is the end of the observed window (default: the latest measurement): a
    network silent up to it is offline (ongoing). Sorted by country, AS (the country's own
    outages first), start and kind."""
    p = params or OutageParams()
    grid = Grid(p.bucket)
    nets = count_buckets(points, grid)
    if not nets:
        return []
    sample = next(iter(next(iter(nets.values())).values())).points[0]
    aware = sample.measurement_start_time.tzinfo is not None
    end = naive_utc(until) if until is not None else max(
        max(naive_utc(pt.measurement_start_time) for pt in net[max(net)].points)
        for net in nets.values())
    last_b = grid.of(end)
    frac = grid.covered(last_b, end)
    out: list[Outage] = []
    by_cc: dict[str, dict[int, tuple[NetworkBuckets, list[Outage]]]] = {}
    for (cc, asn), net in sorted(nets.items()):
        found = _scan(_Context(cc, asn, net, grid, p, aware), last_b, frac)
        by_cc.setdefault(cc, {})[asn] = (net, found)
        out.extend(found)
    for cc, members in sorted(by_cc.items()):
        out.extend(_national(cc, members, grid, p))
    out.sort(key=lambda o: (o.cc, -1 if o.asn is None else o.asn, naive_utc(o.start), o.kind))
    return out


def _measured(net: NetworkBuckets, grid: Grid, start: datetime, end: datetime | None) -> bool:
    """Whether the network has a measurement in [start, end] (end None: to the end)."""
    lo = grid.of(start)
    hi = max(net) if end is None else grid.of(end)
    for b in range(lo, min(hi, max(net)) + 1):
        c = net.get(b)
        if c and any(start <= naive_utc(pt.measurement_start_time) and (
                end is None or naive_utc(pt.measurement_start_time) <= end) for pt in c.points):
            return True
    return False


def _national(cc: str, members: dict[int, tuple[NetworkBuckets, list[Outage]]], grid: Grid,
              p: OutageParams) -> list[Outage]:
    """The country's outages: periods when every network measured in them has an outage of
    the same kind (two networks at least); start and end span theirs."""
    if len(members) < 2:
        return []
    out: list[Outage] = []
    for kind in OUTAGE_KINDS:
        spans = sorted(((naive_utc(o.start), None if o.end is None else naive_utc(o.end), o)
                        for _, found in members.values() for o in found if o.kind == kind),
                       key=lambda x: (x[0], x[2].asn or 0))
        groups: list[list[tuple[datetime, datetime | None, Outage]]] = []
        for span in spans:
            last_end = None if not groups else _latest(groups[-1])
            if groups and (last_end is None or span[0] <= last_end):
                groups[-1].append(span)
            else:
                groups.append([span])
        for group in groups:
            start, end = group[0][0], _latest(group)
            affected = sorted({o.asn for _, _, o in group if o.asn is not None})
            quiet = all(_measured(net, grid, start, end) is False
                        for asn, (net, _) in members.items() if asn not in affected)
            if len(affected) < 2 or not quiet:
                continue
            first = min((o for _, _, o in group), key=lambda o: (naive_utc(o.start), o.asn))
            last = None if end is None else next(o for _, e, o in group if e == end)
            evidence = tuple(dict.fromkeys(u for _, _, o in group for u in o.evidence[:2]))
            facts = {"networks": affected,
                     "network_outages": sorted(o.id for _, _, o in group),
                     "measurements": sum(o.facts.get("measurements", 0) for _, _, o in group)}
            out.append(Outage(
                cc=cc, asn=None, kind=kind, start=first.start,
                end=None if last is None else last.end,
                confidence=min(o.confidence for _, _, o in group), facts=facts,
                evidence=evidence[:p.max_evidence], detector=DETECTOR))
    return out


def _latest(group: list[tuple[datetime, datetime | None, Outage]]) -> datetime | None:
    ends = [e for _, e, _ in group]
    return None if None in ends else max(e for e in ends if e is not None)


def _scan(ctx: _Context, last_b: int, last_frac: float) -> list[Outage]:
    p, buckets = ctx.params, ctx.buckets
    first = min(buckets)
    if first > last_b:
        return []
    hist = VolumeHistory(first, ctx.grid.per_day, p.baseline)
    max_low = max(1, math.ceil(p.max_offline / p.bucket))
    runs: dict[str, _Run] = {}
    out: list[Outage] = []
    worked = False

    def close(track: str, ongoing: bool) -> None:
        run = runs.pop(track)
        while run.steps and run.steps[-1].state not in _CORE[track]:
            run.steps.pop()
        outage = _conclude(ctx, run, hist, ongoing)
        if outage is not None:
            out.append(outage)

    for b in range(first, last_b + 1):
        c = buckets.get(b)
        frac = last_frac if b == last_b else 1.0
        pred = hist.expected(b)
        base, tier, samples = pred if pred else (None, None, 0)
        lam = base * frac if base is not None else None
        step = _Step(b, _classify(c, lam, p), c, base, tier, lam, samples)
        track = {"shutdown": "down", "low": "down"}.get(step.state, step.state)
        if track == "blocking" and not p.include_blocking:
            track = "normal"  # not reported: not tracked either
        for name in [t for t in runs if t != track]:
            if step.state == "neutral" or runs[name].bridges(step):
                runs[name].steps.append(step)
            else:
                close(name, ongoing=False)
        if track in _CORE:
            run = runs.setdefault(track, _Run(track, [], worked))
            run.add(step)
        if track == "down":
            hist.set(b, None)  # undecided until the episode closes
            down = runs["down"]
            if not down.counts("shutdown") and len(down.steps) >= max_low:
                close("down", ongoing=False)
                hist.reset(b + 1)  # a week of silence: the new normal
        else:
            hist.set(b, float(step.n))
            if lam is not None and step.state != "neutral":
                hist.observe(step.n, lam, samples)
        hist.arrived(b, step.n > 0 or track == "down")
        worked = worked or bool(c and c.work)
    for name in sorted(runs):
        close(name, ongoing=True)
    return out


def _conclude(ctx: _Context, run: _Run, hist: VolumeHistory, ongoing: bool) -> Outage | None:
    """The outage an episode makes (or None), inpainting its buckets' history."""
    if not run.steps:
        return None
    if run.track == "down":
        outage = _shutdown(ctx, run, ongoing) or _offline(ctx, run, hist, ongoing)
        for s in run.steps:
            keep = outage is not None and s.base is not None
            hist.set(s.b, s.base if keep else float(s.n))
        return outage
    if run.track == "slow":
        return _slow(ctx, run, ongoing)
    if run.track == "blocking" and ctx.params.include_blocking:
        return _blocking(ctx, run, ongoing)
    return None


def _volume_facts(run: _Run) -> dict[str, Any]:
    steps = [s for s in run.steps if s.lam is not None]
    lam = sum(s.lam or 0.0 for s in steps)
    got = sum(s.n for s in steps)
    tiers = sorted({s.tier for s in steps if s.tier})
    return {"expected": _r(lam) if steps else None,
            "volume_ratio": _r(got / lam) if lam > 0 else None,
            "baseline": tiers[0] if len(tiers) == 1 else tiers or None}


def _common(ctx: _Context, run: _Run) -> dict[str, Any]:
    counts = run.counts()
    facts: dict[str, Any] = {
        "bucket_seconds": ctx.grid.seconds,
        "buckets": len(run.steps),
        "measurements": sum(c.n for c in counts),
    }
    return facts


def _pick(points: list[VerdictPoint], k: int) -> tuple[str, ...]:
    """Up to ``k`` uids: the first and the last of time-ordered ``points``."""
    if len(points) > k:
        points = points[: k - k // 2] + points[len(points) - k // 2:]
    return tuple(pt.measurement_uid for pt in points)


def _targets(counts: list[BucketCounts]) -> dict[str, list[int]]:
    merged: dict[str, list[int]] = {}
    for c in counts:
        for t, row in c.targets.items():
            mine = merged.setdefault(t, [0, 0, 0, 0])
            for i, v in enumerate(row):
                mine[i] += v
    return merged


def _availability(targets: dict[str, list[int]]) -> dict[str, float]:
    """Per-service availability: the share of a service's measurements that worked."""
    return {t.split(":", 1)[1]: _r(row[1] / row[0])
            for t, row in sorted(targets.items()) if t.startswith("service:") and row[0]}


def _outage(ctx: _Context, kind: OutageKind, start: datetime, end: datetime | None,
            confidence: float, facts: dict[str, Any], evidence: tuple[str, ...]) -> Outage:
    return Outage(cc=ctx.cc, asn=ctx.asn, kind=kind, start=ctx.time(start),
                  end=None if end is None else ctx.time(end),
                  confidence=_r(min(1.0, max(0.0, confidence))), facts=facts,
                  evidence=evidence, detector=DETECTOR)


def _neighbour(ctx: _Context, b: int) -> list[VerdictPoint]:
    c = ctx.buckets.get(b)
    return c.sorted_points() if c else []


def _silence_start(ctx: _Context, run: _Run) -> tuple[datetime, VerdictPoint | None]:
    """Bucket resolution, refined to the last measurement that arrived before the run."""
    b = run.steps[0].b
    before = _neighbour(ctx, b - 1)
    if before:
        return order(before[-1])[0], before[-1]
    return ctx.grid.start(b), None


def _silence_end(ctx: _Context, run: _Run) -> tuple[datetime, VerdictPoint | None]:
    b = run.steps[-1].b + 1
    after = _neighbour(ctx, b)
    if after:
        return order(after[0])[0], after[0]
    return ctx.grid.start(b), None


def _is_failed(pt: VerdictPoint) -> bool:
    """A failure a shutdown explains (not one that proves the path works: ``proves_path``)."""
    return pt.outcome in ("blocked", "down", "insufficient") and not proves_path(pt)


def _shutdown(ctx: _Context, run: _Run, ongoing: bool) -> Outage | None:
    p = ctx.params
    shut = run.counts("shutdown")
    targets = _targets(shut)
    failing = sorted(t for t, row in targets.items() if not row[1])
    affected = sorted((pt for c in shut for pt in c.points if _is_failed(pt)), key=order)
    blind = not any(c.ctrl_known for c in shut)
    least = p.min_shutdown_targets_blind if blind else p.min_shutdown_targets
    if len(affected) < p.min_shutdown_measurements or len(failing) < least:
        return None
    # refine: the failures right before the first shutdown bucket (after the last success),
    # and right after the last one (before the first success)
    before = _neighbour(ctx, run.steps[0].b - 1)
    lead: list[VerdictPoint] = []
    for pt in reversed(before):
        if not _is_failed(pt):
            break
        lead.insert(0, pt)
    after = _neighbour(ctx, run.steps[-1].b + 1)
    tail: list[VerdictPoint] = []
    for pt in after:
        if not _is_failed(pt):
            break
        tail.append(pt)
    first_ok_after = next((pt for pt in after if not _is_failed(pt)), None)
    last_ok_before = next((pt for pt in reversed(before) if not _is_failed(pt)), None)
    if run.steps[0].state == "low":
        start = _silence_start(ctx, run)[0]
    else:
        start = order((lead or affected)[0])[0]
    end: datetime | None
    if ongoing:
        end = None
    elif run.steps[-1].state == "low":
        end = _silence_end(ctx, run)[0]
    else:
        end = order((tail or affected)[-1])[0]
    counts = run.counts()
    n = sum(c.n for c in counts)
    failed = sum(c.failed for c in counts)
    known = sum(c.ctrl_known for c in counts)
    reached = sum(c.ctrl_ok for c in counts)
    all_targets = _targets(counts)
    facts = _common(ctx, run) | _volume_facts(run) | {
        "affected": len(affected) + len(lead) + len(tail),
        "failing_share": _r(failed / n),
        "control_known": known,
        "control_reachable_share": _r(reached / known) if known else None,
        "targets_measured": len(all_targets),
        "targets_working": sum(1 for row in all_targets.values() if row[1]),
        "service_availability": _availability(all_targets),
        "last_ok_before_uid": last_ok_before.measurement_uid if last_ok_before else None,
        "first_ok_after_uid": first_ok_after.measurement_uid if first_ok_after else None,
    }
    confidence = ((1 - math.exp(-len(affected) / 5))
                  * math.sqrt(min(1.0, len(failing) / 5))
                  * ((1 - reached / known) if known else 0.6)
                  * (failed / n)
                  * (1.0 if run.worked_before else 0.8))
    evidence = _pick(lead + affected + tail, p.max_evidence)
    return _outage(ctx, "shutdown", start, end, confidence, facts, evidence)


def _offline(ctx: _Context, run: _Run, hist: VolumeHistory, ongoing: bool) -> Outage | None:
    p = ctx.params
    steps = [s for s in run.steps if s.lam is not None]
    lam = sum(s.lam or 0.0 for s in steps)
    got = sum(s.n for s in steps)
    phi = hist.dispersion * estimate_noise(min(s.samples for s in steps)) if steps else 1.0
    p_value = poisson_cdf(got / phi, lam / phi)
    if lam < p.min_expected or got >= p.offline_ratio * lam or p_value >= p.alpha:
        return None
    start, last_before = _silence_start(ctx, run)
    end_at, first_after = _silence_end(ctx, run)
    weight = sum((s.lam or 0.0) * TIER_WEIGHT[s.tier or "recent"] for s in steps) / lam
    significance = min(1.0, -math.log10(max(p_value, 1e-300)) / 10)
    facts = _common(ctx, run) | _volume_facts(run) | {
        "p_value": float(f"{p_value:.3g}"),
        "dispersion": _r(phi),
        "last_before_uid": last_before.measurement_uid if last_before else None,
        "first_after_uid": None if ongoing or not first_after else first_after.measurement_uid,
    }
    evidence = tuple(pt.measurement_uid for pt in (last_before, first_after)
                     if pt is not None and not (ongoing and pt is first_after))
    return _outage(ctx, "probes_offline", start, None if ongoing else end_at,
                   weight * significance * (1 - got / lam), facts, evidence)


def _slow(ctx: _Context, run: _Run, ongoing: bool) -> Outage | None:
    counts = run.counts("slow")
    hit = sorted((pt for c in counts for pt in c.points if is_throttled(pt)), key=order)
    if len(hit) < ctx.params.min_slow:
        return None
    targets = _targets(counts)
    throttled = {t: row for t, row in targets.items() if row[2]}
    share = len(hit) / sum(row[0] for row in throttled.values())
    facts = _common(ctx, run) | {
        "throttled": len(hit),
        "throttled_share": _r(share),
        "throttled_targets": sorted(throttled),
        "mechanisms": sorted({pt.mechanism for pt in hit if pt.mechanism}),
        "service_availability": _availability(targets),
    }
    confidence = (1 - math.exp(-len(hit) / 4)) * share
    return _outage(ctx, "slow", order(hit[0])[0], None if ongoing else order(hit[-1])[0],
                   confidence, facts, _pick(hit, ctx.params.max_evidence))


def _blocking(ctx: _Context, run: _Run, ongoing: bool) -> Outage | None:
    counts = run.counts("blocking")
    hit = sorted((pt for c in counts for pt in c.points if pt.outcome == "blocked"), key=order)
    if len(hit) < ctx.params.min_blocked:
        return None
    targets = _targets(counts)
    blocked = sorted(t for t, row in targets.items() if row[3])
    n = sum(c.n for c in counts)
    facts = _common(ctx, run) | {
        "blocked": len(hit),
        "failing_share": _r(len(hit) / n),
        "blocked_targets": blocked,
        "targets_working": sum(1 for row in targets.values() if row[1]),
        "service_availability": _availability(targets),
    }
    confidence = (1 - math.exp(-len(hit) / 4)) * (1 - len(blocked) / len(targets) / 2)
    return _outage(ctx, "blocking", order(hit[0])[0], None if ongoing else order(hit[-1])[0],
                   confidence, facts, _pick(hit, ctx.params.max_evidence))
