"""Facts about IP addresses that need no I/O: bogon ranges, the dial policy and an IP-prefix →
ASN table.

``dial_refusal`` is the one policy for which addresses a service facing the internet (the
control) may connect to: IANA's special-purpose ranges of both families, and every IPv6 form
that embeds an IPv4 address, whose IPv4 is extracted and named. ``is_bogon`` is the analysis'
narrower notion (what a probe's DNS answer may be flagged as); its list follows OONI's
``netxlite/bogon.go`` (private, loopback, link-local, CGNAT, documentation, multicast, reserved
…). The ASN table is parsed from text the caller read
(TSV ``prefix<TAB>asn[<TAB>as_name[<TAB>cc]]``), so this module stays pure.
"""

from __future__ import annotations

import bisect
import ipaddress
from dataclasses import dataclass, field
from typing import Final

_BOGON_V4: Final = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "255.255.255.255/32",
    )
)
_BOGON_V6: Final = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/128", "::1/128", "100::/64", "2001:2::/48", "2001:10::/28", "2001:db8::/32",
        "fc00::/7", "fe80::/10", "ff00::/8", "::ffff:0:0/96", "64:ff9b:1::/48",
    )
)


def _networks_of(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> tuple[
    ipaddress.IPv4Network | ipaddress.IPv6Network, ...
]:
    return _BOGON_V4 if addr.version == 4 else _BOGON_V6


def is_bogon(ip: str, *, allowed: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
             ) -> bool:
    """True if ``ip`` is a bogon (not routable on the public internet).

    ``allowed`` lists networks to treat as public anyway: the lab passes its own ranges, which
    are documentation/benchmarking space and hence bogons in the real world. Invalid input is
    not an address at all and counts as a bogon.
    """
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return True
    if any(addr in net for net in allowed if net.version == addr.version):
        return False
    return any(addr in net for net in _networks_of(addr))


def is_loopback(ip: str) -> bool:
    """True for 127.0.0.0/8 and ::1 (probes never connect to these)."""
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ASNInfo:
    """Origin AS of a prefix."""

    asn: int
    as_name: str = ""
    cc: str = ""


@dataclass
class ASNTable:
    """Longest-prefix-match lookup from IP to :class:`ASNInfo`.

    Built once from TSV text; lookups are a binary search per prefix length present.
    """

    _by_len: dict[tuple[int, int], tuple[list[int], list[int], list[ASNInfo]]] = field(
        default_factory=dict
    )

    @classmethod
    def from_tsv(cls, text: str) -> ASNTable:
        """Parse ``prefix<TAB>asn[<TAB>as_name[<TAB>cc]]`` lines; ``#`` starts a comment.

        A malformed line raises ``ValueError`` naming its line number.
        """
        rows: dict[tuple[int, int], list[tuple[int, int, ASNInfo]]] = {}
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            try:
                net = ipaddress.ip_network(parts[0].strip(), strict=False)
                asn = int(parts[1].strip().upper().removeprefix("AS"))
            except (ValueError, IndexError) as exc:
                raise ValueError(f"ASN table line {lineno}: {raw!r}: {exc}") from exc
            info = ASNInfo(
                asn=asn,
                as_name=parts[2].strip() if len(parts) > 2 else "",
                cc=parts[3].strip() if len(parts) > 3 else "",
            )
            key: tuple[int, int] = (int(net.version), net.prefixlen)
            rows.setdefault(key, []).append(
                (int(net.network_address), int(net.broadcast_address), info)
            )
        table = cls()
        for key, items in rows.items():
            items.sort(key=lambda r: r[0])
            table._by_len[key] = (
                [r[0] for r in items], [r[1] for r in items], [r[2] for r in items]
            )
        return table

    def lookup(self, ip: str) -> ASNInfo | None:
        """The most specific entry covering ``ip``, or None."""
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        value = int(addr)
        for version, plen in sorted(self._by_len, key=lambda k: -k[1]):
            if version != addr.version:
                continue
            starts, ends, infos = self._by_len[(version, plen)]
            i = bisect.bisect_right(starts, value) - 1
            if i >= 0 and value <= ends[i]:
                return infos[i]
        return None

    def asn(self, ip: str) -> int:
        """AS number of ``ip``, 0 when unknown (OONI's convention)."""
        info = self.lookup(ip)
        return info.asn if info else 0

    def __len__(self) -> int:
        return sum(len(v[0]) for v in self._by_len.values())


# --- the dial policy: which addresses an internet-facing service may connect to -------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _v4(*pairs: tuple[str, str]) -> tuple[tuple[ipaddress.IPv4Network, str], ...]:
    return tuple((ipaddress.IPv4Network(net), kind) for net, kind in pairs)


def _v6(*pairs: tuple[str, str]) -> tuple[tuple[ipaddress.IPv6Network, str], ...]:
    return tuple((ipaddress.IPv6Network(net), kind) for net, kind in pairs)


# IANA's IPv4 special-purpose registry (RFC 6890 and successors) plus the multicast, reserved
# and broadcast blocks: every range an internet-facing dialler must not reach. First match wins.
SPECIAL_V4: Final = _v4(
    ("0.0.0.0/32", "unspecified"),
    ("0.0.0.0/8", "this-network (0/8)"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "CGNAT (shared address space)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.169.254/32", "link-local (cloud metadata)"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
)

# IPv6 forms that carry an IPv4 address: refused as such (dial the IPv4 address itself), the
# reason naming the embedded address and how the IPv4 policy judges it.
EMBEDDING_V6: Final = _v6(
    ("::ffff:0:0/96", "IPv4-mapped"),
    ("::ffff:0:0:0/96", "IPv4-translated"),
    ("64:ff9b::/96", "NAT64"),
    ("64:ff9b:1::/48", "NAT64 local-use"),
    ("2002::/16", "6to4"),
    ("2001::/32", "Teredo"),
    ("::/96", "IPv4-compatible"),  # after :: and ::1, which SPECIAL_V6 names first
)

SPECIAL_V6: Final = _v6(
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("100::/64", "discard-only"),
    ("2001:2::/48", "benchmarking"),
    ("2001:10::/28", "ORCHID"),
    ("2001:20::/28", "ORCHIDv2"),
    ("2001::/23", "IETF protocol assignments"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing (SRv6 SIDs)"),
    ("fc00::/7", "unique local (ULA)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
_GLOBAL_UNICAST_V6: Final = ipaddress.IPv6Network("2000::/3")


def embedded_ipv4(addr: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """``(form, IPv4)`` when ``addr`` is an IPv6 form that embeds an IPv4 address, else ``None``.

    IPv4-mapped ``::ffff:0:0/96``, IPv4-translated ``::ffff:0:0:0/96``, NAT64 ``64:ff9b::/96``
    and its local-use ``64:ff9b:1::/48`` (the /96 layout: the last 32 bits), 6to4 ``2002::/16``
    (bits 16–47), Teredo ``2001::/32`` (the de-obfuscated client address, or the server's when
    only that one is special) and IPv4-compatible ``::/96`` (not ``::`` and ``::1``).
    """

    if addr in (ipaddress.IPv6Address("::"), ipaddress.IPv6Address("::1")):
        return None
    for net, form in EMBEDDING_V6:
        if addr not in net:
            continue
        if form == "6to4":
            assert addr.sixtofour is not None
            return form, addr.sixtofour
        if form == "Teredo":
            assert addr.teredo is not None
            server, client = addr.teredo
            if special_reason(client) is None and special_reason(server) is not None:
                return form, server
            return form, client
        return form, ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def special_reason(addr: IPAddress) -> str | None:
    """Why ``addr`` is not a public unicast address (``"loopback"``, ``"NAT64 form of
    127.0.0.1 (loopback)"`` …), or ``None`` if it is one. No exceptions: the caller's
    opt-in ranges are :func:`dial_refusal`'s business."""

    if isinstance(addr, ipaddress.IPv4Address):
        for net4, kind in SPECIAL_V4:
            if addr in net4:
                return kind
        return None if addr.is_global else "special-purpose"
    if addr.scope_id:
        return "scoped (zone index)"
    embedded = embedded_ipv4(addr)  # first: Teredo 2001::/32 is inside 2001::/23
    if embedded is not None:
        form, v4 = embedded
        inner = special_reason(v4)
        return f"{form} form of {v4} ({inner or 'public; dial the IPv4 address'})"
    for net6, kind in SPECIAL_V6:
        if addr in net6:
            return kind
    if addr not in _GLOBAL_UNICAST_V6:
        return "reserved (outside 2000::/3)"
    return None if addr.is_global else "special-purpose"


def parse_ip(text: str) -> IPAddress | None:
    """An IP literal (IPv6 without brackets, a ``%zone`` kept), ``None`` if it is not one.
    Only canonical IPv4 spellings: ``ipaddress`` refuses ``0177.0.0.1``, ``0x7f.1`` and
    ``2130706433``."""

    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def dial_refusal(ip: str, allowed: tuple[IPNetwork, ...] = ()) -> str | None:
    """The one dial policy: ``None`` if a service facing the internet may connect to ``ip``,
    else why not. ``allowed`` is the operator's explicit opt-in (the lab's own ranges); an
    embedding IPv6 form is allowed only when the IPv6 address itself is in ``allowed``."""

    addr = parse_ip(ip)
    if addr is None:
        return "not an IP address"
    if any(addr in net for net in allowed if net.version == addr.version):
        return None
    return special_reason(addr)
