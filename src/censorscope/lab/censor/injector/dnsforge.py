"""Read the question of a DNS query and forge a reply to it (wire format, by hand).

A records only, like OONI netem's ``DPISpoofDNSResponse``: an A query gets the forged addresses,
any other type gets an empty NOERROR answer; no addresses at all means NXDOMAIN.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address

TYPE_A = 1
RCODE_NXDOMAIN = 3
FORGED_TTL = 60


@dataclass(frozen=True)
class Question:
    ident: int
    flags: int
    name: str  # lower case, no trailing dot
    qtype: int
    raw: bytes  # the question section as sent (name + type + class)


def parse_query(payload: bytes) -> Question | None:
    """The first question of a DNS query message; ``None`` if it is not a plain query."""
    if len(payload) < 12:
        return None
    ident, flags, qdcount = struct.unpack("!HHH", payload[:6])
    if flags & 0x8000 or qdcount < 1:
        return None
    pos = 12
    labels: list[str] = []
    while True:
        if pos >= len(payload):
            return None
        n = payload[pos]
        if n == 0:
            pos += 1
            break
        if n & 0xC0:  # compression is not used in questions
            return None
        labels.append(payload[pos + 1 : pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    if pos + 4 > len(payload):
        return None
    qtype = struct.unpack("!H", payload[pos : pos + 2])[0]
    name = ".".join(labels).lower()
    return Question(ident, flags, name, qtype, payload[12 : pos + 4])


def forge_reply(q: Question, answer: list[str]) -> bytes:
    """A response to ``q``: A records ``answer`` (NXDOMAIN when empty)."""
    opcode_rd = q.flags & 0x7900  # opcode + RD
    records = b""
    count = 0
    rcode = 0
    if not answer:
        rcode = RCODE_NXDOMAIN
    elif q.qtype == TYPE_A:
        for ip in answer:
            records += struct.pack("!HHHIH", 0xC00C, TYPE_A, 1, FORGED_TTL, 4)
            records += IPv4Address(ip).packed
            count += 1
    flags = 0x8000 | opcode_rd | 0x0080 | rcode  # QR, RA
    header = struct.pack("!HHHHHH", q.ident, flags, 1, count, 0, 0)
    return header + q.raw + records
