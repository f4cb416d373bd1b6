"""The claims of the Web Connectivity analysis: each kind of statement, its wording and its check.

Every evidence item the Web Connectivity scorer emits is one of these (``say(claim_id,
source=…, **facts)``), states one thing about one source, and is verified here against the
measurement's observation rows (``Facts``), against the measurements it cites (``context``:
``Facts.lookup``; the same probe AS is checked by ``check_verdict`` itself), or, for
``rules`` claims, by matching the fingerprint again / asking the same question the rule asked
of the measurement's own rows.

Facts use the names of the rows: ``hostname``, ``engine``, ``failure``, ``address``/``ip``,
``port``, ``endpoint`` (``ip:port``, IPv6 in brackets), ``server_name``, ``url``, ``status``,
``count``/``asn`` (context), ``fingerprint``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from censorscope.model.endpoint import join_host_port as endpoint
from censorscope.model.evidence import Evidence
from censorscope.model.ipinfo import is_bogon
from censorscope.model.rows import ObservationRow
from censorscope.pipeline.evidence import Facts, claim

from .webview import OTHER_RESOLVER_ENGINES, ascii_name

__all__ = ["TLS_VERB", "WC_CLAIMS", "endpoint", "engine_of", "tls_verb"]

TLS_VERB: Final = {"generic_timeout_error": "timed out", "connection_reset": "was reset",
                   "eof_error": "was closed (EOF)"}
NXDOMAIN: Final = frozenset({"dns_nxdomain_error", "dns_name_error"})
CHALLENGE_TITLES: Final = ("just a moment...", "attention required! | cloudflare",
                           "ddos-guard", "checking your browser")

WC_CLAIMS: list[str] = []


def tls_verb(failure: str | None) -> str:
    return TLS_VERB.get(failure or "", f"failed with {failure}")


def wc_claim(claim_id: str, template: str
             ) -> Callable[[Callable[[Evidence, Facts], str | None]],
                           Callable[[Evidence, Facts], str | None]]:
    WC_CLAIMS.append(claim_id)
    return claim(claim_id, template)


# --- row helpers ---------------------------------------------------------------------------
def _probe(facts: Facts | Sequence[ObservationRow], ev: Evidence | None = None
           ) -> list[ObservationRow]:
    """The probe's rows; only the row ``ev`` names when it states an ``observation``."""
    rows = facts.observations if isinstance(facts, Facts) else facts
    idx = ev.facts.get("observation") if ev is not None else None
    return [r for r in rows if r.origin == "probe"
            and (idx is None or r.observation_idx == idx)]


def _control(facts: Facts | Sequence[ObservationRow]) -> list[ObservationRow]:
    rows = facts.observations if isinstance(facts, Facts) else facts
    return [r for r in rows if r.origin != "probe"]


def engine_of(r: ObservationRow) -> str:
    """The lookup's engine (``system`` when the measurement does not say: OONI's legacy
    lookups used the system resolver)."""
    return r.dns_engine or "system"


def _is_lookup(r: ObservationRow) -> bool:
    return r.dns_query_type is not None or r.dns_engine is not None


def _answers(rows: Iterable[ObservationRow], hostname: str, engine: str | None = None
             ) -> set[str]:
    host = ascii_name(hostname)
    return {r.dns_answer for r in rows
            if _is_lookup(r) and r.dns_answer and ascii_name(r.hostname) == host
            and (engine is None or engine_of(r) == engine)}


def _control_answers(rows: Iterable[ObservationRow], hostname: str) -> set[str]:
    host = ascii_name(hostname)
    return {r.ip for r in rows if r.origin != "probe" and r.dns_answer and r.ip
            and r.port is None and ascii_name(r.hostname) == host}


def _other_resolver_answers(rows: Iterable[ObservationRow], hostname: str) -> set[str]:
    host = ascii_name(hostname)
    return {r.dns_answer for r in rows
            if r.origin == "probe" and r.dns_engine in OTHER_RESOLVER_ENGINES and r.dns_answer
            and ascii_name(r.hostname) == host}


