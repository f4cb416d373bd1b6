"""Scorer of censorscope's ``dns_consistency`` experiment, and the claims of its evidence.

Decided from the observation rows alone (``reprocess`` re-scores stored rows the same way):

- each resolver is one (engine, resolver address) of the probe's DNS rows (getaddrinfo is
  "the system resolver"); its replies are its rows grouped by query type and time (a late
  reply has its own time), its addresses those of each query's first reply;
- the reference is the control's answer (rows of origin ``control``), else the first DoH
  resolver that answered;
- the TLS result of an answer IP is its handshake with the measured name
  (``censorscope.model.dns_consistency.tls_result``; a failed connect counts as failed);
- each resolver is classified with ``censorscope.model.dns_consistency.classify`` (AS from the
  probe's annotation, else the analysis' AS table; bogons outside the public ranges).

Then: injection anywhere → blocked (``dns.injection.bogon`` when a forged reply is a bogon,
else ``dns.injection.other``); a resolver answering NXDOMAIN, a bogon or a lie → blocked
(the system resolver first); the system resolver failing while the reference answered →
blocked with the failure's mechanism; an answer not TLS-checked that differs → insufficient;
else ok: ``consistent``, or ``cdn_valid_cert`` when some answers differ from the control's but
serve a valid certificate for the name (a CDN node, not a DNS inconsistency). OONI's legacy
``dns_consistency`` measurements (no resolver engine recorded) get the fallback scorer.

Claims (``dnsc.``) state atomic facts re-checked against the rows: what a resolver
answered, that an answer is the reference's (by IP, or by AS where the probe annotated it),
that an IP completed (or not) a valid handshake for the name, that an answer is a bogon, the
different replies to one query; failures reuse the ``rows.*`` claims.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from censorscope.model.dns_consistency import (
    FAILED_CLASSES,
    TLS_FAILED,
    TLS_VALID,
    Classification,
    Reference,
    classify,
    tls_result,
)
from censorscope.model.evidence import Evidence
from censorscope.model.ipinfo import is_bogon
from censorscope.model.rows import ObservationRow
from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.registry import register
from censorscope.pipeline.analyze.subject import Subject
from censorscope.pipeline.analyze.webview import ascii_name
from censorscope.pipeline.evidence import Facts, say
from censorscope.pipeline.rules import DNS_CONSISTENCY

from .claims import NEEDS_RAW, _recomputed
from .fallback import score_fallback
from .support import Decider, describe_failure, probe_rows, test_keys

if TYPE_CHECKING:
    from censorscope.pipeline.analyze.context import AnalysisContext

__all__ = ["ResolverView", "reference_of", "resolver_views", "score_dns_consistency",
           "tls_results"]

decide = Decider(DNS_CONSISTENCY)

SYSTEM: Final = "the system resolver"
CONTROL: Final = "the control"
_ENGINE_ORDER: Final = {"getaddrinfo": 0, "udp": 1, "tcp": 2, "dot": 3, "doh": 4}
_MAX_RESOLVERS: Final = 6


@dataclass
class ResolverView:
    """One resolver's lookups of the name, from the rows."""

    label: str
    engine: str
    address: str
    # query type → its replies in time order, each a list of rows
    replies: dict[str, list[list[ObservationRow]]] = field(default_factory=dict)

    @property
    def addresses(self) -> list[str]:
        """The A/AAAA answers of each query's first reply (A before AAAA)."""
        out: list[str] = []
        for qtype in sorted(self.replies):
            for row in self.replies[qtype][0]:
                if row.dns_answer_type in ("A", "AAAA") and row.dns_answer and \
                        row.dns_answer not in out:
                    out.append(row.dns_answer)
        return out

    def failure_row(self) -> ObservationRow | None:
        """The row of the first reply's failure (A, then ANY, then any type) when the
        resolver has no address."""
        if self.addresses:
            return None
        for qtype in ("A", "ANY", *sorted(self.replies)):
            for row in self.replies.get(qtype, [[]])[0]:
                if row.dns_failure:
                    return row
        return None

    def distinct(self) -> tuple[str, list[str]] | None:
        """(query type, its different replies in words) for the query with the most
        different replies, when it has two or more."""
        best: tuple[str, list[str]] | None = None
        for qtype in sorted(self.replies):
            shown = list(dict.fromkeys(_reply_text(r) for r in self.replies[qtype]))
            if len(shown) >= 2 and (best is None or len(shown) > len(best[1])):
                best = (qtype, shown)
        return best


