"""What a report needs of one measurement of its scope, read from its probe observation rows.

:class:`MeasurementDigest` keeps, per measurement: its identity, time, network and verdict;
the server names it measured and whether each failed (a ``service`` measurement's endpoints
grouped as its scorer groups them, ``scorers.service.endpoint_groups``; another test's domain,
failed when the verdict is ``blocked`` or ``impaired``); its TLS handshakes; its DNS answers
labelled by resolver. :func:`read_digests` reads the observation rows in batches
(``Store.get_observations_of``), so memory holds one batch of rows at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from censorscope.model.rows import ObservationRow
from censorscope.pipeline.scorers.service import endpoint_groups
from censorscope.store.base import Store
from censorscope.store.points import PointRow

__all__ = ["BLOCKING_OUTCOMES", "DnsAnswer", "Handshake", "MeasurementDigest", "digest",
           "dns_answers", "handshakes", "read_digests"]

BLOCKING_OUTCOMES: Final = frozenset({"blocked", "impaired"})
BATCH: Final = 500


@dataclass(frozen=True, slots=True)
class Handshake:
    """One TLS handshake the probe attempted: address, server name, result (``ok`` or the
    failure) and how many writes it made (the ClientHello is the first)."""

    ip: str
    server_name: str
    result: str
    writes: int | None
    observation_idx: int
    t: float | None

    @property
    def ok(self) -> bool:
        return self.result == "ok"


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    """One DNS answer: who resolved (``AS29049 system`` / ``AS29049 udp 8.8.8.8:53`` …), the
    answer (``1.2.3.4 (AS15169)``, ``bogon 10.0.0.1``, ``NXDOMAIN``, a failure) and the name."""

    resolver: str
    answer: str
    hostname: str


@dataclass(frozen=True, slots=True)
class MeasurementDigest:
    """One measurement of the report's scope (see the module docstring)."""

    uid: str
    time: datetime
    asn: int
    test_name: str
    input: str | None
    domain: str | None
    outcome: str
    layer: str | None
    mechanism: str | None
    names: tuple[tuple[str, bool], ...]
    handshakes: tuple[Handshake, ...]
    dns: tuple[DnsAnswer, ...]

    @property
    def blocking(self) -> bool:
        return self.outcome in BLOCKING_OUTCOMES

    def failed_names(self) -> tuple[str, ...]:
        return tuple(name for name, failed in self.names if failed)


def handshakes(rows: Sequence[ObservationRow]) -> tuple[Handshake, ...]:
    """The TLS handshakes among ``rows`` (rows with a server name and a result)."""
    out = []
    for r in rows:
        if r.tls_server_name is None or (r.tls_success is None and r.tls_failure is None):
            continue
        result = "ok" if r.tls_success else (r.tls_failure or "failed")
        out.append(Handshake(r.ip or "", r.tls_server_name.lower(), result,
                             r.tls_handshake_write_count, r.observation_idx, r.tls_t))
    return tuple(out)


def _resolver(asn: int, r: ObservationRow) -> str:
    engine = (r.dns_engine or "system").lower()
    if engine in ("getaddrinfo", "system", ""):
        return f"AS{asn} system"
    address = r.dns_resolver_address or "?"
    return f"AS{asn} {engine} {address}"


def _answer(r: ObservationRow) -> str | None:
    if r.dns_failure:
        if r.dns_failure == "dns_nxdomain_error":
            return "NXDOMAIN"
        return r.dns_failure
    if not r.dns_answer:
        return None
    label = r.dns_answer
    if r.ip_is_bogon:
        label = f"bogon {label}"
    if r.dns_answer_asn:
        label = f"{label} (AS{r.dns_answer_asn})"
    return label


def dns_answers(asn: int, rows: Sequence[ObservationRow]) -> tuple[DnsAnswer, ...]:
    """The DNS answers (and failures) among ``rows``, labelled by resolver. An empty AAAA
    answer (``dns_no_answer`` to an AAAA query) says nothing about blocking and is left out."""
    out = []
    for r in rows:
        if r.dns_answer is None and r.dns_failure is None:
            continue
        if r.dns_failure == "dns_no_answer" and (r.dns_query_type or "").upper() != "A":
            continue
        answer = _answer(r)
        if answer is None:
            continue
        out.append(DnsAnswer(_resolver(asn, r), answer, (r.hostname or "").lower()))
    return tuple(out)


def _names(row: PointRow, rows: Sequence[ObservationRow]) -> tuple[tuple[str, bool], ...]:
    if row.test_name == "service":
        blocking = row.outcome in BLOCKING_OUTCOMES
        seen: dict[str, bool] = {}
        for g in endpoint_groups(rows):
            seen[g.name] = seen.get(g.name, False) or (blocking and not g.reached)
        return tuple(seen.items())
    if row.domain:
        return ((row.domain.lower(), row.outcome in BLOCKING_OUTCOMES),)
    return ()


def digest(row: PointRow, rows: Sequence[ObservationRow]) -> MeasurementDigest:
    """The digest of one measurement from its point row and probe observation rows."""
    return MeasurementDigest(
        uid=row.measurement_uid, time=row.measurement_start_time, asn=row.probe_asn,
        test_name=row.test_name, input=row.input, domain=row.domain, outcome=row.outcome,
        layer=row.layer, mechanism=row.mechanism, names=_names(row, rows),
        handshakes=handshakes(rows), dns=dns_answers(row.probe_asn, rows))


def read_digests(store: Store, rows: Sequence[PointRow], batch: int = BATCH
                 ) -> Iterator[MeasurementDigest]:
    """The digests of ``rows``, in their order, reading observation rows ``batch`` at a
    time."""
    for start in range(0, len(rows), batch):
        chunk = rows[start:start + batch]
        observations = store.get_observations_of([r.measurement_uid for r in chunk])
        for row in chunk:
            yield digest(row, observations.get(row.measurement_uid, ()))
