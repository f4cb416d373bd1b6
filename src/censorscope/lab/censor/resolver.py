"""Resolver lies: the DNS policy kinds implemented by the ISP resolver's configuration.

``dns_nxdomain``, ``dns_refused``, ``dns_answer``, ``dns_remove`` and ``dns_add`` are not router
rules: the lab's DNS server (``censorscope.lab.services``) answers them from its ``overrides``.
"""

from __future__ import annotations

from censorscope.lab.schema import Policy
from censorscope.lab.services.config import DNSOverride, normalize_name

_ACTIONS = {
    "dns_nxdomain": "nxdomain",
    "dns_refused": "refused",
    "dns_answer": "answer",
    "dns_remove": "remove",
    "dns_add": "add",
}


def resolver_overrides(policies: list[Policy]) -> dict[str, DNSOverride]:
    """``DNSServerConfig.overrides`` for the resolver-lie kinds among ``policies``.

    Other kinds are ignored. When two policies name the same domain, the later one wins.
    """
    out: dict[str, DNSOverride] = {}
    for pol in policies:
        action = _ACTIONS.get(pol.kind)
        if action is None:
            continue
        answer = list(pol.answer) if action in ("answer", "add") else []
        for domain in pol.domains:
            out[normalize_name(domain)] = DNSOverride(action=action, answer=answer)  # type: ignore[arg-type]
    return out
