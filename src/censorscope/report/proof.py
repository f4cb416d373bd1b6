"""The proof of how a network blocks: its first blocked measurement's evidence and timeline,
and the SNI proof.

- :func:`statements_of`: the evidence statements of a measurement's latest verdict
  (``VerdictRow.evidence_data``, the statements ``censorscope verify`` checks), with the
  measurements each cites.
- :func:`find_sni_proof`: an address on the network where a handshake with one of the
  target's server names failed after its ClientHello while a handshake with another server
  name completed, both during the network's blocking. Handshakes of the report's own
  measurements are searched first (a measurement where one name fails and another completes
  at the same address is the strongest proof); then those of the measurements the blocked
  measurements' evidence cites as context (e.g. a harmless site on the same CDN address
  measured in the same probe session). Nothing is said when the data shows no such pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import orjson

from censorscope.model.rows import VerdictRow
from censorscope.store.base import Store

from .digest import Handshake, MeasurementDigest, handshakes
from .facts import SniProof, Statement

__all__ = ["MAX_CONTEXT_VERDICTS", "Period", "context_handshakes", "find_sni_proof",
           "latest_verdict", "statements_of"]

# how many blocked measurements of a network have their evidence read for context uids
MAX_CONTEXT_VERDICTS: Final = 20


@dataclass(frozen=True)
class Period:
    """A network's blocking period: onset (inclusive) to offset (exclusive; None: open)."""

    onset: datetime
    offset: datetime | None

    def holds(self, t: datetime) -> bool:
        return t >= self.onset and (self.offset is None or t < self.offset)


@dataclass(frozen=True)
class _Seen:
    uid: str
    time: datetime
    handshake: Handshake


def latest_verdict(store: Store, uid: str) -> VerdictRow | None:
    """The verdict of ``uid`` with the highest rules version (the one detection reads)."""
    rows = store.get_verdicts(uid)
    return max(rows, key=lambda r: r.rules_version) if rows else None


def statements_of(verdict: VerdictRow | None) -> tuple[Statement, ...]:
    """The evidence statements of ``verdict`` (its sentences alone for a verdict stored
    without evidence data)."""
    if verdict is None:
        return ()
    if verdict.evidence_data:
        try:
            items = orjson.loads(verdict.evidence_data)
        except orjson.JSONDecodeError:
            items = None
        if isinstance(items, list):
            return tuple(
                Statement(str(o.get("claim", "")), str(o.get("source", "")),
                          str(o.get("text", "")),
                          tuple(str(u) for u in o.get("context_uids") or ()))
                for o in items if isinstance(o, dict))
    return tuple(Statement("", "", str(text)) for text in verdict.evidence)


def _target_failures(digests: Iterable[MeasurementDigest], asn: int, period: Period,
                     names: frozenset[str]) -> list[_Seen]:
    return [_Seen(d.uid, d.time, h) for d in digests
            if d.asn == asn and d.blocking and period.holds(d.time)
            for h in d.handshakes
            if not h.ok and (h.writes or 0) > 0 and h.server_name in names and h.ip]


def _completions(digests: Iterable[MeasurementDigest], asn: int, period: Period) -> list[_Seen]:
    return [_Seen(d.uid, d.time, h) for d in digests
            if d.asn == asn and period.holds(d.time) for h in d.handshakes if h.ok and h.ip]


def _pair(failures: Sequence[_Seen], completions: Sequence[_Seen], prefer_uid: str | None
          ) -> tuple[_Seen, _Seen] | None:
    by_ip: dict[str, list[_Seen]] = {}
    for c in completions:
        by_ip.setdefault(c.handshake.ip, []).append(c)
    best: tuple[tuple[object, ...], _Seen, _Seen] | None = None
    for f in failures:
        for c in by_ip.get(f.handshake.ip, ()):
            if c.handshake.server_name == f.handshake.server_name:
                continue
            key = (f.uid != c.uid, f.uid != prefer_uid, abs((f.time - c.time).total_seconds()),
                   f.time, f.uid, f.handshake.observation_idx, c.uid,
                   c.handshake.observation_idx)
            if best is None or key < best[0]:
                best = (key, f, c)
    return None if best is None else (best[1], best[2])


def context_handshakes(store: Store, digests: Iterable[MeasurementDigest], asn: int,
                       period: Period) -> list[MeasurementDigest]:
    """Digests (handshakes only) of the measurements that the evidence of the network's
    blocked measurements in ``period`` cites as context, on the same network."""
    blocked = sorted((d for d in digests
                      if d.asn == asn and d.blocking and period.holds(d.time)),
                     key=lambda d: (d.time, d.uid))[:MAX_CONTEXT_VERDICTS]
    own = {d.uid for d in blocked}
    cited: dict[str, None] = {}
    for d in blocked:
        for s in statements_of(latest_verdict(store, d.uid)):
            for uid in s.context_uids:
                if uid not in own:
                    cited[uid] = None
    if not cited:
        return []
    observations = store.get_observations_of(list(cited))
    out = []
    for uid in cited:
        meta = store.get_measurement(uid)
        if meta is None or meta.probe_asn != asn or meta.measurement_start_time is None:
            continue
        out.append(MeasurementDigest(
            uid, meta.measurement_start_time, asn, meta.test_name, meta.input, meta.domain,
            "", None, None, (), handshakes(observations.get(uid, ())), ()))
    return out


def find_sni_proof(store: Store, digests: Sequence[MeasurementDigest], asn: int,
                   period: Period, names: frozenset[str], prefer_uid: str | None = None
                   ) -> SniProof | None:
    """The SNI proof of network ``asn`` (see the module docstring), preferring a pair in
    one measurement, then one involving ``prefer_uid``, then the closest in time."""
    failures = _target_failures(digests, asn, period, names)
    if not failures:
        return None
    pair = _pair(failures, _completions(digests, asn, period), prefer_uid)
    if pair is None:
        context = context_handshakes(store, digests, asn, period)
        pair = _pair(failures, _completions(context, asn, period), prefer_uid)
    if pair is None:
        return None
    f, c = pair
    return SniProof(asn=asn, ip=f.handshake.ip, failed_name=f.handshake.server_name,
                    failure=f.handshake.result, failed_writes=f.handshake.writes,
                    failed_uid=f.uid, failed_at=f.time,
                    completed_name=c.handshake.server_name, completed_uid=c.uid,
                    completed_at=c.time)
