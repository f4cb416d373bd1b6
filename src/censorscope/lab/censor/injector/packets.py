"""Parse and build raw IPv4/TCP/UDP packets (with checksums) for the injector.

Only what the censor needs: read addresses, ports, sequence numbers and payload of a queued
packet; build a forged TCP segment or UDP datagram going the other way.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address

PROTO_TCP = 6
PROTO_UDP = 17

TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_PSH = 0x08
TCP_ACK = 0x10


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass(frozen=True)
class Packet:
    """The fields of a queued IPv4 packet the injector looks at."""

    src: str
    dst: str
    proto: int
    sport: int
    dport: int
    payload: bytes
    seq: int = 0
    ack: int = 0
    flags: int = 0


def parse(raw: bytes) -> Packet | None:
    """Parse an IPv4 TCP/UDP packet; ``None`` for anything else (or truncated input)."""
    if len(raw) < 20 or raw[0] >> 4 != 4:
        return None
    ihl = (raw[0] & 0x0F) * 4
    total = struct.unpack("!H", raw[2:4])[0]
    proto = raw[9]
    src = str(IPv4Address(raw[12:16]))
    dst = str(IPv4Address(raw[16:20]))
    frag = struct.unpack("!H", raw[6:8])[0]
    if frag & 0x1FFF:  # a non-first fragment has no L4 header
        return None
    body = raw[ihl:total]
    if proto == PROTO_TCP and len(body) >= 20:
        sport, dport, seq, ack, off_flags = struct.unpack("!HHIIH", body[:14])
        doff = (off_flags >> 12) * 4
        return Packet(src, dst, proto, sport, dport, body[doff:], seq, ack, off_flags & 0x1FF)
    if proto == PROTO_UDP and len(body) >= 8:
        sport, dport = struct.unpack("!HH", body[:4])
        return Packet(src, dst, proto, sport, dport, body[8:])
    return None


def _ipv4(src: str, dst: str, proto: int, l4: bytes, ident: int = 0) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, 0x4000, 64, proto, 0,
        IPv4Address(src).packed, IPv4Address(dst).packed,
    )
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + l4


def _pseudo(src: str, dst: str, proto: int, length: int) -> bytes:
    return IPv4Address(src).packed + IPv4Address(dst).packed + struct.pack("!BBH", 0, proto, length)


def build_tcp(
    src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int,
    payload: bytes = b"", window: int = 65535,
) -> bytes:
    """An IPv4 TCP segment with correct checksums."""
    tcp = struct.pack(
        "!HHIIHHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (5 << 12) | flags,
        window, 0, 0,
    ) + payload
    csum = checksum(_pseudo(src, dst, PROTO_TCP, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", csum) + tcp[18:]
    return _ipv4(src, dst, PROTO_TCP, tcp)


def build_udp(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    """An IPv4 UDP datagram with correct checksums."""
    length = 8 + len(payload)
    udp = struct.pack("!HHHH", sport, dport, length, 0) + payload
    csum = checksum(_pseudo(src, dst, PROTO_UDP, length) + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    return _ipv4(src, dst, PROTO_UDP, udp)


def reply_segment(pkt: Packet, flags: int, payload: bytes = b"") -> bytes:
    """A segment from ``pkt``'s receiver back to its sender, acknowledging all of ``pkt``.

    seq = ``pkt.ack`` (what the sender expects next), ack = ``pkt.seq`` + its length (SYN and
    FIN count one).
    """
    consumed = len(pkt.payload) + (1 if pkt.flags & TCP_SYN else 0) + (1 if pkt.flags & TCP_FIN
                                                                        else 0)
    return build_tcp(
        pkt.dst, pkt.src, pkt.dport, pkt.sport, pkt.ack, pkt.seq + consumed, flags, payload
    )
