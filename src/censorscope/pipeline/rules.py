"""The analysis rules as data: one :class:`Rule` type, and the rule families with their versions.

A rule has a stable id, the layer it concerns, the outcome it concludes, the mechanism and, in
words, when it fires (``when``: what docs/analysis.md and the evidence repeat). A ``"*"`` layer
or mechanism is taken from the failure that fired the rule (e.g. ``dns_nxdomain_error`` →
``dns.nxdomain``); a rule whose outcome is None yields no layer verdict (a layer without data).

Rules come in families, one per scorer family: Web Connectivity (``pipeline.analyze``) and the
modules of ``pipeline.scorers`` (messaging, circumvention, probes, middlebox), plus the fallback
rules any scorer may conclude with. Each family has its own ``version``, stamped on every
verdict its scorers make (``rules_version``; the store keys verdicts by it). Any change to what
a rule of a family decides bumps that family's version, to a string no family used before (e.g.
``cs-messaging-2``); ``reprocess`` then writes new verdict rows for that family's tests only.
The scorer families share ``cs-tests-1``, the version they had as one table. Rule ids are
persisted with every verdict (``rule_id``) and unique across families: renaming one is a
breaking change.

Web Connectivity's layer analyses (``dns``, ``tcp``, ``tls``, ``http``, ``throttle``) pick the
first rule whose condition holds, in the order listed here, and the measurement verdict
(``web``) takes the first blocked layer in flow order, else throttling, else a layer that failed
for the control too, and names that layer's rule; ``web.*`` rules decide the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from censorscope.model.verdict import Layer, Outcome

__all__ = [
    "CIRCUMVENTION",
    "DNS_CONSISTENCY",
    "FALLBACK",
    "FAMILIES",
    "MESSAGING",
    "MIDDLEBOX",
    "PROBES",
    "RULES_BY_ID",
    "SERVICE",
    "THROTTLING",
    "TLS_SNI",
    "WEB_CONNECTIVITY",
    "Rule",
    "RuleFamily",
    "family_of",
    "rule",
]


@dataclass(frozen=True)
class Rule:
    """One rule: ``when`` says in words what the analysis checks."""

    rule_id: str
    layer: Layer | Literal["*"] | None
    outcome: Outcome | None  # None: the rule yields no layer verdict (no data)
    mechanism: str | None  # a mechanism of the taxonomy, "*" (from the failure) or None
    when: str


@dataclass(frozen=True)
class RuleFamily:
    """The rules of one scorer family and their version. ``scope`` says in words what the
    family scores; ``shared`` are families whose rules this family's scorers may conclude with
    too (stamped with this family's version: this family's code chose them)."""

    name: str
    version: str
    scope: str
    rules: tuple[Rule, ...]
    shared: tuple[RuleFamily, ...] = ()
    _ids: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = frozenset(r.rule_id for r in self.rules)
        if len(ids) != len(self.rules):
            raise ValueError(f"duplicate rule id in the {self.name} rules")
        object.__setattr__(self, "_ids", ids)

    @property
    def rule_ids(self) -> frozenset[str]:
        """The ids of the family's own rules."""
        return self._ids

    def emits(self, rule_id: str) -> bool:
        """Whether the family's scorers may conclude with ``rule_id``."""
        return rule_id in self._ids or any(f.emits(rule_id) for f in self.shared)

    def rule(self, rule_id: str) -> Rule:
        """The rule ``rule_id`` of this family or of one it shares (KeyError for any other
        id: a scorer cannot conclude with a rule of another family)."""
        if not self.emits(rule_id):
            raise KeyError(f"{rule_id!r} is not a rule of the {self.name} family")
        return RULES_BY_ID[rule_id]