def _reply_text(rows: list[ObservationRow]) -> str:
    answers = sorted({r.dns_answer for r in rows if r.dns_answer})
    if answers:
        return " ".join(answers)
    return next((r.dns_failure for r in rows if r.dns_failure), None) or "an empty reply"


def _label(row: ObservationRow) -> str:
    if row.dns_engine == "getaddrinfo":
        return SYSTEM
    return f"{row.dns_engine} {row.dns_resolver_address or '?'}"


def resolver_views(rows: Sequence[ObservationRow]) -> list[ResolverView]:
    """The probe's resolvers (system first, then UDP, DoH …, by address) with their replies."""
    views: dict[tuple[str, str], ResolverView] = {}
    grouped: dict[tuple[str, str], dict[str, dict[float, list[ObservationRow]]]] = {}
    for row in rows:
        if row.origin != "probe" or not row.dns_engine:
            continue
        key = (row.dns_engine, row.dns_resolver_address or "")
        if key not in views:
            views[key] = ResolverView(_label(row), key[0], key[1])
        by_time = grouped.setdefault(key, {}).setdefault(row.dns_query_type or "ANY", {})
        by_time.setdefault(row.dns_t if row.dns_t is not None else 0.0, []).append(row)
    for key, by_type in grouped.items():
        views[key].replies = {q: [by_t[t] for t in sorted(by_t)] for q, by_t in by_type.items()}
    return sorted(views.values(), key=lambda v: (_ENGINE_ORDER.get(v.engine, 9), v.address))


@dataclass(frozen=True)
class ReferenceView:
    """The reference as the rows show it: who (``the control`` or a DoH resolver's label),
    its addresses, and its failure when it has none."""

    label: str
    addresses: tuple[str, ...]
    failure: str | None


def reference_of(rows: Sequence[ObservationRow], views: Sequence[ResolverView]
                 ) -> ReferenceView | None:
    """The control's DNS answer, else the first DoH resolver that answered (and was not
    given different replies), else None."""
    ctrl = [r for r in rows if r.origin == "control" and (r.dns_answer or r.dns_failure)]
    if ctrl:
        addrs = tuple(dict.fromkeys(r.ip for r in ctrl if r.ip and r.dns_answer))
        failure = None if addrs else next((r.dns_failure for r in ctrl if r.dns_failure), None)
        return ReferenceView(CONTROL, addrs, failure)
    for view in views:
        if view.engine == "doh" and view.addresses and view.distinct() is None:
            return ReferenceView(view.label, tuple(view.addresses), None)
    return None


def domain_of(rows: Sequence[ObservationRow]) -> str:
    """The measured name: the host the probe's lookups asked for."""
    return next((ascii_name(r.hostname) for r in rows
                 if r.origin == "probe" and r.dns_engine and r.hostname), "")


def tls_results(rows: Sequence[ObservationRow], domain: str) -> dict[str, str]:
    """The TLS result per IP of the probe's handshakes with ``domain`` (a failed connect
    without a handshake counts as failed; a valid handshake wins over others)."""
    out: dict[str, str] = {}
    for r in rows:
        if r.origin != "probe" or not r.ip:
            continue
        if r.tls_success is not None or r.tls_failure is not None:
            if ascii_name(r.tls_server_name) != domain:
                continue
            found = tls_result(r.tls_success, r.tls_failure, r.tls_no_verify is not True)
        elif r.tcp_success is False:
            found = TLS_FAILED
        else:
            continue
        if found is not None and out.get(r.ip) != TLS_VALID:
            out[r.ip] = found
    return out


def _annotations(rows: Sequence[ObservationRow]) -> dict[str, int]:
    return {r.dns_answer: r.dns_answer_asn for r in rows
            if r.origin == "probe" and r.dns_answer and r.dns_answer_asn}


@dataclass
class _Analysis:
    """Everything the verdict and its evidence are made from."""

    domain: str
    views: list[ResolverView]
    reference: ReferenceView
    tls: dict[str, str]
    classes: list[Classification]
    bogon: Callable[[str], bool]
    raw_keys: Mapping[str, Any] | None = None


