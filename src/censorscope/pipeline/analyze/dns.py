"""DNS layer: are the probe's answers consistent, and did its lookups fail where others did not?

Per hostname the probe resolved with its own resolvers (system/getaddrinfo/udp; DoH/DoT
answers are "other resolvers", a reference like the control), first rule that holds
(see ``rules.py``): fingerprinted blockpage IP; bogon not seen by the control; bogon seen by the
control (down); failure while the control / other resolvers answered (blocked) or failed too
(down); each answer consistent by valid TLS for the name, by IP, or by AS; an answer for a name
the control calls NXDOMAIN; otherwise unmatched. The worst hostname decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from censorscope.model.verdict import LayerVerdict

from .context import AnalysisContext
from .mechanisms import dns_mechanism, layer_verdict
from .webview import NXDOMAIN, Lookup, WebView

__all__ = ["DnsResult", "analyze_dns"]

_SEVERITY = {"blocked": 3, "down": 2, "insufficient": 1, "ok": 0}


@dataclass
class DnsResult:
    """The DNS layer verdict, the answers it does not trust (TCP/TLS failures on them are
    DNS's doing) and the fingerprints that matched."""

    verdict: LayerVerdict | None
    untrusted: set[str] = field(default_factory=set)
    tls_only: dict[str, str] = field(default_factory=dict)  # answer ip → hostname
    fingerprints: list[str] = field(default_factory=list)
    confirmed: bool = False


def _ignorable(lk: Lookup) -> bool:
    # an AAAA query without answers is normal (no IPv6): not a failure of the name
    return lk.query_type == "AAAA" and lk.failure in ("dns_no_answer", None)


def _hostname(host: str, lookups: list[Lookup], view: WebView, ctx: AnalysisContext,
              cc: str, out: DnsResult) -> LayerVerdict | None:
    own = [lk for lk in lookups if not lk.is_other_resolver and not _ignorable(lk)]
    if not own:
        return None
    answers = [(ip, asn) for lk in own for ip, asn in lk.answers]
    others = view.answers_for(host, other=True)
    ctrl_known = host == view.domain and view.control.present
    ctrl_addrs = view.control.dns_addrs if ctrl_known else []
    ctrl_nx = ctrl_known and view.control.dns_failure in NXDOMAIN
    reference = set(ctrl_addrs) | {ip for ip, _ in others}

    failing = [lk for lk in own if lk.failure and not lk.answers]
    if failing:
        lk = failing[0]
        said = f"The {lk.engine} lookup of {host} failed with {lk.failure}"
        reference_all = reference | {ip for ip, _ in answers}
        if reference_all or (not ctrl_known and view.control.http_ok):
            who = (f"the control resolved it to {', '.join(sorted(ctrl_addrs))}" if ctrl_addrs
                   else f"another resolver returned {', '.join(sorted(reference_all))}"
                   if reference_all else "the control fetched the page through every redirect")
            return layer_verdict("dns.failure_ctrl_ok", [f"{said}; {who}."],
                                 dns_mechanism(lk.failure))
        if ctrl_known or any(o.is_other_resolver and o.hostname == host
                             for o in view.lookups):
            return layer_verdict("dns.failure_ctrl_also_failing", [
                f"{said}; the control and other resolvers found no address either "
                f"({view.control.dns_failure or 'no answer'})."])
        return layer_verdict("dns.failure_no_ctrl", [f"{said}; no control to compare with."])

    worst: LayerVerdict | None = None
    for lk in own:
        if lk.answers:
            v = _answers(host, lk, view, ctx, cc, out, ctrl_addrs, ctrl_nx, others)
            if worst is None or _SEVERITY[v.outcome] > _SEVERITY[worst.outcome]:
                worst = v
    return worst


def _answers(host: str, lk: Lookup, view: WebView, ctx: AnalysisContext, cc: str,
             out: DnsResult, ctrl_addrs: list[str], ctrl_nx: bool,
             others: list[tuple[str, int | None]]) -> LayerVerdict:
    """The verdict on the answers of one lookup."""
    engines = lk.engine
    answers = lk.answers
    reference = set(ctrl_addrs) | {ip for ip, _ in others}
    ips = sorted({ip for ip, _ in answers})
    fresh_ips = [ip for ip in ips if ip not in ctrl_addrs]
    hits = ctx.fingerprints.match_dns(fresh_ips, cc) if ctx.fingerprints and fresh_ips else []
    if hits:
        out.fingerprints.extend(h.id for h in hits)
        out.confirmed = out.confirmed or any(h.confirmed for h in hits)
        matched = sorted({str(getattr(h, "blockpage_ip", None) or "") for h in hits} - {""})
        out.untrusted.update(matched or fresh_ips)
        return layer_verdict("dns.blockpage_ip", [
            f"The {engines} lookup of {host} returned {', '.join(matched or fresh_ips)}, a "
            f"known blockpage address (fingerprint {', '.join(h.id for h in hits)})."])
    bogons = [ip for ip in ips if ctx.is_bogon(ip)]
    if bogons:
        fresh = [ip for ip in bogons if ip not in ctrl_addrs]
        if fresh:
            out.untrusted.update(ips)
            ctrl = ", ".join(sorted(ctrl_addrs)) or "nothing"
            return layer_verdict("dns.bogon_not_in_ctrl", [
                f"The {engines} lookup of {host} returned the bogon {', '.join(fresh)}; the "
                f"control resolved {ctrl}."])
        if len(bogons) == len(ips):
            return layer_verdict("dns.bogon_in_ctrl", [
                f"{host} resolves to the bogon {', '.join(bogons)} for the control too."])

    ref_asns = {ctx.asn(ip) for ip in ctrl_addrs} | {ctx.asn(ip, asn) for ip, asn in others}
    ref_asns.discard(0)
    consistent: list[tuple[str, str]] = []
    unmatched: list[str] = []
    for ip, asn in dict(answers).items():
        if ip in reference:
            consistent.append((ip, "dns.answer_matches_ctrl"))
        elif ctx.asn(ip, asn) in ref_asns:
            consistent.append((ip, "dns.answer_asn_matches_ctrl"))
        elif ctx.valid_tls_for(ip, host):
            consistent.append((ip, "dns.tls_consistent"))
            out.tls_only[ip] = host
        else:
            unmatched.append(ip)
    if consistent and not unmatched:
        rule_id = consistent[0][1]
        why = {"dns.tls_consistent": "completed a TLS handshake with a valid certificate for "
               "the name", "dns.answer_matches_ctrl": "also returned by the control or "
               "another resolver", "dns.answer_asn_matches_ctrl": "in the AS of the "
               "control's answers"}
        return layer_verdict(rule_id, [
            f"{host} → {ip}: {why[r]}." for ip, r in consistent[:4]])
    if consistent:  # a mix: an honest resolver with extra answers (CDN); not an injection
        return layer_verdict(consistent[0][1], [
            f"{host}: {', '.join(ip for ip, _ in consistent)} consistent; "
            f"{', '.join(unmatched)} unmatched."])
    listed = ", ".join(unmatched)
    if ctrl_nx:
        out.untrusted.update(unmatched)
        return layer_verdict("dns.answer_ctrl_nxdomain", [
            f"The {engines} lookup of {host} returned {listed}, but the name does not exist "
            f"for the control ({view.control.dns_failure})."])
    if not reference:
        return layer_verdict("dns.answer_unmatched_no_ctrl", [
            f"The {engines} lookup of {host} returned {listed}; no control or other resolver "
            "answer to compare with."])
    out.untrusted.update(unmatched)
    return layer_verdict("dns.answer_unmatched", [
        f"The {engines} lookup of {host} returned {listed}; the control and other resolvers "
        f"returned {', '.join(sorted(reference))}, and no TLS handshake with a valid "
        f"certificate for {host} was seen at {listed}."])


def analyze_dns(view: WebView, ctx: AnalysisContext, cc: str) -> DnsResult:
    """The DNS verdict of the measurement (the worst of its hostnames)."""
    out = DnsResult(None)
    hosts: dict[str, list[Lookup]] = {}
    for lk in view.lookups:
        hosts.setdefault(lk.hostname, []).append(lk)
    if not hosts:
        out.verdict = None
        return out
    worst: LayerVerdict | None = None
    for host, lookups in hosts.items():
        v = _hostname(host, lookups, view, ctx, cc, out)
        if v is not None and (worst is None
                              or _SEVERITY[v.outcome] > _SEVERITY[worst.outcome]):
            worst = v
    out.verdict = worst
    return out
