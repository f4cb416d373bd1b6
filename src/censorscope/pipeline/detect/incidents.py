"""Change points clustered into incidents: one per (country, target, episode).

A national block of one service shows up as change points in hundreds of series — every
network, every domain of the service's endpoint set, the layer-any series and the series of
the blocked layer. :func:`cluster_incidents` tells that story once:

1. **Target.** A change point of a domain of a service's endpoint set is clustered under the
   service (``domain:webcast.tiktok.com`` -> ``service:tiktok``); other domains stay themselves.
2. **Runs per network.** In each series an onset opens a run, the next offset closes it (a
   series that never shows the offset leaves it open: ongoing; an offset without an onset is
   ignored). A run with fewer than ``min_blocked`` blocked measurements of its series
   (``min_blocked_open`` while it is open), or where they make less than
   ``min_blocked_share`` of the series' measurements from onset to offset (or to the latest),
   is a blip of flaky failures and is dropped. The series of one network are read in tiers —
   the target's own layer-any series, then other layer-any series (the service's domains),
   then the layer series — and a run of a later tier whose onset falls within
   ``episode_gap`` of a run already kept only adds its change points (confidence,
   mechanisms); onset and offset come from the best series that saw the change: with 25
   domain series one is likely to hold a flaky failure just before the block, which the
   service's series, holding all of them, outweighs.
3. **Episodes.** The runs of every network of the country are swept in time order; a run
   starting within ``episode_gap`` of the end of the episode so far (an open run never ends)
   joins it, else it starts a new episode: a block lifted for longer than the gap and imposed
   again is two incidents.
4. **The incident.** Per network: onset, first blocked and last clean measurement of its
   earliest run, offset (the last, or None while a run is open), techniques (the mechanisms of
   at least ``technique_min_share`` of its blocked measurements in its blocked period), the
   endpoints that failed (the policy matrix: the names failing in at least
   ``endpoint_min_share`` as many blocked measurements as the most failing one — a flaky
   failure is not policy) and the best change-point confidence. Without a points index, the
   change points' mechanisms and endpoints (and the domains of the domain series). The
   incident starts at the earliest onset and ends at the last offset once every network has
   one (else ongoing); confidence combines the networks' (1 - prod(1 - c)).
   ``not_affected``: the other networks of the country with clean measurements of the target in
   the period and at most ``not_affected_max_blocked_share`` blocked. Scope: ``server_side``
   when the control failed in most blocked measurements or most other countries measuring the
   target in the period fail too; ``national`` when two or more networks are affected and every
   network measured on the target in the period is; else ``several_isps`` / ``one_isp``.
5. **Services restricted together.** Episodes of different services in one country on the same
   networks whose onsets cannot be told apart on any of them (on each network, each began after
   the other's last clean measurement; the measurements cannot order them) are one incident,
   target ``services:facebook+tiktok+…`` (``merge_services``): a social-media restriction of
   ten services is one story, not ten.

Everything is sorted before it is read, so the same change points and points in any order give
the same incidents, with ids derived from (country, target, start).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from censorscope.model.detection import (
    ChangePoint,
    Incident,
    IncidentScope,
    NetworkImpact,
    SeriesKey,
    SniCell,
    VerdictPoint,
)

from .incident_text import incident_title
from .points_index import (
    BLOCKED_OUTCOMES,
    CLEAN_OUTCOMES,
    FAILING_OUTCOMES,
    PointsIndex,
    build_points_index,
    services_group_target,
)

__all__ = [
    "DETECTOR",
    "IncidentParams",
    "PointsIndex",
    "build_points_index",
    "cluster_incidents",
]

DETECTOR: Final = "cs-incidents-1"
_DOMAIN_PREFIX: Final = "domain:"
_SERVICE_PREFIX: Final = "service:"


@dataclass(frozen=True)
class IncidentParams:
    """The clustering's parameters (documented in docs/detection.md, "Incidents")."""

    episode_gap: timedelta = timedelta(days=3)
    not_affected_max_blocked_share: float = 0.2
    technique_min_share: float = 0.1
    endpoint_min_share: float = 0.25
    min_blocked: int = 5
    min_blocked_open: int = 3
    min_blocked_share: float = 0.5
    failing_share: float = 0.5
    evidence_per_network: int = 3
    merge_services: bool = True


@dataclass
class _Run:
    """One network blocked from ``onset`` until ``offset`` (None: still blocked)."""

    asn: int
    tier: tuple[bool, bool]
    onset: ChangePoint
    offset: ChangePoint | None = None
    members: list[ChangePoint] = field(default_factory=list)

    @property
    def start(self) -> datetime:
        return self.onset.at

    @property
    def end(self) -> datetime | None:
        return None if self.offset is None else self.offset.at

    def sort_key(self) -> tuple[datetime, int, tuple[bool, bool], str]:
        return (self.start, self.asn, self.tier, self.onset.first_uid)


