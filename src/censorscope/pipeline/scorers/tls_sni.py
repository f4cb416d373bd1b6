"""Scorer of the ``tls_sni`` experiment (TLS SNI A/B), and its claims.

The scorer re-decides every IP from the probe's observation rows (so ``reprocess`` gets the
same verdict without the raw measurement), never from the probe's ``results[].verdict`` hint:

- the target name is the measurement's domain (its input without scheme, path and port, in
  ASCII); each endpoint row is one attempt at ``ip:port``; a row with a TLS handshake is the
  target's when its server name is the target name, the no-SNI one when it has none, the
  control's otherwise; a row whose connect failed has no handshake and no role;
- per IP, ``censorscope.model.tls_sni.decide`` (the probe's own function) decides from the
  connect failures, the handshake failures and the bytes written and read during each
  handshake (``tls_handshake_write_bytes`` > 0: the ClientHello, which carries the name,
  was written);
- the measurement: any IP name-triggered → blocked/tls with ``tls.timeout.sni``,
  ``tls.reset.sni`` or ``tls.eof.sni`` after the target's failure at the first such IP;
  else any IP blocked → blocked/tcp (every connect failed: ``tcp.timeout`` …) or blocked/tls
  (every handshake failed alike: ``tls.timeout`` …, not ``.sni``); else any IP ok → ok;
  else insufficient.

Evidence: one ``tls_sni.ip`` statement per IP (at most :data:`MAX_IPS`) with its verdict and
reason, and for the IPs that decided, one statement per attempt (``tls_sni.handshake`` or
``tls_sni.connect_failed``) stating the failure and the bytes written and read; every checker
recomputes its facts from the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from censorscope.model.evidence import Evidence
from censorscope.model.rows import MeasurementRow, ObservationRow
from censorscope.model.tls_sni import VERDICTS, Attempt, IPDecision, Role
from censorscope.model.tls_sni import decide as decide_ip
from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.registry import register
from censorscope.pipeline.analyze.subject import Subject
from censorscope.pipeline.analyze.webview import ascii_name
from censorscope.pipeline.evidence import Facts, claim, say
from censorscope.pipeline.rules import TLS_SNI

from .support import Decider, probe_rows

if TYPE_CHECKING:
    from censorscope.pipeline.analyze.context import AnalysisContext

__all__ = ["MAX_IPS", "attempt_of", "decide_ips", "score_tls_sni", "target_name"]

decide = Decider(TLS_SNI)

MAX_IPS: Final = 6  # IPs stated in the evidence

Endpoint = tuple[str, int | None]


def target_name(meta: MeasurementRow) -> str:
    """The target's server name: the measurement's domain without a port, in ASCII."""
    domain = meta.domain or ""
    host, sep, port = domain.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        domain = host
    return ascii_name(domain)


def attempt_of(row: ObservationRow, target: str) -> Attempt:
    """One endpoint row as an :class:`~censorscope.model.tls_sni.Attempt`."""
    connect = None if row.tcp_success else (row.tcp_failure or "unknown_failure")
    tried = row.tls_success is not None
    role: Role | None = None
    if tried:
        name = ascii_name(row.tls_server_name)
        role = "target" if name == target else "no_sni" if not name else "control"
    return Attempt(role, connect, tried, row.tls_failure if tried else None,
                   row.tls_handshake_write_bytes or 0, row.tls_handshake_read_bytes or 0)


def _endpoint_rows(rows: Sequence[ObservationRow]) -> dict[Endpoint, list[ObservationRow]]:
    out: dict[Endpoint, list[ObservationRow]] = {}
    for r in rows:
        if r.ip and r.tcp_success is not None:
            out.setdefault((r.ip, r.port), []).append(r)
    return out


def decide_ips(rows: Sequence[ObservationRow], target: str
               ) -> dict[Endpoint, tuple[IPDecision, list[ObservationRow]]]:
    """Per ``(ip, port)``: its decision and its rows, in the order the probe measured them."""
    return {ep: (decide_ip([attempt_of(r, target) for r in rs]), rs)
            for ep, rs in _endpoint_rows(rows).items()}


def _sni(row: ObservationRow) -> str:
    name = row.tls_server_name or ""
    return f"SNI {name}" if name else "no SNI"


def _attempt_facts(row: ObservationRow) -> dict[str, Any]:
    """The facts of the statement about one attempt (``tls_sni.handshake`` or
    ``tls_sni.connect_failed``)."""
    base: dict[str, Any] = {"observation": row.observation_idx, "ip": row.ip, "port": row.port}
    if not row.tcp_success:
        return {**base, "failure": row.tcp_failure or "unknown_failure"}
    return {**base, "sni": _sni(row),
            "outcome": "completed" if row.tls_success else f"failed: {row.tls_failure}",
            "written": row.tls_handshake_write_bytes or 0,
            "read": row.tls_handshake_read_bytes or 0}


def _attempt_evidence(row: ObservationRow) -> Evidence:
    facts = _attempt_facts(row)
    return say("tls_sni.connect_failed" if "failure" in facts else "tls_sni.handshake", **facts)


def _ip_facts(ep: Endpoint, decision: IPDecision, target: str) -> dict[str, Any]:
    return {"ip": ep[0], "port": ep[1], "target": target, "verdict": decision.verdict,
            "reason": decision.reason, "explanation": decision.explanation}


def _counts(decided: dict[Endpoint, tuple[IPDecision, list[ObservationRow]]], target: str
            ) -> dict[str, Any]:
    verdicts = [d.verdict for d, _ in decided.values()]
    return {"ips": len(verdicts), "target": target,
            **{v: verdicts.count(v) for v in VERDICTS}}


@register("tls_sni")
def score_tls_sni(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Re-decide each IP from the rows; the worst IP decides (module docstring)."""
    target = target_name(subject.meta)
    rows = probe_rows(subject)
    decided = decide_ips(rows, target)
    if not target:
        return decide(subject, ctx, "test.no_data", evidence=(say("tls_sni.no_target"),))
    if not decided:
        return decide(subject, ctx, "tls_sni.no_ips", evidence=(
            say("tls_sni.no_ips", **_lookups(rows, target)),))
    order = {v: i for i, v in enumerate(VERDICTS)}
    ranked = sorted(decided.items(), key=lambda item: order[item[1][0].verdict])
    top_decision = ranked[0][1][0]
    evidence = [say("tls_sni.counts", **_counts(decided, target))]
    for ep, (decision, ep_rows) in ranked[:MAX_IPS]:
        evidence.append(say("tls_sni.ip", **_ip_facts(ep, decision, target)))
        if decision.verdict == top_decision.verdict:
            evidence += [_attempt_evidence(r) for r in ep_rows]
    d = top_decision.decisive
    if top_decision.verdict == "sni_triggered" and d is not None:
        return decide(subject, ctx, "tls_sni.sni_reset" if d.tls_failure == "connection_reset"
                      else "tls_sni.sni_eof" if d.tls_failure == "eof_error"
                      else "tls_sni.sni_timeout", evidence=evidence)
    if top_decision.verdict == "ip_blocked" and d is not None:
        if top_decision.reason == "connect_failed":
            return decide(subject, ctx, "tls_sni.ip_blocked_tcp",
                          failure=("tcp", d.connect_failure or "unknown_failure"),
                          evidence=evidence)
        return decide(subject, ctx, "tls_sni.ip_blocked_tls",
                      failure=("tls", d.tls_failure or "unknown_failure"), evidence=evidence)
    if top_decision.verdict == "ok":
        return decide(subject, ctx, "tls_sni.ok", evidence=evidence)
    return decide(subject, ctx, "tls_sni.inconclusive", evidence=evidence)