WEB_CONNECTIVITY: Final = RuleFamily(
    "web_connectivity", "cs-wc-2",
    "web_connectivity, and any test no scorer is registered for", (
    # --- DNS (per hostname the probe resolved; the worst hostname decides) ---------------
    Rule("dns.no_data", "dns", None, None, "the probe made no DNS lookup"),
    Rule("dns.blockpage_ip", "dns", "blocked", "dns.injection.blockpage",
         "an answer is a known blockpage IP (a DNS fingerprint)"),
    Rule("dns.bogon_not_in_ctrl", "dns", "blocked", "dns.injection.bogon",
         "an answer is a bogon (private, loopback …) the control did not see"),
    Rule("dns.bogon_in_ctrl", "dns", "down", None,
         "the bogon answer is what the control resolved too"),
    Rule("dns.failure_ctrl_ok", "dns", "blocked", "*",
         "the lookup failed at the probe while the control or another resolver answered (the "
         "control's answers for the name in other measurements from the same network count "
         "only when this measurement's control did not look the name up)"),
    Rule("dns.failure_ctrl_also_failing", "dns", "down", None,
         "the lookup failed at the probe and for the control / other resolvers too"),
    Rule("dns.failure_no_ctrl", "dns", "insufficient", None,
         "the lookup failed and nobody else resolved the name"),
    Rule("dns.tls_consistent", "dns", "ok", None,
         "the answer completed a TLS handshake with a valid certificate for the name, here or "
         "in another measurement from the same network (not when its handshake failed here "
         "and no other name completed at it in the same probe session)"),
    Rule("dns.proxy_blockpage", "dns", "blocked", "dns.injection.other",
         "an answer the control and other resolvers did not return (here or, for the control, "
         "anywhere from the same network), consistent only by TLS (a transparent proxy), "
         "served a blocked or different page over HTTP"),
    Rule("dns.answer_matches_ctrl", "dns", "ok", None,
         "the answer is one the control returned for the name (here, or in another "
         "measurement from the same network) or another resolver returned; bogons, blockpage "
         "IPs and addresses failing certificate validation for the name do not vote"),
    Rule("dns.answer_asn_matches_ctrl", "dns", "ok", None,
         "the answer is in the AS of an answer of the control or another resolver"),
    Rule("dns.answer_ctrl_nxdomain", "dns", "blocked", "dns.injection.other",
         "the probe got an answer for a name that does not exist for the control"),
    Rule("dns.answer_unmatched_no_ctrl", "dns", "insufficient", None,
         "nobody resolved the name to compare with (e.g. a redirect target the control never "
         "resolved) and no valid TLS handshake vouches for the answer: absence is no "
         "evidence"),
    Rule("dns.answer_unmatched", "dns", "blocked", "dns.injection.other",
         "the answer matches neither the control nor other resolvers, by IP or AS, "
         "and never completed a valid TLS handshake for the name"),
    # --- TCP (per endpoint; endpoints from untrusted DNS answers are DNS's business) -----
    Rule("tcp.no_data", "tcp", None, None, "no TCP connect on a trusted endpoint"),
    Rule("tcp.connect_ok", "tcp", "ok", None, "every connect succeeded"),
    Rule("tcp.ipv6_unreachable", "tcp", "ok", None,
         "only IPv6 endpoints were unreachable (a probe without IPv6)"),
    Rule("tcp.failure_ctrl_ok", "tcp", "blocked", "*",
         "the connect failed at the probe; the control connected to the same endpoint "
         "(or fetched the page through the whole redirect chain)"),
    Rule("tcp.failure_ctrl_also_failing", "tcp", "down", None,
         "the connect failed for the control too"),
    Rule("tcp.failure_no_ctrl", "tcp", "insufficient", None,
         "the connect failed and there is no control for it"),
    # --- TLS -----------------------------------------------------------------------------
    Rule("tls.no_data", "tls", None, None, "no TLS handshake on a trusted endpoint"),
    Rule("tls.handshake_ok", "tls", "ok", None, "every handshake succeeded"),
    Rule("tls.failure_sni", "tls", "blocked", "*",
         "the handshake failed after the ClientHello write (the write is recorded: the name "
         "was sent) while the same IP completed a handshake with another server name in this "
         "measurement or another of the same probe session (same network and report)"),
    Rule("tls.failure_ctrl_ok", "tls", "blocked", "*",
         "the handshake failed at the probe; the control completed it (or fetched the page "
         "through the whole redirect chain)"),
    Rule("tls.failure_ctrl_also_failing", "tls", "down", None,
         "the handshake failed for the control too (e.g. a bad certificate)"),
    Rule("tls.failure_no_ctrl", "tls", "insufficient", None,
         "the handshake failed and there is no control for it"),
    # --- HTTP ----------------------------------------------------------------------------
    Rule("http.no_data", "http", None, None, "no HTTP request"),
    Rule("http.blockpage", "http", "blocked", "http.blockpage",
         "the response matches a blockpage fingerprint"),
    Rule("http.cdn_challenge", "http", "down", None,
         "the response is a CDN bot challenge (a known false positive), not a blockpage"),
    Rule("http.redirect_loop", "http", "down", None,
         "the site redirects too many times or to a broken location"),
    Rule("http.failure_ctrl_ok", "http", "blocked", "*",
         "the request failed at the probe after connecting; the control fetched the page"),
    Rule("http.failure_ctrl_also_failing", "http", "down", None,
         "the request failed for the control too"),
    Rule("http.failure_no_ctrl", "http", "insufficient", None,
         "the request failed and there is no control"),
    Rule("http.diff", "http", "blocked", "http.diff",
         "the page differs from the control's (status, or title and body length)"),
    Rule("http.ok_no_ctrl", "http", "ok", None,
         "the page loaded; there is no control to compare with"),
    Rule("http.matches_ctrl", "http", "ok", None, "the page matches the control's"),
    # --- throttling ----------------------------------------------------------------------
    Rule("throttle.slow_download", "throttling", "impaired", "*",
         "the download timed out while data kept arriving slowly; the control got it all "
         "(`throttle.sni` when the ClientHello was sent and another server name completed at "
         "the IP in the same probe session, else `throttle.ip`)"),
    # --- measurement ---------------------------------------------------------------------
    Rule("web.no_data", None, "insufficient", None, "the measurement has no observations"),
    Rule("web.ok", None, "ok", None, "the page loaded as the control saw it"),
    Rule("web.insufficient", None, "insufficient", None, "not enough evidence either way"),
    Rule("registry.no_scorer", None, "insufficient", None,
         "no scorer is registered for this test"),
))

