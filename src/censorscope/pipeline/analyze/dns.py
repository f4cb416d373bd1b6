"""DNS layer: are the probe's answers consistent, and did its lookups fail where others did not?

Per hostname the probe resolved with its own resolvers (system/getaddrinfo/udp; DoH/DoT
answers are "other resolvers", a reference like the control), first rule that holds
(see ``rules.py``): fingerprinted blockpage IP; bogon not seen by the control; bogon seen by the
control (down); failure while the control / other resolvers answered (blocked) or failed too
(down); each answer consistent by IP, by AS or by a valid TLS handshake for the name; an answer
for a name the control calls NXDOMAIN; no reference at all (insufficient: a name the control
never resolved is not judged on absence); otherwise unmatched. The worst hostname decides.

The reference addresses of a name are the ones this measurement's control returned, the other
resolvers' answers, and the ones the control returned for the name in other measurements from
the same network (``AnalysisContext.control_answers``, cited as context). Answers already
judged lies do not vote: bogons, blockpage IPs, and addresses whose handshake for the name
failed certificate validation here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

from censorscope.model.evidence import Evidence
from censorscope.model.verdict import LayerVerdict
from censorscope.pipeline.evidence import say

from .context import AnalysisContext, LearntFacts
from .mechanisms import dns_mechanism, layer_verdict
from .webview import NXDOMAIN, Lookup, WebView, ascii_name

__all__ = ["DnsResult", "Scope", "analyze_dns"]

_SEVERITY = {"blocked": 3, "down": 2, "insufficient": 1, "ok": 0}


@dataclass(frozen=True)
class Scope:
    """Who is asking: the measurement's uid, probe AS, report id, country and the facts it
    contributed to the context itself (so context claims count only *other* measurements)."""

    uid: str
    asn: int
    report_id: str
    cc: str
    own: LearntFacts


@dataclass(frozen=True)
class ProxyCandidate:
    """An answer consistent only by TLS validity for a name that has reference answers."""

    hostname: str
    engine: str
    reference: tuple[str, ...]
    validity: tuple[Evidence, ...]


@dataclass
class DnsResult:
    """The DNS layer verdict, the answers it does not trust (TCP/TLS failures on them are
    DNS's doing) and the fingerprints that matched."""

    verdict: LayerVerdict | None
    untrusted: set[str] = field(default_factory=set)
    tls_only: dict[str, ProxyCandidate] = field(default_factory=dict)  # answer ip → why
    fingerprints: list[str] = field(default_factory=list)
    confirmed: bool = False


def _ignorable(lk: Lookup) -> bool:
    # an AAAA query without answers is normal (no IPv6): not a failure of the name
    return lk.query_type == "AAAA" and lk.failure in ("dns_no_answer", None)


@dataclass
class _Reference:
    """The reference answers of one hostname, with where each came from."""

    host: str
    ctrl_known: bool
    ctrl_addrs: list[str]
    others: dict[str, list[str]]  # engine → answers (other resolvers), voting ones only
    elsewhere: dict[str, tuple[tuple[str, ...], int]]  # ip → (uids, count), voting ones only
    vetoed: list[str] = field(default_factory=list)  # other resolvers' answers that do not vote

    # computed once (the fields are not changed after construction; ``replace`` makes a new one)
    @cached_property
    def own(self) -> set[str]:
        return set(self.ctrl_addrs) | {ip for ips in self.others.values() for ip in ips}

    @cached_property
    def all(self) -> set[str]:
        return self.own | set(self.elsewhere)


def _lied_to(host: str, view: WebView) -> set[str]:
    """The addresses whose handshake for ``host`` failed certificate validation here."""
    return {r.ip for r in view.endpoints
            if r.ip and r.tls_failure and r.tls_failure.startswith("ssl_")
            and ascii_name(r.tls_server_name) == host}


def _votes(ip: str, lied: set[str], ctx: AnalysisContext, scope: Scope) -> bool:
    """May ``ip`` (an other resolver's answer or the control's elsewhere) be a reference?
    (``lied``: :func:`_lied_to` of the name.)"""
    if ctx.is_bogon(ip):
        return False
    if ctx.dns_fingerprints(ip, scope.cc):
        return False
    return ip not in lied


def _reference(host: str, view: WebView, ctx: AnalysisContext, scope: Scope) -> _Reference:
    ctrl_known = host == view.domain and view.control.present
    others: dict[str, list[str]] = {}
    vetoed: list[str] = []
    lied: set[str] | None = None
    for lk in view.lookups:
        if lk.hostname == host and lk.is_other_resolver:
            for ip, _ in lk.answers:
                if ip in others.get(lk.engine, []) or ip in vetoed:
                    continue
                if lied is None:
                    lied = _lied_to(host, view)
                if _votes(ip, lied, ctx, scope):
                    others.setdefault(lk.engine, []).append(ip)
                else:
                    vetoed.append(ip)
    elsewhere: dict[str, tuple[tuple[str, ...], int]] = {}
    for ip, support in ctx.control_answers(scope.asn, host).items():
        uids, count = support.others(scope.uid, own=(host, ip) in scope.own.ctrl_answers)
        if count > 0 and uids:
            if lied is None:
                lied = _lied_to(host, view)
            if _votes(ip, lied, ctx, scope):
                elsewhere[ip] = (uids, count)
    return _Reference(host, ctrl_known, view.control.dns_addrs if ctrl_known else [], others,
                      elsewhere, sorted(set(vetoed) - {ip for v in others.values() for ip in v}))


def _nothing_to_compare(ref: _Reference) -> Evidence:
    """Why there is no reference: nobody else resolved the name, or only lies did."""
    if ref.vetoed:
        return say("dns.reference_vetoed", source="rules", hostname=ref.host,
                   addresses=ref.vetoed)
    return say("dns.no_reference", source="rules", hostname=ref.host)


def _cite_reference(ref: _Reference, scope: Scope, limit: int = 3) -> list[Evidence]:
    """Statements of where the reference answers came from."""
    ev: list[Evidence] = []
    if ref.ctrl_addrs:
        ev.append(say("control.dns_answer", source="control", hostname=ref.host,
                      addresses=sorted(ref.ctrl_addrs)))
    for engine, ips in sorted(ref.others.items()):
        ev.append(say("dns.answer", hostname=ref.host, engine=engine, addresses=sorted(ips)))
    for ip, (uids, count) in sorted(ref.elsewhere.items())[:limit]:
        ev.append(say("control.dns_answer_elsewhere", source="context", context_uids=uids,
                      context_count=count, hostname=ref.host, address=ip, count=count,
                      asn=scope.asn))
    return ev


def _hostname(host: str, lookups: list[Lookup], view: WebView, ctx: AnalysisContext,
              scope: Scope, out: DnsResult) -> LayerVerdict | None:
    own = [lk for lk in lookups if not lk.is_other_resolver and not _ignorable(lk)]
    if not own:
        return None
    ref = _reference(host, view, ctx, scope)
    answered = [lk for lk in own if lk.answers]

    failing = [lk for lk in own if lk.failure and not lk.answers]
    if failing:
        lk = failing[0]
        said = say("dns.lookup_failed", hostname=host, engine=lk.engine, failure=lk.failure)
        if ref.ctrl_known and not ref.ctrl_addrs:
            # this measurement's control looked the name up and found nothing: that is the
            # name now; what the control returned for it elsewhere does not contradict it
            ref = replace(ref, elsewhere={})
        if ref.all or answered:
            ev = [said, *_cite_reference(ref, scope)]
            if not ref.all:
                a = answered[0]
                ev.append(say("dns.answer", hostname=host, engine=a.engine,
                              addresses=sorted({ip for ip, _ in a.answers})))
            return layer_verdict("dns.failure_ctrl_ok", ev, dns_mechanism(lk.failure))
        if not ref.ctrl_known and view.control.http_ok and view.control.http is not None:
            return layer_verdict("dns.failure_ctrl_ok", [said, say(
                "control.http_ok", source="control",
                status=view.control.http.http_response_status_code)],
                dns_mechanism(lk.failure))
        other_failed = [o for o in view.lookups if o.is_other_resolver and o.hostname == host
                        and o.failure and not o.answers]
        if ref.ctrl_known or other_failed:
            ev = [said]
            if ref.ctrl_known:
                failure = view.control.dns_failure
                ev.append(say("control.dns_failed", source="control", hostname=host,
                              failure=failure) if failure else
                          say("control.dns_no_address", source="control", hostname=host))
            ev += [say("dns.lookup_failed", hostname=host, engine=o.engine, failure=o.failure)
                   for o in other_failed[:2]]
            return layer_verdict("dns.failure_ctrl_also_failing", ev)
        return layer_verdict("dns.failure_no_ctrl", [said, _nothing_to_compare(ref)])

    worst: LayerVerdict | None = None
    for lk in answered:
        v = _answers(host, lk, view, ctx, scope, out, ref)
        if worst is None or _SEVERITY[v.outcome] > _SEVERITY[worst.outcome]:
            worst = v
    return worst


def _sni_proven(ip: str, host: str, view: WebView, ctx: AnalysisContext, scope: Scope
                ) -> bool:
    """Did another server name complete a handshake at ``ip`` in this measurement or in this
    probe session (so a failure here with ``host`` is the name's, not the address's)?"""
    if any(r.ip == ip and r.tls_success and ascii_name(r.tls_server_name) != host
           for r in view.endpoints):
        return True
    return any(True for _ in ctx.names_ok_in_report(scope.asn, scope.report_id, ip, host))


def _valid_tls(ip: str, host: str, view: WebView, ctx: AnalysisContext, scope: Scope
               ) -> tuple[list[Evidence], list[Evidence]]:
    """(evidence that ``ip`` is valid for ``host``, evidence it is not vouched for)."""
    here = next((r for r in view.endpoints if r.ip == ip and r.tls_success
                 and r.tls_no_verify is not True and ascii_name(r.tls_server_name) == host),
                None)
    if here is not None:
        return [say("dns.tls_valid_here", address=ip, hostname=host,
                    observation=here.observation_idx)], []
    support = ctx.valid_tls(scope.asn, ip, host)
    if support is None:
        return [], []
    uids, count = support.others(scope.uid, own=(ip, host) in scope.own.tls_valid)
    if count <= 0 or not uids:
        return [], []
    elsewhere = say("dns.tls_valid_elsewhere", source="context", context_uids=uids,
                    context_count=count, address=ip, hostname=host, count=count,
                    asn=scope.asn)
    failed = next((r for r in view.endpoints if r.ip == ip and r.tls_failure
                   and ascii_name(r.tls_server_name) == host), None)
    if failed is not None and not _sni_proven(ip, host, view, ctx, scope):
        return [], [elsewhere, say("dns.tls_elsewhere_unproven", source="rules", address=ip,
                                   hostname=host, failure=failed.tls_failure)]
    return [elsewhere], []


def _answers(host: str, lk: Lookup, view: WebView, ctx: AnalysisContext, scope: Scope,
             out: DnsResult, ref: _Reference) -> LayerVerdict:
    """The verdict on the answers of one lookup."""
    ips = sorted({ip for ip, _ in lk.answers})
    got = say("dns.answer", hostname=host, engine=lk.engine, addresses=ips)
    ctrl_addrs = ref.ctrl_addrs
    fresh_ips = [ip for ip in ips if ip not in ctrl_addrs]
    if ctx.fingerprints is not None and fresh_ips:
        matched: list[tuple[str, str]] = []
        for ip in fresh_ips:
            for h in ctx.dns_fingerprints(ip, scope.cc):
                matched.append((ip, h.id))
                out.confirmed = out.confirmed or h.confirmed
        if matched:
            out.fingerprints.extend(dict.fromkeys(fp for _, fp in matched))
            out.untrusted.update(ip for ip, _ in matched)
            return layer_verdict("dns.blockpage_ip", [got, *(
                say("dns.blockpage_ip", source="rules", address=ip, fingerprint=fp)
                for ip, fp in matched)])
    bogons = [ip for ip in ips if ctx.is_bogon(ip)]
    if bogons:
        fresh = [ip for ip in bogons if ip not in ctrl_addrs]
        if fresh:
            out.untrusted.update(ips)
            ev = [got, *(say("dns.bogon", source="rules", address=ip) for ip in fresh[:3])]
            if ctrl_addrs:
                ev.append(say("control.dns_answer", source="control", hostname=host,
                              addresses=sorted(ctrl_addrs)))
            elif ref.ctrl_known:
                ev.append(say("control.dns_no_address", source="control", hostname=host))
            return layer_verdict("dns.bogon_not_in_ctrl", ev)
        if len(bogons) == len(ips):
            return layer_verdict("dns.bogon_in_ctrl", [
                got, *(say("dns.bogon", source="rules", address=ip) for ip in bogons[:3]),
                say("control.dns_answer", source="control", hostname=host,
                    addresses=sorted(bogons))])

    by_asn: dict[int, str] = {}
    for ip in sorted(ctrl_addrs):
        by_asn.setdefault(ctx.asn(ip), ip)
    for o in view.lookups:
        if o.hostname == host and o.is_other_resolver:
            for ip, asn in o.answers:
                if ip in ref.own:
                    by_asn.setdefault(ctx.asn(ip, asn), ip)
    by_asn.pop(0, None)
    consistent: list[tuple[str, str, list[Evidence]]] = []
    unmatched: list[str] = []
    vetoed: list[Evidence] = []
    cited: set[str] = set()
    for ip, asn in dict(lk.answers).items():
        if ip in ref.own:
            consistent.append((ip, "dns.answer_matches_ctrl", []))
            continue
        if ip in ref.elsewhere:
            uids, count = ref.elsewhere[ip]
            consistent.append((ip, "dns.answer_matches_ctrl", [say(
                "control.dns_answer_elsewhere", source="context", context_uids=uids,
                context_count=count, hostname=host, address=ip, count=count,
                asn=scope.asn)]))
            cited.add(ip)
            continue
        same = by_asn.get(ctx.asn(ip, asn))
        if same is not None:
            consistent.append((ip, "dns.answer_asn_matches_ctrl", [say(
                "dns.same_asn", source="rules", address=ip, asn=ctx.asn(ip, asn),
                reference=same, hostname=host)]))
            continue
        valid, against = _valid_tls(ip, host, view, ctx, scope)
        if valid:
            consistent.append((ip, "dns.tls_consistent", valid))
            if ref.own:
                out.tls_only[ip] = ProxyCandidate(host, lk.engine, tuple(sorted(ref.own)),
                                                  tuple(valid))
            continue
        vetoed += against
        unmatched.append(ip)
    def reference() -> list[Evidence]:  # built only where it is cited
        return [e for e in _cite_reference(ref, scope)
                if e.claim != "control.dns_answer_elsewhere" or e.facts["address"] not in cited]

    if consistent:
        # all consistent, or a mix: an honest resolver with extra answers (CDN); no injection
        rule_id = consistent[0][1]
        ev = [got]
        if any(r == "dns.answer_matches_ctrl" and not why for _, r, why in consistent):
            ev += [e for e in reference() if e.source != "context"]
        for _, _, why in consistent[:4]:
            ev += why
        if unmatched and ref.all:
            ev.append(say("dns.unmatched", source="rules", hostname=host, addresses=unmatched,
                          reference=sorted(ref.all)))
        elif unmatched:
            ev.append(_nothing_to_compare(ref))
        return layer_verdict(rule_id, ev)
    if ref.ctrl_known and view.control.dns_failure in NXDOMAIN:
        out.untrusted.update(unmatched)
        return layer_verdict("dns.answer_ctrl_nxdomain", [got, say(
            "control.nxdomain", source="control", hostname=host,
            failure=view.control.dns_failure)])
    if not ref.all:
        return layer_verdict("dns.answer_unmatched_no_ctrl", [got, _nothing_to_compare(ref)])
    out.untrusted.update(unmatched)
    ev = [got, *reference(), say("dns.unmatched", source="rules", hostname=host,
                               addresses=unmatched, reference=sorted(ref.all))]
    if ref.vetoed:
        ev.append(_nothing_to_compare(ref))
    if vetoed:
        ev += vetoed
    else:
        ev.append(say("dns.no_valid_tls", source="rules", hostname=host, addresses=unmatched,
                      asn=scope.asn))
    return layer_verdict("dns.answer_unmatched", ev)


def analyze_dns(view: WebView, ctx: AnalysisContext, scope: Scope) -> DnsResult:
    """The DNS verdict of the measurement (the worst of its hostnames)."""
    out = DnsResult(None)
    hosts: dict[str, list[Lookup]] = {}
    for lk in view.lookups:
        hosts.setdefault(lk.hostname, []).append(lk)
    if not hosts:
        out.verdict = None
        return out
    worst: LayerVerdict | None = None
    consistent: list[LayerVerdict] = []
    for host, lookups in hosts.items():
        v = _hostname(host, lookups, view, ctx, scope, out)
        if v is not None and v.outcome == "ok":
            consistent.append(v)
        if v is not None and (worst is None
                              or _SEVERITY[v.outcome] > _SEVERITY[worst.outcome]):
            worst = v
    if worst is not None and worst.outcome == "ok" and len(consistent) > 1:
        # every name is consistent: say so for each (the first one's rule names the layer)
        worst = replace(worst, evidence=tuple(e for v in consistent for e in v.evidence))
    out.verdict = worst
    return out