def _analyse(rows: Sequence[ObservationRow], views: list[ResolverView],
             ref: ReferenceView, ctx: AnalysisContext | None) -> _Analysis:
    domain = domain_of(rows)
    tls = tls_results(rows, domain)
    annotated = _annotations(rows)

    def asn_of(ip: str) -> int:
        if ctx is not None:
            return ctx.asn(ip, annotated.get(ip))
        return annotated.get(ip, 0)

    def bogon(ip: str) -> bool:
        return ctx.is_bogon(ip) if ctx is not None else is_bogon(ip)

    reference = Reference(frozenset(ref.addresses), {ip: asn_of(ip) for ip in ref.addresses},
                          ref.failure)
    classes = [classify(failure=(fr.dns_failure if (fr := v.failure_row()) else None),
                        addresses=v.addresses,
                        distinct_replies=len(d[1]) if (d := v.distinct()) else 1,
                        reference=reference, asn_of=asn_of, is_bogon=bogon, tls=tls)
               for v in views]
    return _Analysis(domain, views, ref, tls, classes, bogon)


# --- evidence -----------------------------------------------------------------------------

def _tls_failures(a: _Analysis, view: ResolverView, rows: Sequence[ObservationRow]
                  ) -> list[Evidence]:
    out: list[Evidence] = []
    for ip in view.addresses[:2]:
        for r in rows:
            if r.origin != "probe" or r.ip != ip:
                continue
            if r.tls_success is False and ascii_name(r.tls_server_name) == a.domain:
                out.append(describe_failure(r, ("tls", r.tls_failure or "unknown_failure")))
                break
            if r.tcp_success is False:
                out.append(describe_failure(r, ("tcp", r.tcp_failure or "unknown_failure")))
                break
    return out


def _statements(a: _Analysis, view: ResolverView, found: Classification,
                rows: Sequence[ObservationRow]) -> list[Evidence]:
    """What shows ``view``'s class, as checkable statements."""
    ref = a.reference
    label = found.label
    if label == "injected":
        qtype, replies = view.distinct() or ("", [])
        return [say("dnsc.injected", resolver=view.label, count=len(replies),
                    query_type=qtype, replies=replies)]
    failure = view.failure_row()
    if failure is not None and failure.dns_failure:
        out = [describe_failure(failure, ("dns", failure.dns_failure))]
        if label == "nxdomain":
            out.append(say("dnsc.reference_answered", reference=ref.label, domain=a.domain,
                           addresses=list(ref.addresses)))
        elif label == "consistent" and ref.failure:
            out.append(say("dnsc.reference_without_address", reference=ref.label,
                           domain=a.domain, failure=ref.failure))
        return out
    if label == "bogon":
        return [say("dnsc.bogon", resolver=view.label, address=found.address,
                    reference=ref.label)]
    if label == "consistent" and found.asn is not None:
        return [say("dnsc.same_asn", resolver=view.label, address=found.address,
                    asn=found.asn, reference=ref.label, reference_address=found.reference)]
    if label == "consistent":
        return [say("dnsc.matches_reference", resolver=view.label, address=found.address,
                    reference=ref.label)]
    answered = say("dnsc.answered", resolver=view.label, addresses=view.addresses)
    if label in FAILED_CLASSES:
        return [answered]
    if label == "cdn_valid_cert":
        return [answered, say("dnsc.valid_cert", resolver=view.label, address=found.address,
                              domain=a.domain)]
    if label == "unverified":
        return [say("dnsc.unverified", resolver=view.label, addresses=view.addresses,
                    reference=ref.label, reference_addresses=list(ref.addresses))]
    return [say("dnsc.no_valid_cert", resolver=view.label, addresses=view.addresses,
                reference=ref.label, reference_addresses=list(ref.addresses),
                domain=a.domain), *_tls_failures(a, view, rows)]


def _evidence(a: _Analysis, rows: Sequence[ObservationRow], first: int | None
              ) -> list[Evidence]:
    """The deciding resolver's statements first, then the others', then which resolver the
    system really uses (from the raw whoami keys, when at hand)."""
    order = list(range(len(a.views)))
    if first is not None:
        order.remove(first)
        order.insert(0, first)
    out: list[Evidence] = []
    for i in order[:_MAX_RESOLVERS]:
        out += _statements(a, a.views[i], a.classes[i], rows)
    who = _whoami_facts(a.raw_keys)
    if isinstance(who, dict):
        out.append(say("dnsc.whoami", **who))
    return _unique(out)


