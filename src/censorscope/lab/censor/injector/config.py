"""The injector's configuration: what to do with each kind of queued packet (JSON on disk).

Written by ``censor.plan`` / ``censor.apply``, read by the injector daemon. Plain dataclasses and
``json`` only, so the daemon starts fast.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

# Bits of the packet/connection mark the censor uses to tag throttled flows.
THROTTLE_MARK_MASK = 0x00FF0000
THROTTLE_MARK_SHIFT = 16
# Mark (SO_MARK) of the injector's forged packets; the raw table untracks them (see plan.py).
INJECT_MARK = 0xC5000000
INJECT_MARK_MASK = 0xFF000000


def throttle_mark(index: int) -> int:
    """The (connection) mark value of the ``index``-th throttle policy (0-based)."""
    if not 0 <= index < 255:
        raise ValueError("at most 255 throttle policies per router")
    return (index + 1) << THROTTLE_MARK_SHIFT


@dataclass(frozen=True)
class TcpRule:
    """Client->server TCP segments carrying ``pattern`` on ``ports``: drop, answer towards client.

    ``action`` "eof": inject FIN|ACK; "blockpage": inject ``response`` with FIN|ACK.
    """

    action: Literal["eof", "blockpage"]
    pattern: str  # hex of the byte pattern
    icase: bool
    ports: list[int]
    response: str = ""  # blockpage HTTP response (latin-1 text)

    def pattern_bytes(self) -> bytes:
        return bytes.fromhex(self.pattern)


@dataclass(frozen=True)
class DnsInjectRule:
    """Queries whose QNAME is in ``domains``: forge an answer (A ``answer``; none -> NXDOMAIN)."""

    domains: list[str]
    answer: list[str]


@dataclass(frozen=True)
class ThrottleRule:
    """Packets whose mark is ``mark``: hold ``delay_ms``; shape to ``rate_kbit`` if non-zero.

    ``server_ports`` are the ports the rule was planned for (kept in the config for the log and
    the tests; the token buckets are per connection and direction, keyed by the packet's 4-tuple).
    """

    mark: int
    delay_ms: int
    rate_kbit: int
    server_ports: list[int]


@dataclass(frozen=True)
class InjectorConfig:
    queue_num: int
    tcp: list[TcpRule] = field(default_factory=list)
    dns: list[DnsInjectRule] = field(default_factory=list)
    throttles: list[ThrottleRule] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    def write(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InjectorConfig:
        return cls(
            queue_num=int(data["queue_num"]),
            tcp=[TcpRule(**r) for r in data.get("tcp", [])],
            dns=[DnsInjectRule(**r) for r in data.get("dns", [])],
            throttles=[ThrottleRule(**r) for r in data.get("throttles", [])],
        )

    @classmethod
    def read(cls, path: Path) -> InjectorConfig:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
