"""Byte patterns the censors look for in packets: TLS SNI, HTTP Host header, DNS QNAME.

The same patterns are used twice: as ``--hex-string`` arguments of iptables ``string`` matches
(the kernel selects packets) and by the injector (which re-checks what the kernel queued to it).
Every pattern is *exact*: it carries the length prefixes (SNI, QNAME) or the line delimiters
(Host) so that ``tiktok.com`` does not match ``www.tiktok.com``.
"""

from __future__ import annotations

# Offset of the DNS QNAME in an IPv4 packet without options: 20 (IP) + 8 (UDP) + 12 (DNS).
QNAME_OFFSET = 40


def normalize_name(name: str) -> str:
    """Lower-case a DNS name / server_name and strip the trailing dot."""
    return name.strip().rstrip(".").lower()


def sni_pattern(server_name: str) -> bytes:
    """The bytes of a ClientHello ``server_name`` extension body naming exactly ``server_name``.

    ServerNameList length (2 bytes) = name length + 3, name_type host_name (0x00),
    HostName length (2 bytes), the name. A longer name containing ``server_name`` has other
    length bytes, so it does not match.
    """
    name = normalize_name(server_name).encode("idna")
    n = len(name)
    return (n + 3).to_bytes(2, "big") + b"\x00" + n.to_bytes(2, "big") + name


def host_pattern(host: str) -> bytes:
    """The HTTP request header line ``Host: <host>\\r\\n`` (matched case-insensitively)."""
    return b"Host: " + host.strip().encode("ascii") + b"\r\n"


def qname_wire(domain: str) -> bytes:
    """``domain`` in DNS wire format (length-prefixed labels and the root label)."""
    out = bytearray()
    for label in normalize_name(domain).split("."):
        raw = label.encode("idna")
        if not 0 < len(raw) < 64:
            raise ValueError(f"bad DNS label {label!r} in {domain!r}")
        out += bytes([len(raw)]) + raw
    return bytes(out + b"\x00")


def hex_string(pattern: bytes) -> str:
    """``pattern`` as an iptables ``--hex-string`` argument (``|..|`` form, no quoting issues)."""
    return "|" + pattern.hex() + "|"
