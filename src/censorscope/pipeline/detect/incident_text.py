"""The words of an incident: its title and the human names of techniques and services.

``TikTok blocked on 3 networks in AZ (TLS, server name)``: the target's display name, what
happened, where, and how (the mechanisms of the verdict taxonomy said in words, the most
widespread first).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Final

from censorscope.model.detection import NetworkImpact

__all__ = ["display_name", "incident_title", "technique_label"]

SERVICE_NAMES: Final = {
    "tiktok": "TikTok", "youtube": "YouTube", "whatsapp": "WhatsApp", "linkedin": "LinkedIn",
    "facebook": "Facebook", "facebook_messenger": "Facebook Messenger",
    "instagram": "Instagram", "telegram": "Telegram", "signal": "Signal", "skype": "Skype",
    "x": "X (Twitter)", "zoom": "Zoom",
}

_EXACT: Final = {
    "dns.nxdomain": "DNS, NXDOMAIN", "dns.refused": "DNS, refused", "dns.servfail": "DNS, SERVFAIL",
    "dns.timeout": "DNS, timeout", "dns.no_answer": "DNS, no answer",
    "tls.mitm": "TLS, interception", "tls.cert": "TLS, certificate",
    "http.blockpage": "HTTP, block page", "http.diff": "HTTP, altered page",
    "throttle.sni": "throttling, server name", "throttle.ip": "throttling",
    "ip.unreachable": "IP", "shutdown": "shutdown",
}
_BY_PREFIX: Final = (
    ("dns.injection.", "DNS, forged answer"), ("tcp.", "TCP/IP"), ("http.", "HTTP"),
    ("throttl", "throttling"), ("dns", "DNS"), ("tls", "TLS"),
)


def technique_label(mechanism: str) -> str:
    """A mechanism (``tls.timeout.sni``) or layer (``tls``) in words (``TLS, server name``)."""
    if mechanism in _EXACT:
        return _EXACT[mechanism]
    if mechanism.startswith("tls.") and mechanism.endswith(".sni"):
        return "TLS, server name"
    for prefix, label in _BY_PREFIX:
        if mechanism.startswith(prefix):
            return label
    return mechanism


def display_name(target: str) -> str:
    """``service:tiktok`` -> ``TikTok``; ``services:tiktok+youtube`` -> ``TikTok and YouTube``;
    ``domain:www.example.org`` -> ``www.example.org``."""
    kind, _, name = target.partition(":")
    if kind == "services":
        names = [display_name(f"service:{n}") for n in name.split("+")]
        return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    if kind == "service":
        return SERVICE_NAMES.get(name, name.replace("_", " ").capitalize())
    return name or target


def _techniques(networks: Sequence[NetworkImpact]) -> str:
    labels: Counter[str] = Counter()
    for n in networks:
        labels.update({technique_label(t) for t in n.techniques})
    # "TLS" says nothing "TLS, server name" does not (a service test cannot always show SNI)
    vague = {lb for lb in labels if any(other.startswith(f"{lb}, ") for other in labels)}
    ranked = sorted(((lb, n) for lb, n in labels.items() if lb not in vague),
                    key=lambda kv: (-kv[1], kv[0]))
    return "; ".join(label for label, _ in ranked) or "technique unknown"


def _network(n: NetworkImpact) -> str:
    return f"{n.as_name} (AS{n.asn})" if n.as_name else f"AS{n.asn}"


def incident_title(cc: str, target: str, scope: str, networks: Sequence[NetworkImpact],
                   server_reason: str = "") -> str:
    """One line a person reads first: who, where, how."""
    name, how = display_name(target), _techniques(networks)
    count = len(networks)
    where = _network(networks[0]) if count == 1 else f"{count} networks"
    if scope == "server_side":
        return f"{name} failing on {where} in {cc}: server-side, {server_reason} ({how})"
    if scope == "national":
        return f"{name} blocked nationally in {cc}: all {count} measured networks ({how})"
    return f"{name} blocked on {where} in {cc} ({how})"