FALLBACK: Final = RuleFamily(
    "fallback", "cs-tests-1",
    "what a scorer of the other tests concludes without usable facts, and the tests without "
    "a scorer of their own", (
    Rule("test.no_data", None, "insufficient", None,
         "the measurement holds no facts this scorer can use (or the raw keys are missing)"),
    Rule("test.unsupported", None, "insufficient", None, "no scorer for this test"),
))

MESSAGING: Final = RuleFamily(
    "messaging", "cs-messaging-2",
    "telegram, whatsapp, signal, facebook_messenger", (
    # telegram
    Rule("telegram.dc.unreachable", "*", "blocked", "*",
         "no Telegram data centre accepted a TCP connection (every connect failed)"),
    Rule("telegram.dc.http_failed", "http", "blocked", "*",
         "TCP to the data centres works but every HTTP POST to them failed"),
    Rule("telegram.web.failed", "*", "blocked", "*",
         "https://web.telegram.org/ failed (DNS, TCP, TLS or HTTP) while the data centres "
         "answered"),
    Rule("telegram.ok", None, "ok", None,
         "a data centre answered an HTTP POST and web.telegram.org loaded (or was not tried)"),
    # whatsapp
    Rule("whatsapp.endpoints.unreachable", "*", "blocked", "*",
         "no eN.whatsapp.net endpoint accepted a TCP connection on 443 or 5222"),
    Rule("whatsapp.registration.failed", "*", "blocked", "*",
         "https://v.whatsapp.net/v2/register failed before an HTTP response"),
    Rule("whatsapp.web.failed", "*", "blocked", "*",
         "https://web.whatsapp.com/ failed before an HTTP response"),
    Rule("whatsapp.ok", None, "ok", None,
         "an endpoint accepted TCP, and registration and web answered with any HTTP status"),
    # signal
    Rule("signal.android_dns_no_data", "dns", "insufficient", None,
         "a lookup failed with android_dns_cache_no_data, an Android resolver artefact"),
    Rule("signal.old_probe_ca", "tls", "insufficient", None,
         "ssl_unknown_authority from a signal test before 0.2.2, which lacked Signal's own CA"),
    Rule("signal.failed", "*", "blocked", "*",
         "a Signal endpoint failed (DNS, TCP, TLS or HTTP) before an HTTP response"),
    Rule("signal.ok", None, "ok", None, "every Signal endpoint answered over HTTPS"),
    # facebook_messenger
    Rule("fbm.dns.bogon", "dns", "blocked", "dns.injection.bogon",
         "a Facebook service resolved to a bogon address"),
    Rule("fbm.dns.failure", "dns", "blocked", "*", "a Facebook service did not resolve"),
    Rule("fbm.dns.outside_as32934", "dns", "blocked", "dns.injection.other",
         "an answer is outside Facebook's AS32934 and did not complete a valid TLS handshake "
         "for the name anywhere we know of"),
    Rule("fbm.tcp.failed", "tcp", "blocked", "*",
         "a Facebook service resolved consistently but its TCP connect failed"),
    Rule("fbm.ok", None, "ok", None,
         "every service resolved into AS32934 (or to a TLS-verified IP) and connected"),
), shared=(FALLBACK,))