def _answered(facts: Facts, hostname: str, addresses: Sequence[str]) -> str | None:
    """None if the probe got every one of ``addresses`` for ``hostname``."""
    got = _answers(_probe(facts), hostname)
    missing = [a for a in addresses if a not in got]
    if missing or not addresses:
        return f"the probe did not get {', '.join(missing) or 'any address'} for {hostname}"
    return None


def _is_lie(facts: Facts, hostname: str, address: str) -> bool:
    """An answer already judged a lie: a bogon, a blockpage address, or one whose handshake
    for the name failed certificate validation here (it does not vote)."""
    from censorscope.pipeline import fingerprints

    host = ascii_name(hostname)
    return is_bogon(address) or bool(fingerprints.match_dns([address], facts.meta.probe_cc)) \
        or any(r.ip == address and (r.tls_failure or "").startswith("ssl_")
               and ascii_name(r.tls_server_name) == host for r in _probe(facts))


def _endpoint_ok(ev: Evidence) -> str | None:
    f = ev.facts
    if "endpoint" in f and f["endpoint"] != endpoint(str(f.get("ip")), f.get("port")):
        return "endpoint does not match ip and port"
    return None


def _at(rows: Iterable[ObservationRow], ip: Any, port: Any) -> list[ObservationRow]:
    return [r for r in rows if r.ip == ip and r.port == port]


def _valid_handshake(r: ObservationRow, ip: Any, name: str) -> bool:
    return (r.ip == ip and bool(r.tls_success) and r.tls_no_verify is not True
            and ascii_name(r.tls_server_name) == ascii_name(name))


def _control_http(facts: Facts) -> ObservationRow | None:
    for r in _control(facts):
        if r.ip is None and (r.http_request_url is not None or r.http_success is not None):
            return r
    return None


def _context_common(ev: Evidence, facts: Facts) -> str | None:
    if ev.source != "context":
        return "a context claim must cite context"
    if ev.facts.get("count") != ev.context_count:
        return "count differs from the number of measurements cited"
    if ev.facts.get("asn") != facts.meta.probe_asn:
        return "AS is not the measurement's"
    if facts.meta.measurement_uid in ev.context_uids:
        return "cites itself as another measurement"
    return None


def _each_cited(ev: Evidence, facts: Facts,
                shows: Callable[[Any, Sequence[ObservationRow]], bool]) -> str | None:
    bad = _context_common(ev, facts)
    if bad is not None:
        return bad
    assert facts.lookup is not None  # check_verdict makes sure
    for uid in ev.context_uids:
        other = facts.lookup(uid)
        if other is None:
            return f"cited measurement {uid} is unknown"
        if not shows(other[0], other[1]):
            return f"cited measurement {uid} does not show it"
    return None


