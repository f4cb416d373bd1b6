"""Which addresses the control may dial: the guard that keeps it from being an SSRF proxy.

The control faces the internet and connects wherever a request points it. It refuses every
address that is not on the public internet — loopback, RFC 1918 private space, link-local,
CGNAT, multicast, unspecified, documentation and benchmarking ranges, and every other
special-purpose block (OONI's bogon list plus whatever ``ipaddress`` does not call global) —
unless the operator allowed a range explicitly (``--allow-range``; the lab passes its own).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from censorscope.model.ipinfo import is_bogon

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_BENCHMARKING = (ipaddress.IPv4Network("198.18.0.0/15"), ipaddress.IPv6Network("2001:2::/48"))
_DOCUMENTATION = (
    ipaddress.IPv4Network("192.0.2.0/24"),
    ipaddress.IPv4Network("198.51.100.0/24"),
    ipaddress.IPv4Network("203.0.113.0/24"),
    ipaddress.IPv6Network("2001:db8::/32"),
)


def parse_ranges(texts: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse CIDR strings (``10.0.0.0/8``, ``::1/128``, a bare IP); ``ValueError`` if malformed."""

    out: list[IPNetwork] = []
    for text in texts:
        try:
            out.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not a CIDR range: {text!r}") from exc
    return tuple(out)


def _kind(addr: IPAddress) -> str:
    """A short human name for why ``addr`` is not public."""

    if addr.is_unspecified:
        return "unspecified"
    if addr.is_loopback:
        return "loopback"
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return "IPv4-mapped"
    if addr.is_link_local:
        return "link-local"
    if addr.is_multicast:
        return "multicast"
    if addr.version == 4 and addr in _CGNAT:
        return "CGNAT (shared address space)"
    if any(addr in net for net in _BENCHMARKING if net.version == addr.version):
        return "benchmarking"
    if any(addr in net for net in _DOCUMENTATION if net.version == addr.version):
        return "documentation"
    if addr.is_reserved:
        return "reserved"
    if addr.is_private:
        return "private"
    return "special-purpose"


@dataclass(frozen=True)
class AddressPolicy:
    """Refuse non-public addresses except those inside ``allowed``."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_cidrs(cls, cidrs: Iterable[str]) -> AddressPolicy:
        return cls(parse_ranges(cidrs))

    def refusal_reason(self, ip: str) -> str | None:
        """``None`` if the control may dial ``ip``; else why not (``"loopback"`` …)."""

        try:
            addr = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return "not an IP address"
        if any(addr in net for net in self.allowed if net.version == addr.version):
            return None
        if is_bogon(str(addr)) or not addr.is_global:
            return _kind(addr)
        return None

    def is_refused(self, ip: str) -> bool:
        """True if the control must not dial ``ip`` (usable as ``fetch(refuse_ip=…)``)."""

        return self.refusal_reason(ip) is not None

    def describe_refusal(self, ip: str) -> str | None:
        """The client-facing error for a refused address, or ``None`` if it is allowed."""

        reason = self.refusal_reason(ip)
        if reason is None:
            return None
        return f"refused address {ip}: {reason} is not allowed"
