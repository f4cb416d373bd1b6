"""The priority selector: which single connection of a redirect depth may fetch the body.

Faithful to OONI's ``priority.go`` (ooni/probe#2276). Addresses carry the flags of the
resolvers that returned them (system=1, udp=2, https=4; 0 for control-only addresses). The
first requester is granted at once if it belongs to the highest class present (system if
any system address exists, else udp, else https, else anyone); otherwise requests are
collected for ``window`` seconds and the best one (system, then udp, then https, then the
first) wins. After the decision nobody else is served: a later requester's hand-over times
out (``send_timeout``) and it is denied. A requester gives up after ``answer_timeout``.
Every decision is logged as ``{"msg", "t"}`` (``x_conn_priority_log``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from censorscope.model.endpoint import join_host_port

__all__ = ["FLAG_HTTPS", "FLAG_SYSTEM", "FLAG_UDP", "AddrEntry", "PrioritySelector"]

FLAG_SYSTEM = 1
FLAG_UDP = 2
FLAG_HTTPS = 4


@dataclass(frozen=True)
class AddrEntry:
    """An address and the bitmask of the resolvers that returned it."""

    addr: str
    flags: int


@dataclass
class _Request:
    ip: str
    address: str
    future: asyncio.Future[bool]


class PrioritySelector:
    """Grants exactly one ``permission_to_fetch`` per instance (one instance per depth)."""

    def __init__(
        self,
        addrs: list[AddrEntry],
        *,
        zero_time: float,
        log: list[dict[str, object]],
        window: float = 0.5,
        answer_timeout: float = 1.0,
        send_timeout: float = 0.01,
    ) -> None:
        self._flags = {a.addr: a.flags for a in addrs}
        self._nsystem = sum(1 for a in addrs if a.flags & FLAG_SYSTEM)
        self._nudp = sum(1 for a in addrs if a.flags & FLAG_UDP)
        self._nhttps = sum(1 for a in addrs if a.flags & FLAG_HTTPS)
        self._zero = zero_time
        self._log = log
        self._window = window
        self._answer_timeout = answer_timeout
        self._send_timeout = send_timeout
        self._pending: list[_Request] = []
        self._collecting = False
        self._decided = False
        self._timer: asyncio.TimerHandle | None = None
        rendered = " ".join(f"{{Addr:{a.addr} Flags:{a.flags}}}" for a in addrs)
        self._write_log(f"create with [{rendered}]")

    def _write_log(self, msg: str) -> None:
        self._log.append({"msg": msg, "t": round(time.monotonic() - self._zero, 6)})

    def _is_highest(self, ip: str) -> bool:
        flags = self._flags.get(ip, 0)
        if self._nsystem > 0:
            return bool(flags & FLAG_SYSTEM)
        if self._nudp > 0:
            return bool(flags & FLAG_UDP)
        if self._nhttps > 0:
            return bool(flags & FLAG_HTTPS)
        return True  # only addresses of unknown origin (e.g. control-only): anyone

    def _best(self) -> _Request:
        for mask in (FLAG_SYSTEM, FLAG_UDP, FLAG_HTTPS):
            for req in self._pending:
                if self._flags.get(req.ip, 0) & mask:
                    return req
        return self._pending[0]

    def _decide(self) -> None:
        self._timer = None
        self._decided = True
        self._collecting = False
        if not self._pending:
            return
        winner = self._best()
        for req in self._pending:
            if not req.future.done():
                req.future.set_result(req is winner)
        self._pending = []

    async def permission_to_fetch(self, ip: str, port: int) -> bool:
        """Ask whether the connection to ``ip``:``port`` may send the GET."""

        address = join_host_port(ip, port)
        if self._decided:
            await asyncio.sleep(self._send_timeout)
            self._write_log(f"conn {address}: denied permission: timed out sending")
            return False
        loop = asyncio.get_running_loop()
        req = _Request(ip, address, loop.create_future())
        if not self._collecting:
            if self._is_highest(ip):
                self._decided = True
                req.future.set_result(True)
            else:
                self._write_log(
                    f"prioritySelector: collecting requests for {self._window * 1000:.0f}ms"
                )
                self._collecting = True
                self._pending.append(req)
                self._timer = loop.call_later(self._window, self._decide)
        else:
            self._pending.append(req)
        try:
            async with asyncio.timeout(self._answer_timeout):
                granted = await asyncio.shield(req.future)
        except TimeoutError:
            self._write_log(f"conn {address}: denied permission: timed out receiving")
            return False
        self._write_log(f"conn {address}: granted permission: {'true' if granted else 'false'}")
        return granted

    def close(self) -> None:
        """Stop the collection timer (end of measurement)."""

        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
