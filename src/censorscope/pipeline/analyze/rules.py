"""The Web Connectivity rules as data: a stable id, the layer, what it concludes, and why.

Rule ids are persisted with every verdict (``rule_id``), so renaming one is a breaking change;
any change to what a rule decides bumps :data:`RULES_VERSION` (``reprocess`` then writes new
verdict rows). The layer analyses (``dns``, ``tcp``, ``tls``, ``http``, ``throttle``) pick
the first rule whose condition holds, in the order listed here, and the measurement verdict
(``web``) takes the first blocked layer in flow order, else throttling, else a layer that
failed for the control too, and names that layer's rule; ``web.*`` rules decide the rest.
``mechanism`` ``"*"`` means the mechanism is taken from the failure (e.g.
``dns_nxdomain_error`` → ``dns.nxdomain``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from censorscope.model.verdict import Layer, Outcome

__all__ = ["RULES", "RULES_BY_ID", "RULES_VERSION", "Rule", "rule"]

RULES_VERSION: Final = "cs-wc-2"


@dataclass(frozen=True)
class Rule:
    """One rule: ``when`` says in words what the analysis checks."""

    rule_id: str
    layer: Layer | None
    outcome: Outcome | None  # None: the rule yields no layer verdict (no data)
    mechanism: str | None
    when: str


RULES: Final[tuple[Rule, ...]] = (
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
)

RULES_BY_ID: Final[dict[str, Rule]] = {r.rule_id: r for r in RULES}
assert len(RULES_BY_ID) == len(RULES), "duplicate rule id"


def rule(rule_id: str) -> Rule:
    """The rule ``rule_id`` (KeyError for an unknown id: a typo must fail loudly)."""
    return RULES_BY_ID[rule_id]