CIRCUMVENTION: Final = RuleFamily(
    "circumvention", "cs-tests-1",
    "tor, vanilla_tor, torsf, psiphon, riseupvpn, openvpn, meek_fronted_requests_test", (
    Rule("tor.all_failed", "*", "blocked", "*",
         "every Tor target (relay, bridge, authority) failed"),
    Rule("tor.ok", None, "ok", None, "at least one Tor target of each kind tried was reachable"),
    Rule("tor.kind_failed", "*", "blocked", "*",
         "every target of one kind (e.g. all directory authorities or all obfs4 bridges) failed "
         "while others worked"),
    Rule("tor.bootstrap_ok", None, "ok", None, "tor bootstrapped to 100 %"),
    Rule("tor.bootstrap_failed", None, "blocked", None,
         "tor did not bootstrap (the progress reached is in the evidence)"),
    Rule("torsf.known_bug", None, "insufficient", None,
         "torsf from ooniprobe-android 3.8.3, whose snowflake rendezvous was broken"),
    Rule("psiphon.ok", None, "ok", None, "psiphon bootstrapped and fetched through the tunnel"),
    Rule("psiphon.failed", None, "blocked", None, "psiphon failed to bootstrap"),
    Rule("riseupvpn.api_failed", "*", "blocked", "*",
         "the RiseupVPN API failed with a timeout, reset or EOF"),
    Rule("riseupvpn.api_cert", "tls", "insufficient", None,
         "the RiseupVPN API failed certificate validation: Riseup's own CA and expired roots "
         "make this ambiguous"),
    Rule("riseupvpn.gateways_unreachable", "tcp", "blocked", "*",
         "the API worked but no gateway accepted a TCP connection"),
    Rule("riseupvpn.ok", None, "ok", None, "the API and at least one gateway were reachable"),
    Rule("openvpn.ok", None, "ok", None, "the OpenVPN handshake completed"),
    Rule("openvpn.tcp_failed", "tcp", "blocked", "*", "TCP to the OpenVPN endpoint failed"),
    Rule("openvpn.failed", None, "blocked", None, "the OpenVPN bootstrap failed after TCP"),
    Rule("meek.failed", "*", "blocked", "*", "a fronted request failed before an HTTP response"),
    Rule("meek.not_served", None, "down", None,
         "the CDN answered but not with 200: the fronted host is not served (any more)"),
    Rule("meek.ok", None, "ok", None, "every fronted request got 200 from the CDN"),
), shared=(FALLBACK,))

PROBES: Final = RuleFamily(
    "probes", "cs-tests-1",
    "urlgetter, dnscheck, stunreachability, browser_web, dash, ndt", (
    Rule("urlgetter.ok", None, "ok", None, "the operation completed"),
    Rule("urlgetter.interference", "*", "blocked", "*",
         "the operation failed with a timeout, reset or EOF (or a DNS NXDOMAIN/bogon) at a "
         "layer"),
    Rule("urlgetter.failed_other", "*", "insufficient", "*",
         "the operation failed in a way a down server also explains, and there is no control"),
    Rule("dnscheck.ok", None, "ok", None, "at least one resolver address answered the lookup"),
    Rule("dnscheck.bootstrap_failed", "dns", "blocked", "*",
         "the resolver's own name did not resolve"),
    Rule("dnscheck.all_failed", "*", "blocked", "*",
         "every resolver address failed the lookup with a timeout, reset or EOF"),
    Rule("dnscheck.failed_other", "*", "insufficient", "*",
         "every resolver address failed, in a way that does not point at interference"),
    Rule("stun.ok", None, "ok", None, "the STUN server answered the binding request"),
    Rule("stun.failed", None, "blocked", None, "the STUN binding request failed"),
    Rule("browser_web.ok", None, "ok", None, "the browser loaded the page"),
    Rule("browser_web.error", None, "insufficient", None,
         "the browser failed to load the page; the test records no failure and has no control"),
    Rule("speed.ok", None, "ok", None, "the performance test completed (no blocking verdict)"),
    Rule("speed.failed", None, "insufficient", None, "the performance test failed"),
), shared=(FALLBACK,))