def _lookups(rows: Sequence[ObservationRow], target: str) -> dict[str, Any]:
    failures = sorted({r.dns_failure for r in rows if r.dns_failure})
    lookups = len({(r.transaction_id, r.dns_query_type) for r in rows if r.dns_engine})
    return {"target": target, "lookups": lookups, "failures": failures or ["none"]}


# --- claims ---------------------------------------------------------------------------------

def _probe(facts: Facts) -> list[ObservationRow]:
    return [r for r in facts.observations if r.origin == "probe"]


def _differs(stated: dict[str, Any], actual: dict[str, Any]) -> str | None:
    for key in sorted(set(stated) | set(actual)):
        if stated.get(key) != actual.get(key):
            return f"{key} is {actual.get(key)!r}, not {stated.get(key)!r}"
    return None


@claim("tls_sni.no_target", "the measurement names no target")
def _no_target(ev: Evidence, facts: Facts) -> str | None:
    name = target_name(facts.meta)
    return f"the target is {name}" if name else None


@claim("tls_sni.no_ips", "no IP of {target} was measured ({lookups} DNS lookups; failures: "
                         "{failures})")
def _no_ips(ev: Evidence, facts: Facts) -> str | None:
    rows = _probe(facts)
    if _endpoint_rows(rows):
        return "the probe dialled IPs"
    return _differs(dict(ev.facts), _lookups(rows, target_name(facts.meta)))


@claim("tls_sni.counts", "{ips} IPs measured for {target}: {sni_triggered} SNI-triggered, "
                         "{ip_blocked} IP-blocked, {ok} ok, {inconclusive} inconclusive")
def _counts_check(ev: Evidence, facts: Facts) -> str | None:
    target = target_name(facts.meta)
    return _differs(dict(ev.facts), _counts(decide_ips(_probe(facts), target), target))


@claim("tls_sni.ip", "{ip}:{port} is {verdict} for {target}: {explanation}")
def _ip_check(ev: Evidence, facts: Facts) -> str | None:
    target = target_name(facts.meta)
    ep = (ev.facts.get("ip"), ev.facts.get("port"))
    found = decide_ips(_probe(facts), target).get(ep)  # type: ignore[arg-type]
    if found is None:
        return f"the probe made no attempt at {ep[0]}:{ep[1]}"
    return _differs(dict(ev.facts), _ip_facts(ep, found[0], target))  # type: ignore[arg-type]


def _row_check(ev: Evidence, facts: Facts) -> str | None:
    idx = ev.facts.get("observation")
    row = next((r for r in _probe(facts) if r.observation_idx == idx), None)
    if row is None or not row.ip or row.tcp_success is None:
        return f"the probe has no attempt {idx!r}"
    actual = _attempt_facts(row)
    if ("failure" in actual) != (ev.claim == "tls_sni.connect_failed"):
        return f"observation {idx} {'did not connect' if 'failure' in actual else 'connected'}"
    return _differs(dict(ev.facts), actual)


claim("tls_sni.handshake", "TLS handshake to {ip}:{port} with {sni}: {outcome} ({written} "
                           "bytes written, {read} bytes read)")(_row_check)
claim("tls_sni.connect_failed", "TCP connect to {ip}:{port} failed: {failure}")(_row_check)
