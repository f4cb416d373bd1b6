"""Facts about IP addresses that need no I/O: bogon ranges and an IP-prefix → ASN table.

The bogon list follows OONI's ``netxlite/bogon.go`` (private, loopback, link-local, CGNAT,
documentation, multicast, reserved …). The ASN table is parsed from text the caller read
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
