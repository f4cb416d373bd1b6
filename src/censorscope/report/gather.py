"""Gather a report's facts from the store: :func:`gather_facts`.

1. Checks, in ``censorscope detect``'s order: the store holds verdicts (else
   :class:`~.problems.NoVerdicts`), measurements from the country (:class:`UnknownCountry`),
   a scored measurement in the window (:class:`EmptyWindow`), an incident or outage of the
   country (and target) overlapping the window (:class:`NothingToReport`).
2. One streaming pass over the window's scored measurements (:mod:`.scan`), keeping the
   scope's (:mod:`.target`); their observation rows are read in batches (:mod:`.digest`).
3. Per incident and network, in onset order: the onset and last clean times read from the
   stored measurement rows of the uids detection named, the scope's measurements of its
   blocking period, the proof (:mod:`.proof`, :mod:`.timeline`); the networks not affected
   with their measurements in the incident's period; the cost estimate when the cost model
   prices the event (``censorscope.cost.estimate_for_event``).
4. Coverage per network, the rules versions and detectors, chart data (:mod:`.chartfacts`)
   and every cited measurement's row for the appendix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from censorscope.model.rows import MeasurementRow
from censorscope.store.base import Store
from censorscope.store.detections import naive_utc
from censorscope.store.search import Keyset, SearchFilter

from .chartfacts import chart_data
from .digest import MeasurementDigest, digest, read_digests
from .facts import (
    AffectedNetwork,
    Cited,
    IncidentFacts,
    NetworkCoverage,
    NetworkProof,
    OutageFacts,
    ReportFacts,
    UnaffectedNetwork,
)
from .problems import EmptyWindow, NothingToReport, NoVerdicts, UnknownCountry
from .proof import Period, find_sni_proof, latest_verdict, statements_of
from .raw import lab_clock_of, read_raw
from .scan import WindowScan, scan_window
from .target import ReportTarget, TargetScope, scope_of
from .timeline import timeline_excerpt

__all__ = ["REPORT_ID_PAGE", "gather_facts", "parse_time", "window_text"]

# measurement rows per page when the scope's report ids are read
REPORT_ID_PAGE: Final = 5000


def parse_time(value: str | None) -> datetime | None:
    """A stored ISO-8601 time (``…Z``) as a naive UTC datetime."""
    if not value:
        return None
    return naive_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


def window_text(cc: str, since: datetime | None, until: datetime | None) -> str:
    """The window as ``censorscope detect`` says it."""
    start = since.isoformat() if since else "the first measurement"
    end = until.isoformat() if until else "the last"
    return f"from {start} to {end} in {cc}"


def _overlaps(event: Mapping[str, Any], since: datetime | None, until: datetime | None) -> bool:
    start = parse_time(event.get("start"))
    end = parse_time(event.get("end"))
    if start is None:
        return False
    if until is not None and start >= until:
        return False
    return since is None or end is None or end >= since


class _Rows:
    """Measurement rows by uid, read once each."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache: dict[str, MeasurementRow | None] = {}

    def __call__(self, uid: str) -> MeasurementRow | None:
        if uid not in self.cache:
            self.cache[uid] = self.store.get_measurement(uid)
        return self.cache[uid]

    def time(self, uid: str | None, fallback: datetime | None) -> datetime | None:
        meta = self(uid) if uid else None
        if meta is not None and meta.measurement_start_time is not None:
            return meta.measurement_start_time
        return fallback