MIDDLEBOX: Final = RuleFamily(
    "middlebox", "cs-tests-1",
    "http_header_field_manipulation, http_invalid_request_line", (
    Rule("hhfm.tampering", "http", "impaired", "http.diff",
         "the echo server saw request headers different from those sent: a middlebox "
         "rewrote them"),
    Rule("hhfm.ok", None, "ok", None, "the echoed headers equal the headers sent"),
    Rule("hirl.tampering", "http", "impaired", "http.diff",
         "an invalid request line came back different: a middlebox answered or rewrote it"),
    Rule("hirl.ok", None, "ok", None, "every invalid request line was echoed unchanged"),
), shared=(FALLBACK,))

SERVICE: Final = RuleFamily(
    "service", "cs-service-1",
    "service (a named service's endpoint set, measured endpoint by endpoint)", (
    Rule("service.available", None, "ok", None,
         "every endpoint was reached: its connect went through every step it attempted (TLS "
         "with a valid certificate; an HTTP answer of any status, a 404 is the real server)"),
    Rule("service.unavailable", "*", "blocked", "*",
         "every endpoint failed, with failures censors cause among them (timeout, reset, EOF, "
         "NXDOMAIN, bogon, forged certificate); layer and mechanism of the most frequent "
         "failure (`.sni` when a failing handshake's IP completed one for another name)"),
    Rule("service.restricted", "*", "blocked", "*",
         "some endpoints failed with failures censors cause while others were reached: the "
         "failing part is blocked (the share is in the evidence); layer and mechanism of the "
         "most frequent failure (`.sni` as for service.unavailable)"),
    Rule("service.failed_other", "*", "insufficient", "*",
         "endpoints failed only in ways a down or moved server explains as well (refused, no "
         "answer, invalid certificate …): without a control no evidence of blocking"),
), shared=(FALLBACK,))

DNS_CONSISTENCY: Final = RuleFamily(
    "dns_consistency", "cs-dnsc-1",
    "dns_consistency (each resolver's answer compared with the control's, answers checked by a "
    "TLS handshake with the name; censorscope.model.dns_consistency)", (
    Rule("dnsc.injected", "dns", "blocked", "dns.injection.other",
         "a resolver got two or more different replies to one query (a forged reply raced the "
         "real one), none of them a bogon"),
    Rule("dnsc.injected_bogon", "dns", "blocked", "dns.injection.bogon",
         "a resolver got two or more different replies to one query and a reply is a bogon "
         "the reference did not return"),
    Rule("dnsc.nxdomain", "dns", "blocked", "dns.nxdomain",
         "a resolver answered NXDOMAIN while the reference (the control, else DoH) resolved "
         "the name (the system resolver is looked at first)"),
    Rule("dnsc.bogon", "dns", "blocked", "dns.injection.bogon",
         "a resolver answered a bogon (private, loopback … outside the public ranges) the "
         "reference did not return"),
    Rule("dnsc.lie", "dns", "blocked", "dns.injection.other",
         "a resolver's answers are neither the reference's nor in their AS, and none "
         "completed a TLS handshake with a valid certificate for the name"),
    Rule("dnsc.system_failed", "dns", "blocked", "*",
         "the system resolver's lookup failed (timeout, no answer, error) while the reference "
         "resolved the name"),
    Rule("dnsc.unverified", "dns", "insufficient", None,
         "a resolver's answers differ from the reference's and were not TLS-checked "
         "(tls_check off, or bogons not dialled)"),
    Rule("dnsc.no_reference", None, "insufficient", None,
         "neither the control nor a DoH resolver resolved the name: nothing to compare with"),
    Rule("dnsc.name_missing", "dns", "down", None,
         "the reference found no address for the name (NXDOMAIN or no answer) and no "
         "resolver contradicts it"),
    Rule("dnsc.cdn_valid_cert", None, "ok", None,
         "every resolver agrees with the reference, some with other addresses that completed "
         "a TLS handshake with a valid certificate for the name (a CDN node: not a DNS "
         "inconsistency)"),
    Rule("dnsc.consistent", None, "ok", None,
         "every resolver that answered returned an address of the reference or of its AS"),
), shared=(FALLBACK,))