# --- DNS: the probe's lookups --------------------------------------------------------------
@wc_claim("dns.lookup_failed", "The {engine} lookup of {hostname} failed with {failure}.")
def _lookup_failed(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    host = ascii_name(f["hostname"])
    if any(_is_lookup(r) and ascii_name(r.hostname) == host and engine_of(r) == f["engine"]
           and r.dns_failure == f["failure"] for r in _probe(facts)):
        return None
    return "no such failed lookup"


@wc_claim("dns.answer", "The {engine} lookup of {hostname} returned {addresses}.")
def _answer(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    got = _answers(_probe(facts), f["hostname"], f["engine"])
    missing = [a for a in f["addresses"] if a not in got]
    return f"not returned: {', '.join(missing)}" if missing or not f["addresses"] else None


@wc_claim("dns.tls_valid_here", "{address} completed a TLS handshake with a valid certificate "
          "for {hostname} in this measurement (observation {observation}).")
def _tls_valid_here(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    if any(_valid_handshake(r, f["address"], f["hostname"]) for r in _probe(facts, ev)):
        return None
    return "no such handshake"


# --- DNS: the control and other measurements -------------------------------------------------
@wc_claim("control.dns_answer", "The control resolved {hostname} to {addresses}.")
def _control_dns_answer(ev: Evidence, facts: Facts) -> str | None:
    got = _control_answers(facts.observations, ev.facts["hostname"])
    missing = [a for a in ev.facts["addresses"] if a not in got]
    return f"not returned by the control: {', '.join(missing)}" if missing else None


@wc_claim("control.dns_failed", "The control could not resolve {hostname}: {failure}.")
def _control_dns_failed(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    host = ascii_name(f["hostname"])
    ctrl = [r for r in _control(facts) if ascii_name(r.hostname) == host]
    if _control_answers(ctrl, host):
        return "the control resolved it"
    if any(r.dns_failure == f["failure"] for r in ctrl):
        return None
    return "the control did not fail that way"


@wc_claim("control.dns_no_address", "The control returned no address for {hostname}.")
def _control_no_address(ev: Evidence, facts: Facts) -> str | None:
    host = ascii_name(ev.facts["hostname"])
    if not any(ascii_name(r.hostname) == host for r in _control(facts)):
        return "the control did not look the name up"
    return "the control resolved it" if _control_answers(facts.observations,
                                                         ev.facts["hostname"]) else None


@wc_claim("control.dns_answer_elsewhere", "The control resolved {hostname} to {address} in "
          "{count} other measurement(s) from AS{asn}.")
def _control_answer_elsewhere(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    return _each_cited(ev, facts, lambda meta, rows: f["address"] in _control_answers(
        rows, f["hostname"]))


@wc_claim("dns.tls_valid_elsewhere", "{address} completed a TLS handshake with a valid "
          "certificate for {hostname} in {count} other measurement(s) from AS{asn}.")
def _tls_valid_elsewhere(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts

    def shows(meta: Any, rows: Sequence[ObservationRow]) -> bool:
        if any(_valid_handshake(r, f["address"], f["hostname"]) for r in _probe(rows)):
            return True
        resolved = {r.ip for r in _control(rows) if r.dns_answer and r.port is None}
        return f["address"] in resolved and any(
            _valid_handshake(r, f["address"], f["hostname"]) for r in _control(rows))

    return _each_cited(ev, facts, shows)


# --- DNS: what the rules know ----------------------------------------------------------------
@wc_claim("dns.blockpage_ip", "{address} is a known blockpage address (fingerprint "
          "{fingerprint}).")
def _blockpage_ip(ev: Evidence, facts: Facts) -> str | None:
    from censorscope.pipeline import fingerprints

    hits = fingerprints.match_dns([ev.facts["address"]], facts.meta.probe_cc)
    return None if any(h.id == ev.facts["fingerprint"] for h in hits) else \
        "the fingerprint does not match the address"


@wc_claim("dns.bogon", "{address} is a bogon (a private, loopback or otherwise non-public "
          "address).")
def _bogon(ev: Evidence, facts: Facts) -> str | None:
    return None if is_bogon(ev.facts["address"]) else "not a bogon"


@wc_claim("dns.no_reference", "Neither the control nor another resolver of this measurement "
          "resolved {hostname}.")
def _no_reference(ev: Evidence, facts: Facts) -> str | None:
    host = ev.facts["hostname"]
    if not any(_is_lookup(r) and ascii_name(r.hostname) == ascii_name(host)
               for r in _probe(facts)):
        return "the probe did not look the name up"
    if _control_answers(facts.observations, host) or _other_resolver_answers(
            facts.observations, host):
        return "a reference answer exists"
    return None


@wc_claim("dns.reference_vetoed", "The other resolvers' answers for {hostname} ({addresses}) "
          "do not vote: each is a bogon, a known blockpage address or failed certificate "
          "validation for the name.")
def _reference_vetoed(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    host = ascii_name(f["hostname"])
    others = _other_resolver_answers(facts.observations, host)
    for a in f["addresses"]:
        if a not in others:
            return f"{a} is not another resolver's answer"
        if not _is_lie(facts, host, a):
            return f"{a} may vote"
    return None if f["addresses"] else "no address"


@wc_claim("dns.not_reference", "The control and other resolvers of this measurement returned "
          "{reference} for {hostname}, not {addresses}.")
def _not_reference(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    ref = _control_answers(facts.observations, f["hostname"]) | _other_resolver_answers(
        facts.observations, f["hostname"])
    if not f["reference"] or any(a not in ref for a in f["reference"]):
        return "the reference is not what the control and other resolvers returned"
    if any(a in ref for a in f["addresses"]):
        return "an address is a reference answer"
    return _answered(facts, f["hostname"], f["addresses"])


@wc_claim("dns.unmatched", "{addresses} is not among the reference addresses for {hostname} "
          "({reference}), by IP or AS.")
def _unmatched(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    ref = set(f["reference"])
    if not ref:
        return "no reference addresses"
    if any(a in ref for a in f["addresses"]):
        return "an address is a reference address"
    own = _control_answers(facts.observations, f["hostname"]) | _other_resolver_answers(
        facts.observations, f["hostname"])
    if any(not _is_lie(facts, f["hostname"], a) for a in own - ref - set(f["addresses"])):
        return "a reference answer of this measurement is left out"
    annotated = {r.dns_answer: r.dns_answer_asn for r in _probe(facts)
                 if r.dns_answer and r.dns_answer_asn}
    ref_asns = {annotated.get(a) for a in ref} - {None}
    if any(annotated.get(a) in ref_asns for a in f["addresses"]):
        return "an address is in the AS of a reference answer"
    return _answered(facts, f["hostname"], f["addresses"])


@wc_claim("dns.no_valid_tls", "No TLS handshake with a valid certificate for {hostname} was "
          "seen at {addresses} from AS{asn}, in this measurement or in another.")
def _no_valid_tls(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    if f["asn"] != facts.meta.probe_asn:
        return "AS is not the measurement's"
    if any(_valid_handshake(r, a, f["hostname"]) for r in _probe(facts)
           for a in f["addresses"]):
        return "an address completed a valid handshake for the name here"
    return _answered(facts, f["hostname"], f["addresses"])


@wc_claim("dns.tls_elsewhere_unproven", "The handshake for {hostname} at {address} failed here "
          "with {failure} and no other server name completed there in this probe session: a "
          "valid handshake in another measurement does not vouch for this answer.")
def _tls_elsewhere_unproven(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    probe = _probe(facts)
    if not any(r.ip == f["address"] and r.tls_failure == f["failure"]
               and ascii_name(r.tls_server_name) == ascii_name(f["hostname"]) for r in probe):
        return "no such failed handshake"
    if any(r.ip == f["address"] and r.tls_success
           and ascii_name(r.tls_server_name) != ascii_name(f["hostname"]) for r in probe):
        return "another name completed there in this measurement"
    return None


@wc_claim("dns.same_asn", "{address} is in AS{asn}, as is {reference}, which the control or "
          "another resolver returned for {hostname}.")
def _same_asn(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    annotated = {r.dns_answer: r.dns_answer_asn for r in _probe(facts)
                 if r.dns_answer and r.dns_answer_asn}
    if annotated.get(f["address"]) != f["asn"] or annotated.get(f["reference"]) != f["asn"]:
        return "the AS annotations do not say so"
    if f["reference"] not in (_control_answers(facts.observations, f["hostname"])
                              | _other_resolver_answers(facts.observations, f["hostname"])):
        return "the reference address is not a reference answer"
    return None


@wc_claim("control.nxdomain", "The control found that {hostname} does not exist ({failure}).")
def _control_nxdomain(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    if f["failure"] not in NXDOMAIN:
        return "not an NXDOMAIN failure"
    return _control_dns_failed(ev, facts)


# --- the control's view of endpoints and the page --------------------------------------------
@wc_claim("control.absent", "The measurement has no control (test helper) answer.")
def _control_absent(ev: Evidence, facts: Facts) -> str | None:
    return "the measurement has a control" if _control(facts) else None


@wc_claim("control.http_ok", "The control fetched the page, following redirects (status "
          "{status}).")
def _control_http_ok(ev: Evidence, facts: Facts) -> str | None:
    h = _control_http(facts)
    if h is None or h.http_failure is not None:
        return "the control did not fetch the page"
    return None if h.http_response_status_code == ev.facts["status"] else "another status"


@wc_claim("control.http_failed", "The control could not fetch the page: {failure}.")
def _control_http_failed(ev: Evidence, facts: Facts) -> str | None:
    h = _control_http(facts)
    if h is None:
        return "the control made no request"
    return None if h.http_failure == ev.facts["failure"] else "the control did not fail so"


@wc_claim("control.http_no_page", "The control got no page (status {status}).")
def _control_http_no_page(ev: Evidence, facts: Facts) -> str | None:
    h = _control_http(facts)
    if h is None or (h.http_response_status_code or 0) > 0:
        return "the control got a page"
    return None if h.http_response_status_code == ev.facts["status"] else "another status"


@wc_claim("control.no_http", "The control made no HTTP request for the page.")
def _control_no_http(ev: Evidence, facts: Facts) -> str | None:
    if not _control(facts):
        return "there is no control"
    return "the control made a request" if _control_http(facts) is not None else None


@wc_claim("control.http_length", "The control received {length} bytes of the page.")
def _control_http_length(ev: Evidence, facts: Facts) -> str | None:
    h = _control_http(facts)
    return None if h is not None and h.http_response_body_length == ev.facts["length"] \
        else "the control received another length"


@wc_claim("control.tcp_ok", "The control connected to {endpoint}.")
def _control_tcp_ok(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    if any(r.tcp_success for r in _at(_control(facts), f["ip"], f["port"])):
        return _endpoint_ok(ev)
    return "the control did not connect there"


@wc_claim("control.tcp_failed", "The control's connect to {endpoint} failed with {failure}.")
def _control_tcp_failed(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    if any(r.tcp_success is not True and r.tcp_failure == f["failure"]
           for r in _at(_control(facts), f["ip"], f["port"])):
        return _endpoint_ok(ev)
    return "the control's connect did not fail so"


@wc_claim("control.no_tcp", "The control made no TCP connect to {endpoint}.")
def _control_no_tcp(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    if any(r.tcp_success is not None or r.tcp_failure is not None
           for r in _at(_control(facts), f["ip"], f["port"])):
        return "the control connected there"
    return _endpoint_ok(ev)


@wc_claim("control.no_tls", "The control made no TLS handshake at {endpoint}.")
def _control_no_tls(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    if any(r.tls_success is not None or r.tls_failure is not None
           for r in _at(_control(facts), f["ip"], f["port"])):
        return "the control made a handshake there"
    return _endpoint_ok(ev)


@wc_claim("control.tls_ok", "The control completed the handshake with SNI {server_name} at "
          "{endpoint}.")
def _control_tls_ok(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    if any(r.tls_success and ascii_name(r.tls_server_name) == ascii_name(f["server_name"])
           for r in _at(_control(facts), f["ip"], f["port"])):
        return _endpoint_ok(ev)
    return "the control did not complete that handshake"


@wc_claim("control.tls_failed", "The control's TLS handshake at {endpoint} failed with "
          "{failure}.")
def _control_tls_failed(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    if any(r.tls_failure == f["failure"] for r in _at(_control(facts), f["ip"], f["port"])):
        return _endpoint_ok(ev)
    return "the control's handshake did not fail so"


# --- TCP ---------------------------------------------------------------------------------------
@wc_claim("tcp.connect_failed", "TCP connect to {endpoint} failed with {failure}.")
def _connect_failed(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    if any(r.tcp_failure == f["failure"] for r in _at(_probe(facts, ev), f["ip"], f["port"])):
        return _endpoint_ok(ev)
    return "no such failed connect"


@wc_claim("tcp.only_ipv6_failed", "Every failed connect was to an IPv6 address ({endpoints}): "
          "a probe without IPv6 connectivity.")
def _only_ipv6(ev: Evidence, facts: Facts) -> str | None:
    failed = {endpoint(r.ip, r.port) for r in _probe(facts)
              if r.ip and r.port is not None and r.tcp_failure is not None}
    if not failed or any(":" not in e.split("]")[0] for e in failed):
        return "an IPv4 connect failed"
    return None if set(ev.facts["endpoints"]) <= failed else "an endpoint did not fail"


# --- TLS ---------------------------------------------------------------------------------------
def _tls_row(ev: Evidence, facts: Facts) -> ObservationRow | str:
    f = ev.facts
    rows = [r for r in _at(_probe(facts, ev), f["ip"], f["port"])
            if r.tls_failure == f["failure"]
            and ascii_name(r.tls_server_name) == ascii_name(f["server_name"])]
    if not rows:
        return "no such failed handshake"
    if f["verb"] != tls_verb(f["failure"]):
        return "the verb does not say the failure"
    bad = _endpoint_ok(ev)
    return bad if bad is not None else rows[0]


def _hello_written(ev: Evidence, facts: Facts, *, timed: bool) -> str | None:
    r = _tls_row(ev, facts)
    if isinstance(r, str):
        return r
    f = ev.facts
    if not r.tls_handshake_write_count or r.tls_handshake_write_bytes != f["write_bytes"]:
        return "the ClientHello write is not recorded so"
    if timed and (r.tls_t is None or r.tcp_t is None or r.tls_t != f["tls_t"]
                  or r.tcp_t != f["tcp_t"] or round(r.tls_t - r.tcp_t, 1) != f["wait"]):
        return "the wait is not what the events say"
    return None


@wc_claim("tls.failed_after_hello", "TLS handshake to {endpoint} with SNI {server_name} "
          "{verb} {wait} s after the ClientHello write ({write_bytes} bytes).")
def _after_hello(ev: Evidence, facts: Facts) -> str | None:
    return _hello_written(ev, facts, timed=True)


@wc_claim("tls.failed_after_hello_untimed", "TLS handshake to {endpoint} with SNI "
          "{server_name} {verb} after the ClientHello write ({write_bytes} bytes).")
def _after_hello_untimed(ev: Evidence, facts: Facts) -> str | None:
    return _hello_written(ev, facts, timed=False)


@wc_claim("tls.failed_before_hello", "TLS handshake to {endpoint} with SNI {server_name} "
          "{verb} before the ClientHello was written: no server name had been sent.")
def _before_hello(ev: Evidence, facts: Facts) -> str | None:
    r = _tls_row(ev, facts)
    if isinstance(r, str):
        return r
    return None if r.tls_handshake_write_count == 0 else "a write is recorded"


@wc_claim("tls.failed", "TLS handshake to {endpoint} with SNI {server_name} {verb} (no "
          "network events say when).")
def _tls_failed(ev: Evidence, facts: Facts) -> str | None:
    r = _tls_row(ev, facts)
    if isinstance(r, str):
        return r
    return None if r.tls_handshake_write_count is None else "network events are recorded"


@wc_claim("tls.ok_here", "The same IP completed a handshake with SNI {server_name} in this "
          "measurement ({endpoint}).")
def _tls_ok_here(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    if any(r.tls_success and ascii_name(r.tls_server_name) == ascii_name(f["server_name"])
           for r in _at(_probe(facts, ev), f["ip"], f["port"])):
        return _endpoint_ok(ev)
    return "no such handshake"


@wc_claim("tls.ok_in_report", "{ip} completed a handshake with SNI {server_name} in {count} "
          "other measurement(s) of this probe session from AS{asn}.")
def _tls_ok_in_report(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    report = facts.meta.report_id

    def shows(meta: Any, rows: Sequence[ObservationRow]) -> bool:
        return meta.report_id == report and any(
            r.ip == f["ip"] and r.tls_success
            and ascii_name(r.tls_server_name) == ascii_name(f["server_name"])
            for r in _probe(rows))

    return _each_cited(ev, facts, shows)


# --- HTTP --------------------------------------------------------------------------------------
def _request(facts: Facts, url: str, ev: Evidence | None = None) -> list[ObservationRow]:
    return [r for r in _probe(facts, ev) if r.http_request_url == url]


@wc_claim("http.request_failed", "The request for {url} to {endpoint} failed with {failure}.")
def _request_failed(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    if any(r.http_failure == f["failure"] and r.ip == f["ip"] and r.port == f["port"]
           for r in _request(facts, f["url"], ev)):
        return _endpoint_ok(ev)
    return "no such failed request"


@wc_claim("http.request_failed_noaddr", "The request for {url} failed with {failure}.")
def _request_failed_noaddr(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    ok = any(r.http_failure == f["failure"] for r in _request(facts, f["url"], ev))
    return None if ok else "no such failed request"


@wc_claim("http.status", "The request for {url} got status {status}.")
def _status(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    ok = any(r.http_response_status_code == f["status"] for r in _request(facts, f["url"]))
    return None if ok else "no such response"


@wc_claim("http.sent_to", "The request for {url} went to {endpoint}.")
def _sent_to(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    if any(r.ip == f["ip"] and r.port == f["port"] for r in _request(facts, f["url"], ev)):
        return _endpoint_ok(ev)
    return "no such request"


def _download(ev: Evidence, facts: Facts) -> ObservationRow | str:
    f = ev.facts
    rows = [r for r in _request(facts, f["url"], ev)
            if r.http_failure == "generic_timeout_error" and r.ip == f["ip"]
            and r.port == f["port"] and (r.http_response_body_length or 0) == f["length"]]
    if not rows:
        return "no such timed-out download"
    bad = _endpoint_ok(ev)
    return bad if bad is not None else rows[0]


def download_secs(r: ObservationRow) -> float | None:
    start = r.tls_t if r.tls_t is not None else r.tcp_t
    if r.http_t is None or start is None or r.http_t <= start:
        return None
    return r.http_t - start


@wc_claim("http.slow_download", "The download of {url} from {endpoint} timed out after {secs} "
          "s having received {length} bytes ({rate} kB/s).")
def _slow_download(ev: Evidence, facts: Facts) -> str | None:
    r = _download(ev, facts)
    if isinstance(r, str):
        return r
    secs = download_secs(r)
    f = ev.facts
    if secs is None or r.http_t != f["http_t"] or round(secs, 1) != f["secs"] or \
            round(f["length"] / secs / 1000, 1) != f["rate"]:
        return "the times are not what the rows say"
    return None


@wc_claim("http.slow_download_untimed", "The download of {url} from {endpoint} timed out "
          "having received {length} bytes.")
def _slow_download_untimed(ev: Evidence, facts: Facts) -> str | None:
    r = _download(ev, facts)
    return r if isinstance(r, str) else None


def _response_body(facts: Facts, url: str) -> tuple[str | None, dict[str, str]] | None:
    from .web import final_response, stored_response

    body = final_response(facts.raw) if facts.raw is not None else None
    if body is None:
        rows = [r for r in _request(facts, url)
                if r.http_response_body is not None or r.http_response_headers is not None]
        body = stored_response(rows[-1]) if rows else None
    return None if body is None else (body.body, dict(body.headers))


def _fingerprint(ev: Evidence, facts: Facts, *, fp: bool) -> str | None:
    from censorscope.pipeline import fingerprints

    final = _final(facts, ev.facts["url"])
    if final is None:
        return "no request for that URL"
    got = _response_body(facts, ev.facts["url"])
    if got is None:
        return "the response body is not at hand"
    hits = fingerprints.match_http(got[0], got[1], facts.meta.probe_cc)
    if any(h.id == ev.facts["fingerprint"] and (h.scope == "fp") == fp for h in hits):
        return None
    return "the fingerprint does not match the response"


@wc_claim("http.blockpage_fp", "The response for {url} matches the blockpage fingerprint "
          "{fingerprint}.")
def _blockpage_fp(ev: Evidence, facts: Facts) -> str | None:
    return _fingerprint(ev, facts, fp=False)


@wc_claim("http.false_positive_fp", "The response for {url} matches the false-positive "
          "signature {fingerprint}: a CDN refusing this client, not a blockpage.")
def _false_positive_fp(ev: Evidence, facts: Facts) -> str | None:
    return _fingerprint(ev, facts, fp=True)


def _final(facts: Facts, url: str) -> ObservationRow | None:
    rows = sorted(_request(facts, url), key=lambda r: r.http_t if r.http_t is not None else -1)
    return rows[-1] if rows else None


@wc_claim("http.challenge", "The response for {url} is a {status} bot challenge (title "
          "\"{title}\"): a CDN refusing this client, not a blockpage.")
def _challenge(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    r = _final(facts, f["url"])
    if r is None or r.http_response_status_code != f["status"] or \
            (r.http_response_title or "") != f["title"]:
        return "no such response"
    return None if f["status"] in (403, 429, 503) and f["title"].strip().lower() in \
        CHALLENGE_TITLES else "not a challenge page"


@wc_claim("http.status_differs", "The probe got status {status} for {url}; the control got "
          "{control_status}.")
def _status_differs(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    r, c = _final(facts, f["url"]), _control_http(facts)
    if r is None or c is None or r.http_response_status_code != f["status"] or \
            (c.http_response_status_code or 0) != f["control_status"]:
        return "the statuses are not those"
    s = f["status"]
    return None if s is None or s // 100 != f["control_status"] // 100 else "same class"


@wc_claim("http.page_differs", "The probe's page at {url} (title \"{title}\", {length} "
          "bytes) differs from the control's (title \"{control_title}\", {control_length} "
          "bytes).")
def _page_differs(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    r, c = _final(facts, f["url"]), _control_http(facts)
    if r is None or c is None or (r.http_response_title or "") != f["title"] or \
            r.http_response_body_length != f["length"] or \
            (c.http_response_title or "") != f["control_title"] or \
            c.http_response_body_length != f["control_length"]:
        return "the pages are not those"
    if f["title"].strip().lower() == f["control_title"].strip().lower():
        return "same title"
    return None


@wc_claim("http.matches_control", "The page at {url} (status {status}) matches the control's.")
def _matches_control(ev: Evidence, facts: Facts) -> str | None:
    f = ev.facts
    r, c = _final(facts, f["url"]), _control_http(facts)
    if r is None or c is None or r.http_response_status_code != f["status"]:
        return "no such page"
    from .http import _diff

    if _diff(r, c):
        return "the page differs from the control's"
    return None


# --- the measurement ---------------------------------------------------------------------------
@wc_claim("web.no_steps", "The measurement recorded no DNS, TCP, TLS or HTTP step.")
def _no_steps(ev: Evidence, facts: Facts) -> str | None:
    return "it recorded steps" if facts.observations else None


@wc_claim("web.undecided", "No step of this measurement gave decisive evidence (e.g. only "
          "AAAA lookups without answers).")
def _undecided(ev: Evidence, facts: Facts) -> str | None:
    steps = [r for r in _probe(facts) if r.tcp_success is not None or r.tcp_failure
             or r.http_request_url is not None or r.tls_server_name]
    return "it made connects or requests" if steps else None


@wc_claim("registry.no_scorer", "No scorer is registered for {test_name}.")
def _no_scorer(ev: Evidence, facts: Facts) -> str | None:
    from .registry import scorer_for

    if ev.facts["test_name"] != facts.meta.test_name:
        return "another test"
    return "a scorer is registered" if scorer_for(facts.meta.test_name) else None