def _unique(items: Sequence[Evidence]) -> list[Evidence]:
    """``items`` without repeated statements (two resolvers failing alike cite the same
    reference), first occurrence kept."""
    seen: set[tuple[str, str]] = set()
    out: list[Evidence] = []
    for ev in items:
        if (ev.claim, ev.text) not in seen:
            seen.add((ev.claim, ev.text))
            out.append(ev)
    return out


def _whoami_facts(tk: Mapping[str, Any] | None) -> dict[str, Any] | str:
    """The system resolver's address as the whoami lookup saw it, and its AS."""
    if tk is None:
        return NEEDS_RAW
    found = tk.get("x_dns_whoami")
    system = found.get("system_v4") if isinstance(found, Mapping) else None
    if not isinstance(system, list) or not system or not isinstance(system[0], Mapping) or \
            not system[0].get("address"):
        return "test_keys.x_dns_whoami.system_v4 is empty"
    asn = tk.get("client_resolver_asn")
    return {"address": system[0]["address"], "asn": asn if isinstance(asn, int) else 0}


# --- the verdict --------------------------------------------------------------------------

def _first(a: _Analysis, labels: frozenset[str]) -> int | None:
    return next((i for i, c in enumerate(a.classes) if c.label in labels), None)


def _forged_bogon(a: _Analysis, view: ResolverView) -> bool:
    return any(a.bogon(r.dns_answer) and r.dns_answer not in a.reference.addresses
               for replies in view.replies.values() for reply in replies for r in reply
               if r.dns_answer_type in ("A", "AAAA") and r.dns_answer)


