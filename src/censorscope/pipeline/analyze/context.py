"""What the analysis knows beyond one measurement: the :class:`AnalysisContext`.

- ``asn_table``: IP → AS (for answers without an ``asn``, e.g. the control's);
- ``public_ranges``: networks to treat as public although they are bogons (the lab's ranges);
- facts learnt from every measurement seen (:meth:`learn`), each remembered with where it came
  from (:class:`Support`: the total number of measurements that showed it and the
  ``UIDS_PER_FACT`` smallest of their uids, so evidence can cite them and memory stays flat in
  the input size), and keyed by the probe's network so that context is only ever used for the
  same network:

  - ``tls_valid`` — (probe AS, ip, name): a handshake with a valid certificate for ``name``
    completed at ``ip`` (a probe handshake, or a control handshake at an address the control
    resolved itself);
  - ``tls_from_report`` — (probe AS, report id, ip) → name: a handshake with ``name``
    completed at ``ip`` in that probe session (a failure with another name at the same IP in
    the same session is SNI-triggered);
  - ``ctrl_answers`` — (probe AS, name) → ip: the control resolved ``name`` to ``ip``;

- ``fingerprints``: DNS/HTTP fingerprint matching (``censorscope.pipeline.fingerprints`` when
  it is installed, see :mod:`.fingerprints`).

Feed a batch with :meth:`learn` first and score it afterwards to use facts across it. Learning
is order-free: the learnt facts are counts and the smallest uids, so any order, and any split
into contexts merged afterwards (:meth:`merge`), gives the same context.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from censorscope.model.ipinfo import ASNTable, is_bogon
from censorscope.model.rows import MeasurementRow, ObservationRow

from .fingerprints import FingerprintSource, MatchLike, default_fingerprints
from .webview import ascii_name

__all__ = ["UIDS_PER_FACT", "AnalysisContext", "Network", "Support", "learnt_facts"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

UIDS_PER_FACT: Final = 5  # uids remembered per fact (the smallest ones: order-free)


def _net(value: str | Network) -> Network:
    return value if not isinstance(value, str) else ipaddress.ip_network(value, strict=False)


class Support:
    """The measurements that showed a fact: how many, and the smallest few of their uids."""

    __slots__ = ("count", "uids")

    def __init__(self, count: int = 0, uids: tuple[str, ...] = ()) -> None:
        self.count = count
        self.uids = uids

    def add(self, uid: str) -> None:
        self.count += 1
        uids = self.uids
        if len(uids) < UIDS_PER_FACT:
            if uid not in uids:
                self.uids = tuple(sorted((*uids, uid)))
        elif uid < uids[-1] and uid not in uids:
            self.uids = tuple(sorted((*uids[:-1], uid)))

    def update(self, other: Support) -> None:
        self.count += other.count
        self.uids = tuple(sorted(set(self.uids) | set(other.uids)))[:UIDS_PER_FACT]

    def others(self, uid: str, *, own: bool) -> tuple[tuple[str, ...], int]:
        """(cited uids, count) of the measurements other than ``uid`` (``own``: ``uid``
        itself showed the fact and is counted)."""
        return tuple(u for u in self.uids if u != uid), self.count - (1 if own else 0)

    def __getstate__(self) -> tuple[int, tuple[str, ...]]:
        return self.count, self.uids

    def __setstate__(self, state: tuple[int, tuple[str, ...]]) -> None:
        self.count, self.uids = state

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Support) and (self.count, self.uids) == (other.count,
                                                                         other.uids)

    def __repr__(self) -> str:
        return f"Support({self.count}, {self.uids})"


@dataclass(frozen=True)
class LearntFacts:
    """The facts one measurement contributes (see :func:`learnt_facts`)."""

    tls_valid: frozenset[tuple[str, str]]  # (ip, name)
    tls_ok: frozenset[tuple[str, str]]  # (ip, name), verified or not (probe only)
    ctrl_answers: frozenset[tuple[str, str]]  # (name, ip)


def learnt_facts(observations: Sequence[ObservationRow]) -> LearntFacts:
    """What :meth:`AnalysisContext.learn` takes from one measurement's rows.

    A probe handshake that completed with certificate verification makes its IP valid for
    the server name; a control handshake does so only at addresses the control resolved
    itself (at an address the probe supplied, it could be a transparent proxy answering for a
    DNS lie, which must stay a DNS lie). Control answers are remembered per name; whether an
    answer may vote (bogons, blockpage IPs …) is decided where it is used.
    """
    valid: set[tuple[str, str]] = set()
    ok: set[tuple[str, str]] = set()
    answers: set[tuple[str, str]] = set()
    ctrl_resolved: set[str] = set()
    not_probe: list[ObservationRow] = []  # handshakes judged once ctrl_resolved is complete
    for obs in observations:
        origin = obs.origin
        if origin == "control" and obs.dns_answer and obs.ip and obs.port is None:
            ctrl_resolved.add(obs.ip)
            if obs.hostname:
                answers.add((ascii_name(obs.hostname), obs.ip))
        if not obs.tls_success or not obs.ip or not obs.tls_server_name:
            continue
        if origin == "probe":
            pair = (obs.ip, ascii_name(obs.tls_server_name))
            ok.add(pair)
            if obs.tls_no_verify is not True:
                valid.add(pair)
        else:
            not_probe.append(obs)
    for obs in not_probe:
        if obs.ip in ctrl_resolved:
            valid.add((obs.ip, ascii_name(obs.tls_server_name)))
    return LearntFacts(frozenset(valid), frozenset(ok), frozenset(answers))


@dataclass
class AnalysisContext:
    """Shared knowledge for scoring a set of measurements (see the module docstring)."""

    asn_table: ASNTable | None = None
    public_ranges: tuple[Network, ...] = ()
    fingerprints: FingerprintSource | None = field(default_factory=default_fingerprints)
    # (probe_asn, ip, name) → the measurements where a handshake at ip was valid for name
    tls_valid: dict[tuple[int, str, str], Support] = field(default_factory=dict)
    # (probe_asn, report_id, ip) → name → the measurements where a handshake with it completed
    tls_from_report: dict[tuple[int, str, str], dict[str, Support]] = field(
        default_factory=dict)
    # (probe_asn, name) → ip → the measurements whose control resolved name to ip
    ctrl_answers: dict[tuple[int, str], dict[str, Support]] = field(default_factory=dict)
    _bogons: dict[str, bool] = field(default_factory=dict, repr=False)
    _dns_hits: dict[tuple[str, str], tuple[MatchLike, ...]] = field(default_factory=dict,
                                                                     repr=False)

    @classmethod
    def create(cls, *, asn_table: ASNTable | None = None,
               public_ranges: Sequence[str | Network] = (),
               fingerprints: FingerprintSource | None = None) -> AnalysisContext:
        """A context; ``fingerprints`` None loads the default fingerprint source."""
        ctx = cls(asn_table=asn_table, public_ranges=tuple(_net(r) for r in public_ranges))
        if fingerprints is not None:
            ctx.fingerprints = fingerprints
        return ctx

    # --- facts about addresses ---------------------------------------------------------------
    def is_bogon(self, ip: str) -> bool:
        known = self._bogons.get(ip)
        if known is None:
            known = self._bogons[ip] = is_bogon(ip, allowed=self.public_ranges)
        return known

    def dns_fingerprints(self, ip: str, cc: str) -> tuple[MatchLike, ...]:
        """The DNS fingerprints ``ip`` matches for a probe in ``cc`` (memoised)."""
        if self.fingerprints is None:
            return ()
        key = (ip, cc)
        hits = self._dns_hits.get(key)
        if hits is None:
            if len(self._dns_hits) > 65536:
                self._dns_hits.clear()
            hits = self._dns_hits[key] = tuple(self.fingerprints.match_dns([ip], cc))
        return hits

    def asn(self, ip: str, hint: int | None = None) -> int:
        """AS of ``ip``: ``hint`` (the probe's own annotation) when given, else the table."""
        if hint:
            return hint
        return self.asn_table.asn(ip) if self.asn_table is not None else 0

    @property
    def fingerprints_version(self) -> str | None:
        return self.fingerprints.version if self.fingerprints is not None else None

    # --- learning across measurements ----------------------------------------------------
    def learn(self, meta: MeasurementRow, observations: Iterable[ObservationRow]) -> None:
        """Remember the facts of one measurement (:func:`learnt_facts`), under its probe AS
        (and report id for the session facts), citing its uid."""
        rows = observations if isinstance(observations, list | tuple) else list(observations)
        facts = learnt_facts(rows)
        uid, asn = meta.measurement_uid, meta.probe_asn
        for ip, name in facts.tls_valid:
            key = (asn, ip, name)
            s = self.tls_valid.get(key)
            if s is None:
                s = self.tls_valid[key] = Support()
            s.add(uid)
        for ip, name in facts.tls_ok:
            names = self.tls_from_report.setdefault((asn, meta.report_id, ip), {})
            s = names.get(name)
            if s is None:
                s = names[name] = Support()
            s.add(uid)
        for name, ip in facts.ctrl_answers:
            ips = self.ctrl_answers.setdefault((asn, name), {})
            s = ips.get(ip)
            if s is None:
                s = ips[ip] = Support()
            s.add(uid)

    def merge(self, other: AnalysisContext) -> None:
        """Add the facts ``other`` learnt (another worker's share of the same input) to these.

        Learning is order-free (counts and the smallest uids), so learning A then B, B then A,
        or A and B in two contexts merged afterwards gives the same context.
        """
        for key, s in other.tls_valid.items():
            self.tls_valid.setdefault(key, Support()).update(s)
        for mine, theirs in ((self.tls_from_report, other.tls_from_report),
                             (self.ctrl_answers, other.ctrl_answers)):
            for k, inner in theirs.items():
                target = mine.setdefault(k, {})  # type: ignore[arg-type]
                for item, s in inner.items():
                    target.setdefault(item, Support()).update(s)

    def facts_only(self) -> AnalysisContext:
        """A copy holding only the learnt facts (no fingerprints, caches or tables): what a
        worker process sends back to be merged."""
        return AnalysisContext(fingerprints=None, tls_valid=self.tls_valid,
                               tls_from_report=self.tls_from_report,
                               ctrl_answers=self.ctrl_answers)

    # --- questions the rules ask ---------------------------------------------------------
    def valid_tls(self, probe_asn: int, ip: str, name: str) -> Support | None:
        """The measurements from ``probe_asn`` where ``ip`` completed a handshake with a valid
        certificate for ``name``, or None."""
        return self.tls_valid.get((probe_asn, ip, ascii_name(name)))

    def valid_tls_for(self, probe_asn: int, ip: str, name: str) -> bool:
        """True if ``ip`` completed a handshake with a valid certificate for ``name`` in a
        measurement from ``probe_asn``."""
        return (probe_asn, ip, ascii_name(name)) in self.tls_valid

    def names_ok_in_report(self, probe_asn: int, report_id: str, ip: str, name: str
                           ) -> Iterator[tuple[str, Support]]:
        """Server names other than ``name`` that completed a handshake at ``ip`` in the probe
        session ``report_id`` from ``probe_asn`` (sorted), with their support."""
        names = self.tls_from_report.get((probe_asn, report_id, ip), {})
        wanted = ascii_name(name)
        for other in sorted(names):
            if other != wanted:
                yield other, names[other]

    def control_answers(self, probe_asn: int, name: str) -> dict[str, Support]:
        """ip → the measurements from ``probe_asn`` whose control resolved ``name`` to it."""
        return self.ctrl_answers.get((probe_asn, ascii_name(name)), {})
