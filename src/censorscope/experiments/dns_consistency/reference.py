"""The control's answer for the name: what every resolver is compared with.

The control (test helper) is asked as Web Connectivity asks it (``x_control_request`` for
``https://<domain>/`` without endpoints; ``web_connectivity.control_call`` does the call) and
its ``dns`` answer (``addrs``, ``failure``) becomes the :class:`~censorscope.model.
dns_consistency.Reference`. Without a control answer, the first DoH lookup that answered is
the reference (it cannot be tampered with on the path), and failing that there is none.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from censorscope.experiments.web_connectivity.control_call import (
    build_control_request,
    run_control,
)
from censorscope.experiments.web_connectivity.options import USER_AGENT, WebConnectivityOptions
from censorscope.model import failures as F
from censorscope.model.dns_consistency import NXDOMAIN_FAILURES, Reference

from .lookups import Lookup
from .options import DNSConsistencyOptions

__all__ = ["ControlAnswer", "ask_control", "pick_reference"]


@dataclass
class ControlAnswer:
    """The control request, its response (None on failure) and the failure."""

    request: dict[str, Any]
    response: dict[str, Any] | None
    failure: str | None

    def dns(self) -> tuple[list[str], str | None] | None:
        """(IP addresses, failure) the control resolved, or None when it said nothing."""
        dns = self.response.get("dns") if self.response is not None else None
        if not isinstance(dns, dict):
            return None
        addrs: list[str] = []
        for raw in dns.get("addrs") or []:
            try:
                addrs.append(str(ipaddress.ip_address(str(raw))))
            except ValueError:
                continue  # a CNAME the control listed
        failure = dns.get("failure")
        return addrs, failure if isinstance(failure, str) else None


async def ask_control(domain: str, opts: DNSConsistencyOptions) -> ControlAnswer:
    """The control's view of ``https://<domain>/`` (never raises for network reasons)."""
    request = build_control_request(f"https://{domain}/", [], USER_AGENT)
    outcome = await run_control(request, WebConnectivityOptions(
        control_url=opts.control_url, ca_file=opts.ca_file,
        control_ca_file=opts.control_ca_file, timeouts=opts.timeouts))
    return ControlAnswer(request, outcome.control, outcome.failure)


def pick_reference(control: ControlAnswer, lookups: list[Lookup], asn_of: Callable[[str], int]
                   ) -> tuple[str | None, Reference]:
    """(what the reference is: ``"control"``, a DoH URL or None, the reference)."""
    dns = control.dns()
    if dns is not None and (dns[0] or dns[1] is None or dns[1] in NXDOMAIN_FAILURES):
        addrs, failure = dns  # OONI's control says "no answer" with no failure and no addrs
        return "control", Reference(frozenset(addrs), {ip: asn_of(ip) for ip in addrs},
                                    None if addrs else failure or F.DNS_NO_ANSWER)
    for lookup in lookups:
        if lookup.engine == "doh" and lookup.addresses:
            return lookup.address, Reference(frozenset(lookup.addresses),
                                             {ip: asn_of(ip) for ip in lookup.addresses})
    return None, Reference()