@register("dns_consistency")
def score_dns_consistency(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """See the module docstring: injection, then NXDOMAIN / bogon / lie (system resolver
    first), then a failing system resolver, then unchecked differences; else ok."""
    rows = probe_rows(subject) + [r for r in subject.observations if r.origin == "control"]
    views = resolver_views(rows)
    if not views:  # OONI's legacy test: the fallback's verdict, under this family's version
        legacy = score_fallback(subject, ctx)
        return decide(subject, ctx, legacy.rule_id, evidence=legacy.evidence)
    ref = reference_of(rows, views)
    if ref is None:
        return decide(subject, ctx, "dnsc.no_reference", evidence=[
            say("dnsc.no_reference", source="control"),
            *(say("dnsc.answered", resolver=v.label, addresses=v.addresses)
              for v in views[:_MAX_RESOLVERS] if v.addresses)])
    a = _analyse(rows, views, ref, ctx)
    a.raw_keys = test_keys(subject)
    injected = _first(a, frozenset({"injected"}))
    if injected is not None:
        return decide(subject, ctx, "dnsc.injected_bogon" if _forged_bogon(a, views[injected])
                      else "dnsc.injected", evidence=_evidence(a, rows, injected))
    tampered = _first(a, frozenset({"nxdomain", "bogon", "lie"}))
    if tampered is not None:
        label = a.classes[tampered].label
        return decide(subject, ctx, "dnsc.nxdomain" if label == "nxdomain" else "dnsc.bogon"
                      if label == "bogon" else "dnsc.lie", evidence=_evidence(a, rows, tampered))
    system = 0 if views[0].engine == "getaddrinfo" else None
    if system is not None and a.classes[0].label in FAILED_CLASSES and ref.addresses:
        row = views[0].failure_row()
        failure = row.dns_failure if row is not None and row.dns_failure else "unknown_failure"
        return decide(subject, ctx, "dnsc.system_failed", failure=("dns", failure),
                      evidence=_unique([*_evidence(a, rows, 0),
                                        say("dnsc.reference_answered", reference=ref.label,
                                            domain=a.domain, addresses=list(ref.addresses))]))
    unverified = _first(a, frozenset({"unverified"}))
    if unverified is not None:
        return decide(subject, ctx, "dnsc.unverified", evidence=_evidence(a, rows, unverified))
    if not ref.addresses:
        return decide(subject, ctx, "dnsc.name_missing", evidence=_unique([
            say("dnsc.reference_without_address", reference=ref.label, domain=a.domain,
                failure=ref.failure or "dns_no_answer"), *_evidence(a, rows, None)]))
    cdn = _first(a, frozenset({"cdn_valid_cert"}))
    if cdn is not None:
        return decide(subject, ctx, "dnsc.cdn_valid_cert", evidence=_evidence(a, rows, cdn))
    return decide(subject, ctx, "dnsc.consistent", evidence=_evidence(a, rows, None))


# --- claims: each recomputes its facts from the rows -----------------------------------------

def _rows(facts: Facts) -> list[ObservationRow]:
    return [r for r in facts.observations if r.origin in ("probe", "control")]


def _view(facts: Facts, label: Any) -> ResolverView | str:
    for view in resolver_views(_rows(facts)):
        if view.label == label:
            return view
    return f"the probe has no resolver {label!r}"


def _reference(facts: Facts, label: Any) -> ReferenceView | str:
    rows = _rows(facts)
    ref = reference_of(rows, resolver_views(rows))
    if ref is None or ref.label != label:
        return f"the reference is {ref.label if ref else None!r}, not {label!r}"
    return ref


def _asn_agrees(facts: Facts, ip: Any, asn: Any) -> bool:
    """The probe's AS annotation of ``ip`` says ``asn`` (or there is none: the analysis'
    AS table decided)."""
    annotated = _annotations(_rows(facts)).get(str(ip))
    return annotated is None or annotated == asn


@_recomputed("dnsc.answered", "{resolver} answered {addresses}")
def _answered(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    view = _view(facts, ev.facts.get("resolver"))
    if isinstance(view, str):
        return view
    return {"resolver": view.label, "addresses": view.addresses}


@_recomputed("dnsc.matches_reference", "{address} from {resolver} is also what {reference} "
                                       "returned")
def _matches(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    view, ref = _view(facts, ev.facts.get("resolver")), _reference(facts,
                                                                   ev.facts.get("reference"))
    if isinstance(view, str) or isinstance(ref, str):
        return view if isinstance(view, str) else str(ref)
    ip = ev.facts.get("address")
    if ip not in view.addresses or ip not in ref.addresses:
        return f"{ip} is not an answer of both"
    return {"resolver": view.label, "address": ip, "reference": ref.label}


@_recomputed("dnsc.same_asn", "{address} from {resolver} is in AS{asn}, as is "
                              "{reference_address}, which {reference} returned")
def _same_asn(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    f = ev.facts
    view, ref = _view(facts, f.get("resolver")), _reference(facts, f.get("reference"))
    if isinstance(view, str) or isinstance(ref, str):
        return view if isinstance(view, str) else str(ref)
    if f.get("address") not in view.addresses:
        return f"{f.get('address')} is not an answer of {view.label}"
    if f.get("reference_address") not in ref.addresses:
        return f"{f.get('reference_address')} is not an answer of {ref.label}"
    if not isinstance(f.get("asn"), int) or not f.get("asn"):
        return "no AS number"
    for ip in (f.get("address"), f.get("reference_address")):
        if not _asn_agrees(facts, ip, f.get("asn")):
            return f"the probe annotated {ip} with another AS"
    return {"resolver": view.label, "address": f.get("address"), "asn": f.get("asn"),
            "reference": ref.label, "reference_address": f.get("reference_address")}


@_recomputed("dnsc.valid_cert", "{address} from {resolver} completed a TLS handshake with a "
                                "valid certificate for {domain}")
def _valid_cert(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    view = _view(facts, ev.facts.get("resolver"))
    if isinstance(view, str):
        return view
    domain = domain_of(_rows(facts))
    ip = ev.facts.get("address")
    if ip not in view.addresses:
        return f"{ip} is not an answer of {view.label}"
    if tls_results(_rows(facts), domain).get(str(ip)) != TLS_VALID:
        return f"no verified handshake with {domain} at {ip}"
    return {"resolver": view.label, "address": ip, "domain": domain}


@_recomputed("dnsc.no_valid_cert", "{resolver} answered {addresses}: none is an answer of "
                                   "{reference} ({reference_addresses}) or in its AS, and "
                                   "none completed a TLS handshake with a valid certificate "
                                   "for {domain}")
def _no_valid_cert(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    f = ev.facts
    view, ref = _view(facts, f.get("resolver")), _reference(facts, f.get("reference"))
    if isinstance(view, str) or isinstance(ref, str):
        return view if isinstance(view, str) else str(ref)
    domain = domain_of(_rows(facts))
    tls = tls_results(_rows(facts), domain)
    if set(view.addresses) & set(ref.addresses):
        return "an answer is one of the reference's"
    if any(tls.get(ip) == TLS_VALID for ip in view.addresses):
        return "an answer completed a verified handshake"
    annotated = _annotations(_rows(facts))
    ref_asns = {annotated[ip] for ip in ref.addresses if ip in annotated}
    if any(annotated.get(ip) in ref_asns for ip in view.addresses):
        return "an answer is annotated with the AS of a reference answer"
    return {"resolver": view.label, "addresses": view.addresses, "reference": ref.label,
            "reference_addresses": list(ref.addresses), "domain": domain}


@_recomputed("dnsc.unverified", "{resolver} answered {addresses}, not what {reference} "
                                "returned ({reference_addresses}), and no TLS handshake was "
                                "made with them")
def _unverified(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    f = ev.facts
    view, ref = _view(facts, f.get("resolver")), _reference(facts, f.get("reference"))
    if isinstance(view, str) or isinstance(ref, str):
        return view if isinstance(view, str) else str(ref)
    tls = tls_results(_rows(facts), domain_of(_rows(facts)))
    if set(view.addresses) & set(ref.addresses) or any(ip in tls for ip in view.addresses):
        return "an answer is the reference's or was TLS-checked"
    return {"resolver": view.label, "addresses": view.addresses, "reference": ref.label,
            "reference_addresses": list(ref.addresses)}


@_recomputed("dnsc.bogon", "{resolver} answered the bogon {address}, which {reference} did "
                           "not return")
def _bogon(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    f = ev.facts
    view, ref = _view(facts, f.get("resolver")), _reference(facts, f.get("reference"))
    if isinstance(view, str) or isinstance(ref, str):
        return view if isinstance(view, str) else str(ref)
    ip = f.get("address")
    if ip not in view.addresses or not is_bogon(str(ip)) or ip in ref.addresses:
        return f"{ip} is not a bogon answer of {view.label} alone"
    return {"resolver": view.label, "address": ip, "reference": ref.label}


@_recomputed("dnsc.injected", "{resolver} got {count} different replies to one {query_type} "
                              "query: {replies}")
def _injected(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    view = _view(facts, ev.facts.get("resolver"))
    if isinstance(view, str):
        return view
    found = view.distinct()
    if found is None:
        return f"{view.label} got one reply per query"
    return {"resolver": view.label, "count": len(found[1]), "query_type": found[0],
            "replies": found[1]}


@_recomputed("dnsc.reference_answered", "{reference} resolved {domain} to {addresses}")
def _reference_answered(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    ref = _reference(facts, ev.facts.get("reference"))
    if isinstance(ref, str):
        return ref
    if not ref.addresses:
        return f"{ref.label} has no address"
    return {"reference": ref.label, "domain": domain_of(_rows(facts)),
            "addresses": list(ref.addresses)}


@_recomputed("dnsc.reference_without_address", "{reference} found no address for {domain} "
                                               "({failure})")
def _reference_without(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    ref = _reference(facts, ev.facts.get("reference"))
    if isinstance(ref, str):
        return ref
    if ref.addresses:
        return f"{ref.label} resolved the name"
    return {"reference": ref.label, "domain": domain_of(_rows(facts)),
            "failure": ref.failure or "dns_no_answer"}


@_recomputed("dnsc.no_reference", "neither the control nor a DoH resolver resolved the name")
def _no_reference(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    rows = _rows(facts)
    ref = reference_of(rows, resolver_views(rows))
    return {} if ref is None else f"{ref.label} is a reference"


@_recomputed("dnsc.whoami", "the system resolver's queries reach the name servers from "
                            "{address} (AS{asn}): the resolver it really uses", raw=True)
def _whoami(ev: Evidence, facts: Facts) -> Mapping[str, Any] | str:
    tk = facts.raw.get("test_keys") if facts.raw is not None else None
    return _whoami_facts(tk if isinstance(tk, Mapping) else None)
