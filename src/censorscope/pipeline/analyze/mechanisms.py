"""OONI failure strings → mechanism names of the taxonomy, per layer; and the layer verdict
constructor every layer analysis uses (outcome and mechanism come from the rule table)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from censorscope.model.evidence import Evidence
from censorscope.model.verdict import LayerVerdict
from censorscope.pipeline.rules import WEB_CONNECTIVITY

__all__ = ["dns_mechanism", "http_mechanism", "layer_verdict", "tcp_mechanism",
           "tls_mechanism"]

_DNS: Final = {
    "dns_nxdomain_error": "dns.nxdomain", "dns_name_error": "dns.nxdomain",
    "dns_refused_error": "dns.refused", "generic_timeout_error": "dns.timeout",
    "dns_server_failure": "dns.servfail", "dns_no_answer": "dns.no_answer",
    "android_dns_cache_no_data": "dns.no_answer",
}
_TCP: Final = {
    "generic_timeout_error": "tcp.timeout", "connection_refused": "tcp.refused",
    "connection_refused_error": "tcp.refused", "connection_reset": "tcp.reset",
    "host_unreachable": "ip.unreachable", "network_unreachable": "ip.unreachable",
}
_TLS: Final = {"generic_timeout_error": "tls.timeout", "connection_reset": "tls.reset",
               "eof_error": "tls.eof"}
_HTTP: Final = {"generic_timeout_error": "http.timeout", "connection_reset": "http.reset",
                "eof_error": "http.eof"}


def dns_mechanism(failure: str | None) -> str | None:
    return _DNS.get(failure or "")


def tcp_mechanism(failure: str | None) -> str | None:
    return _TCP.get(failure or "")


def tls_mechanism(failure: str | None, *, sni: bool = False) -> str | None:
    """``tls.timeout`` / ``.reset`` / ``.eof`` (``.sni`` when SNI-triggered); certificate
    errors (``ssl_*``) where the control succeeded are a man in the middle."""
    if failure and failure.startswith("ssl_"):
        return "tls.mitm"
    base = _TLS.get(failure or "")
    return f"{base}.sni" if base and sni else base


def http_mechanism(failure: str | None) -> str | None:
    return _HTTP.get(failure or "")


def layer_verdict(rule_id: str, evidence: Sequence[Evidence] = (),
                  mechanism: str | None = None
                  ) -> LayerVerdict:
    """The verdict of ``rule_id``'s layer; ``mechanism`` fills a ``"*"`` rule."""
    r = WEB_CONNECTIVITY.rule(rule_id)
    layer = r.layer
    assert layer is not None and layer != "*" and r.outcome is not None, rule_id
    mech = mechanism if r.mechanism == "*" else r.mechanism
    items = tuple(evidence)
    return LayerVerdict(layer, r.outcome, mech, rule_id, items)