def _cp_order(cp: ChangePoint) -> tuple[object, ...]:
    return (cp.key, cp.at, cp.kind != "onset", cp.first_uid, cp.detector)


def _series_runs(asn: int, tier: tuple[bool, bool], cps: list[ChangePoint]) -> list[_Run]:
    runs: list[_Run] = []
    open_run: _Run | None = None
    for cp in sorted(cps, key=lambda c: (c.at, c.kind != "onset", c.first_uid)):
        if cp.kind == "onset":
            if open_run is None:
                open_run = _Run(asn, tier, cp)
                runs.append(open_run)
            open_run.members.append(cp)
        elif open_run is not None:
            open_run.offset = cp
            open_run = None
    return runs


def _within(run: _Run, t: datetime, gap: timedelta) -> bool:
    return run.start - gap <= t and (run.end is None or t <= run.end + gap)


def _lasting(run: _Run, index: PointsIndex, params: IncidentParams) -> bool:
    """Whether ``run`` is more than a blip of flaky failures: at least ``min_blocked``
    (open: ``min_blocked_open``) blocked measurements of its series from onset to offset (or
    to the latest), making at least ``min_blocked_share`` of them (always, when the index has
    none of its points)."""
    key = run.onset.key
    points = index.window(key.target, key.probe_cc, run.start, run.end,
                          key.probe_asn).get(key.probe_asn)
    if not points:
        return True
    blocked = sum(p.weight for p in points
                  if p.outcome in BLOCKED_OUTCOMES and key.layer in ("*", p.layer))
    clean = sum(p.weight for p in points if p.outcome in CLEAN_OUTCOMES)
    least = params.min_blocked if run.end is not None else params.min_blocked_open
    return blocked >= least and blocked >= params.min_blocked_share * (blocked + clean)


def _network_runs(asn: int, cps: list[ChangePoint], target: str, index: PointsIndex,
                  params: IncidentParams) -> list[_Run]:
    gap = params.episode_gap
    by_series: dict[SeriesKey, list[ChangePoint]] = {}
    for cp in cps:
        by_series.setdefault(cp.key, []).append(cp)
    tiers: dict[tuple[bool, bool], list[_Run]] = {}
    for key, series in sorted(by_series.items(), key=lambda kv: kv[0]):
        tier = (key.layer != "*", key.target != target)
        tiers.setdefault(tier, []).extend(run for run in _series_runs(asn, tier, series)
                                          if _lasting(run, index, params))
    kept: list[_Run] = []
    for tier in sorted(tiers):
        new: list[_Run] = []
        for run in sorted(tiers[tier], key=_Run.sort_key):
            home = next((k for k in kept if _within(k, run.start, gap)), None)
            if home is None:
                new.append(run)
            else:
                home.members.extend(run.members)
        kept.extend(new)
    return kept


def _episodes(runs: list[_Run], gap: timedelta) -> list[list[_Run]]:
    episodes: list[list[_Run]] = []
    end: datetime | None = None
    for run in sorted(runs, key=_Run.sort_key):
        if episodes and (end is None or run.start <= end + gap):
            episodes[-1].append(run)
            end = None if end is None or run.end is None else max(end, run.end)
        else:
            episodes.append([run])
            end = run.end
    return episodes


def _supported(counts: Counter[str], least: float) -> set[str]:
    """The keys counted at least ``least`` times."""
    return {k for k, c in counts.items() if c >= least}


def _onset_windows(runs: list[_Run]) -> dict[int, tuple[datetime | None, datetime]]:
    """Per network, when its (earliest) blocking began: after the last clean measurement,
    at the latest at the first blocked one."""
    out: dict[int, tuple[datetime | None, datetime]] = {}
    for run in sorted(runs, key=_Run.sort_key):
        out.setdefault(run.asn, (run.onset.last_before_at, run.start))
    return out


def _together(a: dict[int, tuple[datetime | None, datetime]],
              b: dict[int, tuple[datetime | None, datetime]]) -> bool:
    """The same networks, and on each the two onsets cannot be told apart in time."""
    if a.keys() != b.keys():
        return False
    for asn, (lo_a, hi_a) in a.items():
        lo_b, hi_b = b[asn]
        if (lo_a is not None and lo_a >= hi_b) or (lo_b is not None and lo_b >= hi_a):
            return False
    return True


_Unit = tuple[str, str, list[_Run]]  # (cc, target, the runs of one episode)


