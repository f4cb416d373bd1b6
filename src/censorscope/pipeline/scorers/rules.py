"""The rules of the per-test scorers (everything but Web Connectivity), as data.

Each rule has a stable id (persisted as ``rule_id``), the outcome it concludes, the layer and
mechanism (``"*"``: taken from the failure that fired it) and, in words, when it fires. Any
change to what a rule decides bumps :data:`SCORER_RULES_VERSION`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from censorscope.model.verdict import Outcome

__all__ = ["SCORER_RULES", "SCORER_RULES_BY_ID", "SCORER_RULES_VERSION", "ScorerRule"]

SCORER_RULES_VERSION: Final = "cs-tests-1"


@dataclass(frozen=True)
class ScorerRule:
    """One scorer rule; ``layer``/``mechanism`` ``"*"`` come from the failure seen."""

    rule_id: str
    outcome: Outcome
    layer: str | None
    mechanism: str | None
    when: str


_R = ScorerRule
SCORER_RULES: Final[tuple[ScorerRule, ...]] = (
    # telegram
    _R("telegram.dc.unreachable", "blocked", "*", "*",
       "no Telegram data centre accepted a TCP connection (every connect failed)"),
    _R("telegram.dc.http_failed", "blocked", "http", "*",
       "TCP to the data centres works but every HTTP POST to them failed"),
    _R("telegram.web.failed", "blocked", "*", "*",
       "https://web.telegram.org/ failed (DNS, TCP, TLS or HTTP) while the data centres "
       "answered"),
    _R("telegram.ok", "ok", None, None,
       "a data centre answered an HTTP POST and web.telegram.org loaded (or was not tried)"),
    # whatsapp
    _R("whatsapp.endpoints.unreachable", "blocked", "*", "*",
       "no eN.whatsapp.net endpoint accepted a TCP connection on 443 or 5222"),
    _R("whatsapp.registration.failed", "blocked", "*", "*",
       "https://v.whatsapp.net/v2/register failed before an HTTP response"),
    _R("whatsapp.web.failed", "blocked", "*", "*",
       "https://web.whatsapp.com/ failed before an HTTP response"),
    _R("whatsapp.ok", "ok", None, None,
       "an endpoint accepted TCP, and registration and web answered with any HTTP status"),
    # signal
    _R("signal.android_dns_no_data", "insufficient", "dns", None,
       "a lookup failed with android_dns_cache_no_data, an Android resolver artefact"),
    _R("signal.old_probe_ca", "insufficient", "tls", None,
       "ssl_unknown_authority from a signal test before 0.2.2, which lacked Signal's own CA"),
    _R("signal.failed", "blocked", "*", "*",
       "a Signal endpoint failed (DNS, TCP, TLS or HTTP) before an HTTP response"),
    _R("signal.ok", "ok", None, None, "every Signal endpoint answered over HTTPS"),
    # facebook_messenger
    _R("fbm.dns.bogon", "blocked", "dns", "dns.injection.bogon",
       "a Facebook service resolved to a bogon address"),
    _R("fbm.dns.failure", "blocked", "dns", "*", "a Facebook service did not resolve"),
    _R("fbm.dns.outside_as32934", "blocked", "dns", "dns.injection.other",
       "an answer is outside Facebook's AS32934 and did not complete a valid TLS handshake "
       "for the name anywhere we know of"),
    _R("fbm.tcp.failed", "blocked", "tcp", "*",
       "a Facebook service resolved consistently but its TCP connect failed"),
    _R("fbm.ok", "ok", None, None,
       "every service resolved into AS32934 (or to a TLS-verified IP) and connected"),
    # tor family, psiphon, VPNs, meek
    _R("tor.all_failed", "blocked", "*", "*", "every Tor target (relay, bridge, authority) failed"),
    _R("tor.ok", "ok", None, None, "at least one Tor target of each kind tried was reachable"),
    _R("tor.kind_failed", "blocked", "*", "*",
       "every target of one kind (e.g. all directory authorities or all obfs4 bridges) failed "
       "while others worked"),
    _R("tor.bootstrap_ok", "ok", None, None, "tor bootstrapped to 100 %"),
    _R("tor.bootstrap_failed", "blocked", None, None,
       "tor did not bootstrap (the progress reached is in the evidence)"),
    _R("torsf.known_bug", "insufficient", None, None,
       "torsf from ooniprobe-android 3.8.3, whose snowflake rendezvous was broken"),
    _R("psiphon.ok", "ok", None, None, "psiphon bootstrapped and fetched through the tunnel"),
    _R("psiphon.failed", "blocked", None, None, "psiphon failed to bootstrap"),
    _R("riseupvpn.api_failed", "blocked", "*", "*",
       "the RiseupVPN API failed with a timeout, reset or EOF"),
    _R("riseupvpn.api_cert", "insufficient", "tls", None,
       "the RiseupVPN API failed certificate validation: Riseup's own CA and expired roots "
       "make this ambiguous"),
    _R("riseupvpn.gateways_unreachable", "blocked", "tcp", "*",
       "the API worked but no gateway accepted a TCP connection"),
    _R("riseupvpn.ok", "ok", None, None, "the API and at least one gateway were reachable"),
    _R("openvpn.ok", "ok", None, None, "the OpenVPN handshake completed"),
    _R("openvpn.tcp_failed", "blocked", "tcp", "*", "TCP to the OpenVPN endpoint failed"),
    _R("openvpn.failed", "blocked", None, None, "the OpenVPN bootstrap failed after TCP"),
    _R("meek.failed", "blocked", "*", "*", "a fronted request failed before an HTTP response"),
    _R("meek.not_served", "down", None, None,
       "the CDN answered but not with 200: the fronted host is not served (any more)"),
    _R("meek.ok", "ok", None, None, "every fronted request got 200 from the CDN"),
    # generic probes
    _R("urlgetter.ok", "ok", None, None, "the operation completed"),
    _R("urlgetter.interference", "blocked", "*", "*",
       "the operation failed with a timeout, reset or EOF (or a DNS NXDOMAIN/bogon) at a "
       "layer"),
    _R("urlgetter.failed_other", "insufficient", "*", "*",
       "the operation failed in a way a down server also explains, and there is no control"),
    _R("dnscheck.ok", "ok", None, None, "at least one resolver address answered the lookup"),
    _R("dnscheck.bootstrap_failed", "blocked", "dns", "*",
       "the resolver's own name did not resolve"),
    _R("dnscheck.all_failed", "blocked", "*", "*",
       "every resolver address failed the lookup with a timeout, reset or EOF"),
    _R("dnscheck.failed_other", "insufficient", "*", "*",
       "every resolver address failed, in a way that does not point at interference"),
    _R("stun.ok", "ok", None, None, "the STUN server answered the binding request"),
    _R("stun.failed", "blocked", None, None, "the STUN binding request failed"),
    _R("browser_web.ok", "ok", None, None, "the browser loaded the page"),
    _R("browser_web.error", "insufficient", None, None,
       "the browser failed to load the page; the test records no failure and has no control"),
    _R("speed.ok", "ok", None, None, "the performance test completed (no blocking verdict)"),
    _R("speed.failed", "insufficient", None, None, "the performance test failed"),
    # middlebox tests
    _R("hhfm.tampering", "impaired", "http", "http.diff",
       "the echo server saw request headers different from those sent: a middlebox "
       "rewrote them"),
    _R("hhfm.ok", "ok", None, None, "the echoed headers equal the headers sent"),
    _R("hirl.tampering", "impaired", "http", "http.diff",
       "an invalid request line came back different: a middlebox answered or rewrote it"),
    _R("hirl.ok", "ok", None, None, "every invalid request line was echoed unchanged"),
    # shared
    _R("test.no_data", "insufficient", None, None,
       "the measurement holds no facts this scorer can use (or the raw keys are missing)"),
    _R("test.unsupported", "insufficient", None, None, "no scorer for this test"),
)

SCORER_RULES_BY_ID: Final[dict[str, ScorerRule]] = {r.rule_id: r for r in SCORER_RULES}
assert len(SCORER_RULES_BY_ID) == len(SCORER_RULES), "duplicate scorer rule id"
