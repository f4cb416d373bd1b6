"""Scorer of the ``service`` experiment (a named service's endpoint set), and its claims.

Decides from the observation rows alone (so ``reprocess`` re-scores stored rows): the probe
gives every endpoint its own ``transaction_id``, so the rows of one endpoint are those sharing
it. An endpoint is reached when one of its connects went through every step it attempted (an
HTTP response of any status counts: a 404 is the real server); otherwise it failed at the
furthest step its attempts got to (DNS < TCP < TLS < HTTP). Rules (``SERVICE`` in
``pipeline.rules``): every endpoint reached → ``ok``; every endpoint failed, or some, with
failures censors cause → ``blocked`` with the layer and mechanism of the most frequent failure
(``.sni`` when a failing handshake's IP completed one for another endpoint's name in the same
measurement); failures a down server explains as well → ``insufficient``.

Evidence: the share of failing endpoints (``service.summary``), each failing endpoint's step and
failure (``rows.*_failed``), the reachable names, and the SNI proof; every checker recomputes
its facts from the rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from censorscope.model.evidence import Evidence
from censorscope.model.rows import ObservationRow
from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.registry import register
from censorscope.pipeline.analyze.subject import Subject
from censorscope.pipeline.evidence import Facts, claim, say
from censorscope.pipeline.rules import SERVICE

from .support import (
    Decider,
    Failure,
    answered,
    describe_failure,
    dominant,
    interference,
    mechanism,
    probe_rows,
    row_failure,
    url_host,
)

if TYPE_CHECKING:
    from censorscope.pipeline.analyze.context import AnalysisContext

__all__ = ["EndpointRows", "endpoint_groups", "score_service", "sni_proofs"]

decide = Decider(SERVICE)
_DEPTH: Final = {"dns": 0, "tcp": 1, "tls": 2, "http": 3}


@dataclass(frozen=True)
class EndpointRows:
    """The rows of one endpoint: its name, whether it was reached, and (when not) the row and
    failure of the furthest step (row None: no failure recorded, nothing was dialled)."""

    transaction_id: int
    name: str
    rows: tuple[ObservationRow, ...]
    reached: bool
    failed: tuple[ObservationRow, Failure] | None


def _name(rows: Sequence[ObservationRow]) -> str:
    for pick in (lambda r: r.tls_server_name, lambda r: url_host(r.http_request_url),
                 lambda r: r.hostname, lambda r: r.ip):
        for r in rows:
            value = pick(r)
            if value:
                return str(value).lower()
    return "an endpoint"


def _group(tid: int, rows: list[ObservationRow]) -> EndpointRows:
    attempts = [r for r in rows if r.tcp_success is not None]
    reached = any(r.tcp_success and (row_failure(r) is None or answered(r)) for r in attempts)
    failed: tuple[ObservationRow, Failure] | None = None
    if not reached:
        found = [(r, f) for r in (attempts or rows) if (f := row_failure(r)) is not None]
        if found:
            failed = max(found, key=lambda rf: (_DEPTH[rf[1][0]], -rf[0].observation_idx))
    return EndpointRows(tid, _name(rows), tuple(rows), reached, failed)


def endpoint_groups(rows: Sequence[ObservationRow]) -> list[EndpointRows]:
    """The endpoints of a ``service`` measurement (rows grouped by transaction id, in the
    probe's order: it numbers the endpoints of the set from 1); rows without a transaction id
    are not an endpoint's."""
    by_tid: dict[int, list[ObservationRow]] = {}
    for r in rows:
        if r.transaction_id is not None:
            by_tid.setdefault(r.transaction_id, []).append(r)
    return [_group(tid, by_tid[tid]) for tid in sorted(by_tid)]


def sni_proofs(groups: Sequence[EndpointRows]) -> list[tuple[ObservationRow, ObservationRow]]:
    """(failed handshake row, completed handshake row at the same IP with another server
    name) for each failing endpoint whose TLS handshake failed after writing its ClientHello
    at an IP where another endpoint's handshake completed."""
    completed: dict[str, ObservationRow] = {}
    for g in groups:
        for r in g.rows:
            if r.ip and r.tls_success and r.ip not in completed:
                completed[r.ip] = r
    out = []
    for g in groups:
        if g.failed is None or g.failed[1][0] != "tls":
            continue
        row = g.failed[0]
        other = completed.get(row.ip or "")
        if other is not None and (row.tls_handshake_write_count or 0) > 0 and \
                (other.tls_server_name or "") != (row.tls_server_name or ""):
            out.append((row, other))
    return out


def _percent(failing: int, total: int) -> float:
    return round(100.0 * failing / total, 1) if total else 0.0


def _summary(service: str, groups: Sequence[EndpointRows]) -> dict[str, Any]:
    failing = sum(1 for g in groups if not g.reached)
    return {"service": service, "failing": failing, "total": len(groups),
            "percent": _percent(failing, len(groups))}


def _service_name(subject_input: str | None) -> str:
    return (subject_input or "the service").strip().lower()


@register("service")
def score_service(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """available → ok; unavailable or restricted with interference → blocked; otherwise
    insufficient (see the module docstring)."""
    groups = endpoint_groups(probe_rows(subject))
    if not groups:
        return decide(subject, ctx, "test.no_data", evidence=(say("service.none"),))
    service = _service_name(subject.meta.input)
    evidence: list[Evidence] = [say("service.summary", **_summary(service, groups))]
    reached = [g.name for g in groups if g.reached]
    if reached:
        evidence.append(say("service.reached", names=sorted(set(reached))))
    failing = [g for g in groups if not g.reached]
    if not failing:
        return decide(subject, ctx, "service.available", evidence=evidence)
    for g in failing:
        if g.failed is not None:
            evidence.append(describe_failure(*g.failed))
        else:
            evidence.append(say("service.not_dialled", transaction_id=g.transaction_id,
                                name=g.name))
    failures = [g.failed[1] for g in failing if g.failed is not None]
    dom = dominant(failures)
    if not any(interference(f) for _, f in failures):
        return decide(subject, ctx, "service.failed_other", failure=dom, evidence=evidence)
    proofs = sni_proofs(groups) if dom is not None and dom[0] == "tls" else []
    for bad, good in proofs[:6]:
        evidence.append(say("service.sni_same_ip", ip=bad.ip, observation=bad.observation_idx,
                            server_name=bad.tls_server_name, failure=bad.tls_failure,
                            other_observation=good.observation_idx,
                            other_server_name=good.tls_server_name))
    verdict = decide(subject, ctx, "service.restricted" if reached else "service.unavailable",
                     failure=dom, evidence=evidence)
    base = mechanism(*dom) if dom is not None else None
    if proofs and base is not None and dom is not None and \
            any(bad.tls_failure == dom[1] for bad, _ in proofs):
        sni = f"{base}.sni"
        return dataclasses.replace(verdict, mechanism=sni, layers=tuple(
            dataclasses.replace(lv, mechanism=sni) for lv in verdict.layers))
    return verdict


# --- claims ---------------------------------------------------------------------------------

def _groups(facts: Facts) -> list[EndpointRows]:
    return endpoint_groups([r for r in facts.observations if r.origin == "probe"])


def _differs(stated: Mapping[str, Any], actual: Mapping[str, Any]) -> str | None:
    """Why the stated facts are not the recomputed ones (None: they are)."""
    if set(stated) != set(actual):
        return f"the facts are {sorted(stated)}, not {sorted(actual)}"
    wrong = [k for k in actual if stated[k] != actual[k]]
    return f"{wrong[0]} is {actual[wrong[0]]!r}, not {stated[wrong[0]]!r}" if wrong else None


@claim("service.none", "no endpoint of the service was measured")
def _none(ev: Evidence, facts: Facts) -> str | None:
    if ev.facts:
        return "this claim states no facts"
    return "the probe measured endpoints" if _groups(facts) else None


@claim("service.summary", "{failing} of {total} endpoints of {service} failed ({percent}%)")
def _check_summary(ev: Evidence, facts: Facts) -> str | None:
    groups = _groups(facts)
    if not groups:
        return "the probe measured no endpoint"
    return _differs(ev.facts, _summary(_service_name(facts.meta.input), groups))


@claim("service.reached", "reached: {names}")
def _check_reached(ev: Evidence, facts: Facts) -> str | None:
    names = sorted({g.name for g in _groups(facts) if g.reached})
    return _differs(ev.facts, {"names": names}) if names else "no endpoint was reached"


@claim("service.not_dialled", "{name}: no address was dialled and no failure recorded")
def _check_not_dialled(ev: Evidence, facts: Facts) -> str | None:
    for g in _groups(facts):
        if g.transaction_id == ev.facts.get("transaction_id"):
            if g.reached or g.failed is not None:
                return f"endpoint {g.transaction_id} was reached or failed"
            return _differs(ev.facts, {"transaction_id": g.transaction_id, "name": g.name})
    return f"no endpoint has transaction id {ev.facts.get('transaction_id')!r}"


@claim("service.sni_same_ip", "{ip}: the TLS handshake for {server_name} failed ({failure}) "
                              "after the ClientHello; one for {other_server_name} completed "
                              "at the same IP")
def _check_sni(ev: Evidence, facts: Facts) -> str | None:
    for bad, good in sni_proofs(_groups(facts)):
        if bad.observation_idx == ev.facts.get("observation"):
            return _differs(ev.facts, {
                "ip": bad.ip, "observation": bad.observation_idx,
                "server_name": bad.tls_server_name, "failure": bad.tls_failure,
                "other_observation": good.observation_idx,
                "other_server_name": good.tls_server_name})
    return f"observation {ev.facts.get('observation')!r} is no SNI-triggered failure"