TLS_SNI: Final = RuleFamily(
    "tls_sni", "cs-tlssni-1",
    "tls_sni (per IP of a target: TLS handshakes with its name, a control name and no SNI; "
    "the per-IP decision is censorscope.model.tls_sni.decide, re-run on the observation rows)", (
    Rule("tls_sni.sni_timeout", "tls", "blocked", "tls.timeout.sni",
         "at an IP, the handshake with the target name timed out after its ClientHello (with "
         "the name) was written, while a handshake with the control name or without SNI at the "
         "same IP got an answer"),
    Rule("tls_sni.sni_reset", "tls", "blocked", "tls.reset.sni",
         "as tls_sni.sni_timeout, the target's handshake being reset"),
    Rule("tls_sni.sni_eof", "tls", "blocked", "tls.eof.sni",
         "as tls_sni.sni_timeout, the target's handshake ending in EOF"),
    Rule("tls_sni.ip_blocked_tcp", "tcp", "blocked", "*",
         "no IP is name-triggered, and every TCP connect to an IP failed with a timeout, reset "
         "or unreachable host, whatever the name"),
    Rule("tls_sni.ip_blocked_tls", "tls", "blocked", "*",
         "no IP is name-triggered, and every handshake at an IP connected, wrote its "
         "ClientHello and failed alike before any answer, whatever the name (not `.sni`)"),
    Rule("tls_sni.ok", None, "ok", None,
         "no IP is blocked and the handshake with the target name completed with a valid "
         "certificate at one IP at least"),
    Rule("tls_sni.inconclusive", None, "insufficient", None,
         "every IP is inconclusive: refused connects, certificate problems only, no other "
         "handshake answering to compare with, …"),
    Rule("tls_sni.no_ips", None, "insufficient", None,
         "no IP was measured (the name did not resolve and no IPs were given)"),
), shared=(FALLBACK,))

THROTTLING: Final = RuleFamily(
    "throttling", "cs-throttling-1",
    "throttling (a fixed-size download from the target and from a control: rates from the "
    "bytes_received_cumulative samples, censorscope.model.throughput)", (
    Rule("throttling.target_failed", "*", "blocked", "*",
         "the target download failed (DNS, TCP, TLS or HTTP) before any answer while the "
         "control download got one (`tls.*.sni` for a TLS failure when the control used the "
         "target's IP with another server name)"),
    Rule("throttling.target_failed_no_ctrl", "*", "insufficient", "*",
         "the target download failed before any answer and no control download got one"),
    Rule("throttling.slow_sni", "throttling", "impaired", "throttle.sni",
         "the target's plateau is at most 0.25 of the control's (OONI's same-session floor), "
         "its body ran at least 1 s, and the control came from the target's IP under another "
         "server name"),
    Rule("throttling.slow", "throttling", "impaired", "throttle.ip",
         "the target's plateau is at most 0.25 of the control's and its body ran at least "
         "1 s; the control came from another address (the trigger is not told apart: named "
         "`throttle.ip` as Web Connectivity does)"),
    Rule("throttling.policer_no_ctrl", "throttling", "impaired", None,
         "no control; the target's plateau is flat (cv of its window rates at most 0.1 over "
         "at least 3 windows) and at most 1024 kbit/s: a policer's signature"),
    Rule("throttling.ok", None, "ok", None,
         "the target's plateau is at least 0.5 of the control's, or its whole body came "
         "within 1 s, or (no control) its plateau is at least 10 Mbit/s"),
    Rule("throttling.inconclusive", None, "insufficient", None,
         "a ratio between 0.25 and 0.5, a target body shorter than 1 s and incomplete, a "
         "control without body, or no control and no policer signature"),
), shared=(FALLBACK,))

# In the order docs/analysis.md lists them.
FAMILIES: Final[tuple[RuleFamily, ...]] = (
    WEB_CONNECTIVITY, MESSAGING, CIRCUMVENTION, PROBES, MIDDLEBOX, FALLBACK, SERVICE,
    DNS_CONSISTENCY, TLS_SNI, THROTTLING)

RULES_BY_ID: Final[dict[str, Rule]] = {r.rule_id: r for f in FAMILIES for r in f.rules}
_FAMILY_OF: Final[dict[str, RuleFamily]] = {r.rule_id: f for f in FAMILIES for r in f.rules}
if len(RULES_BY_ID) != sum(len(f.rules) for f in FAMILIES):
    raise ValueError("a rule id is declared twice")


def rule(rule_id: str) -> Rule:
    """The rule ``rule_id``, of any family (KeyError for an unknown id: a typo must fail
    loudly)."""
    return RULES_BY_ID[rule_id]


def family_of(rule_id: str) -> RuleFamily:
    """The family that declares ``rule_id`` (KeyError for an unknown id)."""
    return _FAMILY_OF[rule_id]
