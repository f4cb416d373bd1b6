"""Which addresses the control may dial: the guard that keeps it from being an SSRF proxy.

The control faces the internet and connects wherever a request points it. Every address that
reaches it — the URL's host, a DNS answer, a redirect target, a ``tcp_connect`` entry — is
judged by the one dial policy, :func:`censorscope.model.ipinfo.dial_refusal`: IANA's
special-purpose ranges of both families (loopback, private, link-local and 169.254.169.254,
CGNAT, multicast, reserved, 0/8, broadcast, benchmarking, documentation, ULA, discard …) and
every IPv6 form that embeds an IPv4 address (IPv4-mapped, -compatible and -translated, NAT64
``64:ff9b::/96`` and ``64:ff9b:1::/48``, 6to4, Teredo), whose IPv4 is extracted and named in
the reason. The operator opts in to ranges explicitly (``--allow-range``; the lab passes its
own).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from censorscope.model.ipinfo import IPNetwork, dial_refusal

__all__ = ["AddressPolicy", "IPNetwork", "parse_ranges"]


def parse_ranges(texts: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse CIDR strings (``10.0.0.0/8``, ``::1/128``, a bare IP); ``ValueError`` if malformed."""

    out: list[IPNetwork] = []
    for text in texts:
        try:
            out.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not a CIDR range: {text!r}") from exc
    return tuple(out)


@dataclass(frozen=True)
class AddressPolicy:
    """Refuse non-public addresses except those inside ``allowed``."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_cidrs(cls, cidrs: Iterable[str]) -> AddressPolicy:
        return cls(parse_ranges(cidrs))

    def refusal_reason(self, ip: str) -> str | None:
        """``None`` if the control may dial ``ip``; else why not (``"loopback"``, ``"NAT64
        form of 127.0.0.1 (loopback)"`` …)."""

        return dial_refusal(ip, self.allowed)

    def is_refused(self, ip: str) -> bool:
        """True if the control must not dial ``ip`` (usable as ``fetch(refuse_ip=…)``)."""

        return self.refusal_reason(ip) is not None

    def describe_refusal(self, ip: str) -> str | None:
        """The client-facing error for a refused address, or ``None`` if it is allowed."""

        reason = self.refusal_reason(ip)
        if reason is None:
            return None
        return f"refused address {ip}: {reason} is not allowed"