class _Gatherer:
    """The state of one :func:`gather_facts` call."""

    def __init__(self, store: Store, cc: str, since: datetime | None, until: datetime | None,
                 scope: TargetScope, scan: WindowScan) -> None:
        self.store, self.cc, self.since, self.until = store, cc, since, until
        self.scope, self.scan = scope, scan
        self.rows = _Rows(store)
        self.digests: list[MeasurementDigest] = list(read_digests(store, scan.scope_rows))
        self.by_uid = {d.uid: d for d in self.digests}
        self.lab_clocks: set[str] = set()
        self.extra_digests: dict[str, MeasurementDigest] = {}

    def as_name(self, asn: int, fallback: str = "") -> str:
        tally = self.scan.networks.get(asn)
        return tally.as_name if tally is not None and tally.as_name else fallback

    # --- incidents ---------------------------------------------------------------------
    def proof(self, uid: str, asn: int, period: Period, names: frozenset[str]) -> NetworkProof:
        sni = find_sni_proof(self.store, self.digests, asn, period, names, prefer_uid=uid)
        if sni is not None and sni.completed_uid not in self.by_uid:
            self.extra_digests[sni.completed_uid] = self._digest_of(sni.completed_uid)
        verdict = latest_verdict(self.store, uid)
        meta = self.rows(uid)
        raw = read_raw(meta) if meta is not None else None
        clock = lab_clock_of(raw)
        if clock:
            self.lab_clocks.add(clock)
        observations = self.store.get_observations_of([uid]).get(uid, [])
        prefer = (sni.ip, sni.failed_name) if sni is not None else None
        timeline = timeline_excerpt(uid, observations, raw, prefer,
                                    verdict.layer if verdict else None)
        return NetworkProof(
            uid=uid, rules_version=verdict.rules_version if verdict else None,
            outcome=verdict.outcome if verdict else None,
            layer=verdict.layer if verdict else None,
            mechanism=verdict.mechanism if verdict else None,
            rule_id=verdict.rule_id if verdict else None,
            statements=statements_of(verdict), timeline=timeline, sni=sni)

    def _digest_of(self, uid: str) -> MeasurementDigest:
        from censorscope.store.points import PointRow

        meta = self.rows(uid)
        verdict = latest_verdict(self.store, uid)
        assert meta is not None and meta.measurement_start_time is not None
        row = PointRow(uid, meta.measurement_start_time, meta.probe_cc, meta.probe_asn,
                       meta.probe_network_name, meta.test_name, meta.input, meta.domain,
                       verdict.outcome if verdict else "", verdict.layer if verdict else None,
                       verdict.mechanism if verdict else None,
                       verdict.rules_version if verdict else "", None)
        return digest(row, self.store.get_observations_of([uid]).get(uid, []))

    def network(self, n: Mapping[str, Any]) -> AffectedNetwork:
        asn = int(n["asn"])
        first_uid = str(n["first_blocked_uid"])
        onset = self.rows.time(first_uid, parse_time(n.get("onset")))
        assert onset is not None
        clean_uid = n.get("last_clean_uid")
        offset = parse_time(n.get("offset"))
        period = Period(onset, offset)
        endpoints = tuple(str(e) for e in n.get("endpoints", ()))
        names = frozenset(e.lower() for e in endpoints) | self.scope.domains
        mine = [d for d in self.digests if d.asn == asn and period.holds(d.time)]
        return AffectedNetwork(
            asn=asn, as_name=self.as_name(asn, str(n.get("as_name", ""))), onset=onset,
            first_blocked_uid=first_uid,
            last_clean_at=self.rows.time(clean_uid, None) if clean_uid else None,
            last_clean_uid=str(clean_uid) if clean_uid else None, offset=offset,
            techniques=tuple(str(t) for t in n.get("techniques", ())), endpoints=endpoints,
            confidence=float(n.get("confidence", 0.0)),
            blocked=sum(1 for d in mine if d.blocking), measured=len(mine),
            proof=self.proof(first_uid, asn, period, names))

    def unaffected(self, asn: int, start: datetime, end: datetime | None) -> UnaffectedNetwork:
        period = Period(start, end)
        mine = sorted((d for d in self.digests if d.asn == asn and period.holds(d.time)),
                      key=lambda d: (d.time, d.uid))
        outcomes = Counter(d.outcome for d in mine)
        return UnaffectedNetwork(
            asn=asn, as_name=self.as_name(asn), measured=len(mine),
            blocked=sum(1 for d in mine if d.blocking),
            first_uid=mine[0].uid if mine else None, last_uid=mine[-1].uid if mine else None,
            outcomes=tuple(sorted(outcomes.items(), key=lambda kv: (-kv[1], kv[0]))))

    def incident(self, inc: Mapping[str, Any]) -> IncidentFacts:
        networks = sorted((self.network(n) for n in inc.get("networks", ())),
                          key=lambda n: (n.onset, n.asn))
        start = parse_time(inc["start"])
        assert start is not None
        end = parse_time(inc.get("end"))
        cost, note = self.cost(inc)
        return IncidentFacts(
            id=str(inc["id"]), title=str(inc.get("title", "")), target=str(inc["target"]),
            scope=str(inc.get("scope", "")), start=start, end=end,
            confidence=float(inc.get("confidence", 0.0)), detector=str(inc.get("detector", "")),
            networks=tuple(networks),
            not_affected=tuple(self.unaffected(int(a), start, end)
                               for a in inc.get("not_affected", ())),
            evidence=tuple(str(u) for u in inc.get("evidence", ())), cost=cost, cost_note=note)

    # --- outages, cost -----------------------------------------------------------------
    def cost(self, event: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """The cost estimate of ``event`` as JSON (None when the model does not price it),
        or a note saying why it could not be estimated."""
        try:
            from censorscope.cost import estimate_for_event
        except ImportError as exc:
            return None, f"the cost model is not available ({exc})"
        try:
            estimate = estimate_for_event(self.store, dict(event),
                                          until=self.until or self.scan.last)
        except (ValueError, LookupError) as exc:
            return None, f"no cost estimate: {exc}"
        return (None, None) if estimate is None else (estimate.to_json(), None)

    def outage(self, o: Mapping[str, Any]) -> OutageFacts:
        start = parse_time(o["start"])
        assert start is not None
        asn = o.get("asn")
        cost, note = self.cost(o)
        return OutageFacts(
            id=str(o["id"]), asn=None if asn is None else int(asn),
            as_name=self.as_name(int(asn)) if asn is not None else "", kind=str(o["kind"]),
            start=start, end=parse_time(o.get("end")),
            confidence=float(o.get("confidence", 0.0)), detector=str(o.get("detector", "")),
            facts=dict(o.get("facts") or {}), evidence=tuple(str(u) for u in o.get("evidence", ())),
            cost=cost, cost_note=note)

    # --- coverage, citations -------------------------------------------------------------
    def coverage(self, order: Sequence[int]) -> tuple[NetworkCoverage, ...]:
        runs = self.report_ids()
        out = []
        for asn in order:
            t = self.scan.networks[asn]
            gap, gap_from, gap_to = t.largest_gap()
            out.append(NetworkCoverage(asn, t.as_name, t.measurements, t.scope_measurements,
                                       len(runs.get(asn, ())), t.first, t.last, gap, gap_from,
                                       gap_to))
        return tuple(out)

    def report_ids(self) -> dict[int, set[str]]:
        """The distinct report ids of the scope's measurements per network, read in keyset
        pages of measurement rows (``Store.search_measurements``), not one row at a time."""
        wanted = {r.measurement_uid for r in self.scan.scope_rows}
        names = None if self.scope.everything else tuple(
            sorted(self.scope.domains | self.scope.services))
        where = SearchFilter(since=self.since, until=self.until, probe_cc=(self.cc,),
                             domain=names)
        runs: dict[int, set[str]] = {}
        after: Keyset | None = None
        while wanted:
            page = self.store.search_measurements(where, order="asc", limit=REPORT_ID_PAGE,
                                                  after=after)
            for m in page:
                if m.measurement_uid in wanted:
                    wanted.discard(m.measurement_uid)
                    runs.setdefault(m.probe_asn, set()).add(m.report_id)
            if len(page) < REPORT_ID_PAGE:
                break
            last = page[-1]
            assert last.measurement_start_time is not None
            after = Keyset(last.measurement_start_time, last.measurement_uid)
        for uid in wanted:  # a row the filter missed (e.g. a domain spelled otherwise)
            meta = self.rows(uid)
            if meta is not None:
                runs.setdefault(meta.probe_asn, set()).add(meta.report_id)
        return runs

    def cited(self, uids: Iterable[str]) -> dict[str, Cited]:
        out: dict[str, Cited] = {}
        for uid in dict.fromkeys(uids):
            meta = self.rows(uid)
            if meta is None:
                continue
            verdict = latest_verdict(self.store, uid)
            out[uid] = Cited(uid, meta.measurement_start_time, meta.probe_asn,
                             meta.probe_network_name or "", meta.test_name, meta.input,
                             verdict.outcome if verdict else None,
                             verdict.mechanism if verdict else None)
        return dict(sorted(out.items(), key=lambda kv: (kv[1].time or datetime.min, kv[0])))


def _cited_uids(incidents: Sequence[IncidentFacts], outages: Sequence[OutageFacts]
                ) -> list[str]:
    uids: list[str] = []
    for inc in incidents:
        for n in inc.networks:
            uids.append(n.first_blocked_uid)
            if n.last_clean_uid:
                uids.append(n.last_clean_uid)
            for s in n.proof.statements:
                uids.extend(s.context_uids)
            if n.proof.sni is not None:
                uids += [n.proof.sni.failed_uid, n.proof.sni.completed_uid]
        for u in inc.not_affected:
            uids += [x for x in (u.first_uid, u.last_uid) if x]
        uids.extend(inc.evidence)
    for o in outages:
        uids.extend(o.evidence)
    return uids


def _has_points(store: Store, cc: str, since: datetime | None, until: datetime | None) -> bool:
    for batch in store.iter_point_rows(since=since, until=until, cc=cc, batch=1):
        if batch:
            return True
    return False


def gather_facts(store: Store, cc: str, target: ReportTarget | None = None,
                 since: datetime | None = None, until: datetime | None = None) -> ReportFacts:
    """The facts of the report on ``cc`` (and ``target``) over [``since``, ``until``);
    raises a :class:`~.problems.ReportProblem` when there is nothing to report."""
    if store.count("verdicts") == 0:
        raise NoVerdicts(f"the store {store.url} holds no verdicts: analyse measurements "
                         "first (censorscope ingest, or censorscope reprocess)")
    if not store.query_aggregate(["probe_cc"], probe_cc=[cc]):
        raise UnknownCountry(f"the store has no measurement from {cc} (unknown country)")
    incidents = [i for i in store.read_detections("incidents", cc=cc)
                 if _overlaps(i, since, until) and (target is None or target.matches(i))]
    outages = [o for o in store.read_detections("outages", cc=cc) if _overlaps(o, since, until)]
    window = window_text(cc, since, until)
    if not incidents and not outages:
        if not _has_points(store, cc, since, until):
            raise EmptyWindow(f"no scored measurement {window}")
        about = f" of {target.spec}" if target is not None else ""
        raise NothingToReport(f"no incident{about} or outage {window} is stored: run "
                              "censorscope detect first (or widen --since/--until)")
    scope = scope_of(target, incidents)
    scan = scan_window(store, cc, since, until, scope)
    if scan.total == 0 or scan.first is None or scan.last is None:
        raise EmptyWindow(f"no scored measurement {window}")
    g = _Gatherer(store, cc, since, until, scope, scan)
    incident_facts = sorted((g.incident(i) for i in incidents), key=lambda i: (i.start, i.id))
    outage_facts = sorted((g.outage(o) for o in outages), key=lambda o: (o.start, o.id))
    onsets: dict[int, datetime] = {}
    for inc in incident_facts:
        for n in inc.networks:
            onsets[n.asn] = min(onsets.get(n.asn, n.onset), n.onset)
    affected = sorted(onsets, key=lambda a: (onsets[a], a))
    order = affected + sorted(a for a in scan.networks if a not in onsets)
    asns = [(a, g.as_name(a)) for a in order if a in scan.networks]
    periods = {a: Period(t, None) for a, t in onsets.items()}
    charts = chart_data(scan, g.digests, asns, periods, list(g.extra_digests.values()))
    detectors = sorted(({i.detector for i in incident_facts}
                        | {o.detector for o in outage_facts}) - {""})
    if not g.lab_clocks:
        for uid in _cited_uids(incident_facts, outage_facts)[:1]:
            meta = g.rows(uid)
            clock = lab_clock_of(read_raw(meta)) if meta is not None else None
            if clock:
                g.lab_clocks.add(clock)
    return ReportFacts(
        country=cc, target=target.spec if target is not None else None, since=since,
        until=until, first=scan.first, last=scan.last, measurements=scan.total,
        scope_measurements=len(scan.scope_rows),
        scope={"services": sorted(scope.services), "domains": sorted(scope.domains)}
        if not scope.everything else {"services": [], "domains": [], "everything": ["yes"]},
        incidents=tuple(incident_facts), outages=tuple(outage_facts),
        coverage=g.coverage([a for a in order if a in scan.networks]),
        rules_versions=tuple(sorted(scan.rules_versions.items(), key=lambda kv: (-kv[1], kv[0]))),
        detectors=tuple(detectors), charts=charts,
        cited=g.cited(_cited_uids(incident_facts, outage_facts)),
        lab_clock=", ".join(sorted(g.lab_clocks)) or None)