def _coordinated(units: list[_Unit]) -> list[_Unit]:
    """Episodes of different services in one country that began together on the same
    networks (:func:`_together`) merged into one, under ``services:a+b…``."""
    parent = list(range(len(units)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    windows = [_onset_windows(runs) for _, _, runs in units]
    for i, (cc_i, t_i, _) in enumerate(units):
        for j in range(i + 1, len(units)):
            cc_j, t_j, _ = units[j]
            if (cc_i == cc_j and t_i != t_j and t_i.startswith(_SERVICE_PREFIX)
                    and t_j.startswith(_SERVICE_PREFIX) and _together(windows[i], windows[j])):
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(units)):
        groups.setdefault(root(i), []).append(i)
    out: list[_Unit] = []
    for members in groups.values():
        targets = [units[i][1] for i in members]
        if len(members) == 1 or len(set(targets)) < len(targets):
            out.extend(units[i] for i in members)
            continue
        names = [t[len(_SERVICE_PREFIX):] for t in targets]
        out.append((units[members[0]][0], services_group_target(names),
                    [run for i in members for run in units[i][2]]))
    return out


def cluster_incidents(changes: Iterable[ChangePoint], points_index: PointsIndex | None = None,
                      *, params: IncidentParams | None = None) -> list[Incident]:
    """The incidents the change points tell (sorted by start, country, target).

    ``points_index`` (:func:`build_points_index` over the same verdict points, or
    :meth:`PointsIndex.from_series`) supplies the network names, the networks not affected,
    the techniques and endpoints of the blocked measurements, the SNI matrix, evidence and the
    server-side test; without it incidents carry only what the change points say."""
    params = params or IncidentParams()
    index = points_index if points_index is not None else PointsIndex()
    grouped: dict[tuple[str, str], dict[int, list[ChangePoint]]] = {}
    for cp in sorted(changes, key=_cp_order):
        for target in index.incident_targets(cp.key.target):
            per_asn = grouped.setdefault((cp.key.probe_cc, target), {})
            per_asn.setdefault(cp.key.probe_asn, []).append(cp)
    units: list[_Unit] = []
    for (cc, target), per_asn in sorted(grouped.items()):
        runs = [run for asn, cps in sorted(per_asn.items())
                for run in _network_runs(asn, cps, target, index, params)]
        units.extend((cc, target, episode) for episode in _episodes(runs, params.episode_gap))
    if params.merge_services:
        units = _coordinated(units)
    incidents = [_Builder(cc, target, runs, index, params).build() for cc, target, runs in units]
    return sorted(incidents, key=lambda i: (i.start, i.cc, i.target))


class _Builder:
    """One episode's runs (all networks of one country and target, or of services restricted
    together) -> an Incident."""

    def __init__(self, cc: str, target: str, runs: list[_Run], index: PointsIndex,
                 params: IncidentParams) -> None:
        self.cc, self.target, self.index, self.params = cc, target, index, params
        self.by_asn: dict[int, list[_Run]] = {}
        for run in runs:
            self.by_asn.setdefault(run.asn, []).append(run)
        self.start = min(r.start for r in runs)
        ends = [r.end for r in runs]
        self.end = None if any(e is None for e in ends) else max(e for e in ends if e)
        self.points = index.window(target, cc, self.start, self.end)

    def build(self) -> Incident:
        networks = sorted((self._impact(asn, runs) for asn, runs in self.by_asn.items()),
                          key=lambda n: (n.onset, n.asn))
        not_affected, measured = self._not_affected()
        reason = self._server_side_reason(networks)
        scope: IncidentScope
        if reason:
            scope = "server_side"
        elif len(networks) >= 2 and measured <= set(self.by_asn):
            scope = "national"
        else:
            scope = "several_isps" if len(networks) >= 2 else "one_isp"
        unsure = 1.0
        for n in networks:
            unsure *= 1.0 - min(max(n.confidence, 0.0), 1.0)
        detectors = sorted({cp.detector for runs in self.by_asn.values() for r in runs
                            for cp in r.members if cp.detector})
        return Incident(
            cc=self.cc, target=self.target, scope=scope, start=self.start, end=self.end,
            confidence=1.0 - unsure, networks=tuple(networks),
            not_affected=tuple(sorted(not_affected)), sni_matrix=self._sni_matrix(networks),
            evidence=self._evidence(networks, not_affected),
            title=incident_title(self.cc, self.target, scope, networks, reason),
            detector=" / ".join([DETECTOR, *detectors]))

    def _blocked_points(self, n: NetworkImpact) -> list[VerdictPoint]:
        return [p for p in self.points.get(n.asn, [])
                if p.outcome in BLOCKED_OUTCOMES and p.measurement_start_time >= n.onset
                and (n.offset is None or p.measurement_start_time < n.offset)]

    def _impact(self, asn: int, runs: list[_Run]) -> NetworkImpact:
        lead = min(runs, key=lambda r: (r.start, r.tier, r.onset.key, r.onset.first_uid))
        ends = [r.end for r in runs]
        members = [cp for r in runs for cp in r.members]
        base = NetworkImpact(
            asn=asn, as_name=self.index.as_name(self.cc, asn), onset=lead.start,
            first_blocked_uid=lead.onset.first_uid, last_clean_uid=lead.onset.last_before_uid,
            techniques=(), endpoints=(),
            offset=None if any(e is None for e in ends) else max(e for e in ends if e),
            confidence=max(cp.confidence for cp in members))
        blocked = self._blocked_points(base)
        techniques = _supported(Counter(p.mechanism for p in blocked if p.mechanism),
                                self.params.technique_min_share * len(blocked))
        if not blocked:
            techniques = {m for cp in members for m in cp.mechanisms}
        if not techniques:
            techniques = {cp.key.layer for cp in members if cp.key.layer != "*"}
            techniques.update(p.layer for p in blocked if p.layer)
        named = Counter(e for p in blocked
                        for e in set(p.endpoints or ((p.domain,) if p.domain else ())))
        endpoints = _supported(named, self.params.endpoint_min_share * max(named.values(),
                                                                            default=0))
        if not blocked:
            endpoints = {e for cp in members for e in cp.endpoints}
            endpoints.update(cp.key.target[len(_DOMAIN_PREFIX):] for cp in members
                             if cp.key.target.startswith(_DOMAIN_PREFIX))
        return NetworkImpact(
            asn=base.asn, as_name=base.as_name, onset=base.onset,
            first_blocked_uid=base.first_blocked_uid, last_clean_uid=base.last_clean_uid,
            techniques=tuple(sorted(techniques)), endpoints=tuple(sorted(endpoints)),
            offset=base.offset, confidence=base.confidence)

    def _not_affected(self) -> tuple[list[int], set[int]]:
        """The networks not affected, and every network measured in the period."""
        clear: list[int] = []
        measured: set[int] = set()
        for asn, points in self.points.items():
            clean = sum(p.weight for p in points if p.outcome in CLEAN_OUTCOMES)
            blocked = sum(p.weight for p in points if p.outcome in BLOCKED_OUTCOMES)
            if clean + blocked == 0:
                continue
            measured.add(asn)
            if (asn not in self.by_asn and clean
                    and blocked <= self.params.not_affected_max_blocked_share
                    * (clean + blocked)):
                clear.append(asn)
        return clear, measured

    def _server_side_reason(self, networks: list[NetworkImpact]) -> str:
        share = self.params.failing_share
        known = [p.control_ok for n in networks for p in self._blocked_points(n)
                 if p.control_ok is not None]
        if known and known.count(False) >= share * len(known):
            return "the control fails too"
        failing = measured = 0
        for cc in self.index.countries(self.target):
            if cc == self.cc:
                continue
            points = [p for ps in self.index.window(self.target, cc, self.start,
                                                    self.end).values() for p in ps]
            bad = sum(p.weight for p in points if p.outcome in FAILING_OUTCOMES)
            usable = bad + sum(p.weight for p in points if p.outcome in CLEAN_OUTCOMES)
            if usable:
                measured += 1
                failing += bad >= share * usable
        if failing and failing >= share * measured:
            return "other countries fail too"
        return ""

    def _sni_matrix(self, networks: list[NetworkImpact]) -> tuple[SniCell, ...]:
        windows = {n.asn: (n.onset, n.offset) for n in networks}
        cells: dict[tuple[int, str, str], SniCell] = {}
        for asn, points in sorted(self.points.items()):
            lo, hi = windows.get(asn, (self.start, self.end))
            for p in points:  # time-ordered: the latest handshake of a cell wins
                t = p.measurement_start_time
                if t < lo or (hi is not None and t >= hi):
                    continue
                for ip, name, result in p.handshakes:
                    cells[(asn, ip, name)] = SniCell(asn, ip, name, result, p.measurement_uid)
        return tuple(cells[k] for k in sorted(cells))

    def _evidence(self, networks: list[NetworkImpact], not_affected: list[int]) -> tuple[str, ...]:
        uids: list[str] = []
        for n in networks:
            blocked = self._blocked_points(n)
            mine = [n.last_clean_uid, n.first_blocked_uid,
                    blocked[-1].measurement_uid if blocked else None]
            kept = [u for u in dict.fromkeys(mine) if u]
            uids.extend(kept[: self.params.evidence_per_network])
        for asn in sorted(not_affected):
            clean = [p for p in self.points[asn] if p.outcome in CLEAN_OUTCOMES]
            uids.append(clean[-1].measurement_uid)
        return tuple(dict.fromkeys(uids))
