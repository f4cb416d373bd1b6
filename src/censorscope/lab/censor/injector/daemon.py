"""The injector daemon: decide the fate of each NFQUEUE'd packet; forge packets on a raw socket.

- TCP segment carrying a configured pattern (SNI / Host line) on a configured port: drop it and
  inject FIN|ACK towards the client (``eof``) or the blockpage response with PSH|FIN|ACK.
- UDP DNS query for a configured name: inject the forged reply, then ACCEPT the query.
- Packet of a throttled flow (packet mark): hold it ``delay_ms`` (and, when shaping, until the
  token bucket of its connection and direction allows it), then ACCEPT. Buckets are per
  connection, so the backlog a closed download left behind never delays the next connection.
  Held packets sit in a timer heap; verdicts are given later (netfilterqueue allows deferred
  verdicts), so packets are never serialised.
- Anything else: ACCEPT.
"""

from __future__ import annotations

import heapq
import itertools
import os
import select
import signal
import socket
import struct
import sys
import time
from typing import Any

from censorscope.lab.censor.injector.config import (
    INJECT_MARK,
    THROTTLE_MARK_MASK,
    InjectorConfig,
    ThrottleRule,
)
from censorscope.lab.censor.injector.dnsforge import forge_reply, parse_query
from censorscope.lab.censor.injector.packets import (
    PROTO_TCP,
    PROTO_UDP,
    TCP_ACK,
    TCP_FIN,
    TCP_PSH,
    Packet,
    build_udp,
    parse,
    reply_segment,
)

BUCKETS_MAX = 4096  # idle token buckets are forgotten beyond this many connections


def _log(msg: str) -> None:
    print(f"{time.time():.3f} {msg}", file=sys.stderr, flush=True)


class Injector:
    """Packet handling state: the rules, the raw socket, the held packets."""

    def __init__(self, cfg: InjectorConfig) -> None:
        self.cfg = cfg
        self.raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        # conntrack ignores packets with this mark (raw table rule), see plan.py
        self.raw.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, struct.pack("=I", INJECT_MARK))
        self.tcp = [(r, r.pattern_bytes().lower() if r.icase else r.pattern_bytes())
                    for r in cfg.tcp]
        self.dns = [(set(r.domains), r.answer) for r in cfg.dns]
        self.throttles: dict[int, ThrottleRule] = {t.mark: t for t in cfg.throttles}
        self.held: list[tuple[float, int, Any]] = []
        self.order = itertools.count()
        # (mark, src, sport, dst, dport) -> when that bucket is free again
        self.bucket_free: dict[tuple[int, str, int, str, int], float] = {}

    def close(self) -> None:
        for _, _, pkt in self.held:
            pkt.accept()
        self.held.clear()
        self.raw.close()

    def send(self, data: bytes, dst: str) -> None:
        self.raw.sendto(data, (dst, 0))

    # -- the NFQUEUE callback ------------------------------------------------------------------
    def on_packet(self, nfpkt: Any) -> None:
        try:
            self._decide(nfpkt)
        except Exception as exc:  # never blackhole the lab because of a bug
            _log(f"error {exc!r}; accepting")
            try:
                nfpkt.accept()
            except Exception as exc2:
                _log(f"accept failed: {exc2!r}")

    def _decide(self, nfpkt: Any) -> None:
        pkt = parse(nfpkt.get_payload())
        if pkt is None:
            nfpkt.accept()
            return
        if pkt.proto == PROTO_TCP and pkt.payload and self._tcp(nfpkt, pkt):
            return
        if pkt.proto == PROTO_UDP and self._dns(nfpkt, pkt):
            return
        rule = self.throttles.get(nfpkt.get_mark() & THROTTLE_MARK_MASK)
        if rule is not None:
            self._hold(nfpkt, pkt, rule)
            return
        nfpkt.accept()

    def _tcp(self, nfpkt: Any, pkt: Packet) -> bool:
        lowered: bytes | None = None
        for rule, pattern in self.tcp:
            if pkt.dport not in rule.ports:
                continue
            if rule.icase:
                lowered = pkt.payload.lower() if lowered is None else lowered
                hit = pattern in lowered
            else:
                hit = pattern in pkt.payload
            if not hit:
                continue
            nfpkt.drop()
            if rule.action == "eof":
                self.send(reply_segment(pkt, TCP_FIN | TCP_ACK), pkt.src)
            else:
                body = rule.response.encode("latin-1")
                self.send(reply_segment(pkt, TCP_PSH | TCP_FIN | TCP_ACK, body), pkt.src)
            _log(f"{rule.action} {pkt.src}:{pkt.sport} -> {pkt.dst}:{pkt.dport}")
            return True
        return False

    def _dns(self, nfpkt: Any, pkt: Packet) -> bool:
        q = parse_query(pkt.payload)
        if q is None:
            return False
        for domains, answer in self.dns:
            if q.name in domains:
                # The forged reply goes out first (it is untracked), then the real query.
                forged = build_udp(pkt.dst, pkt.src, pkt.dport, pkt.sport, forge_reply(q, answer))
                self.send(forged, pkt.src)
                nfpkt.accept()
                _log(f"dns_inject {q.name} type {q.qtype} for {pkt.src}:{pkt.sport}")
                return True
        return False

    def _hold(self, nfpkt: Any, pkt: Packet, rule: ThrottleRule) -> None:
        now = time.monotonic()
        release = now + rule.delay_ms / 1000.0
        if rule.rate_kbit:
            key = (rule.mark, pkt.src, pkt.sport, pkt.dst, pkt.dport)
            if len(self.bucket_free) > BUCKETS_MAX and key not in self.bucket_free:
                self.bucket_free = {k: t for k, t in self.bucket_free.items() if t > now}
            start = max(release, self.bucket_free.get(key, 0.0))
            size = len(pkt.payload) + 40
            self.bucket_free[key] = start + size * 8 / (rule.rate_kbit * 1000.0)
            release = start
        heapq.heappush(self.held, (release, next(self.order), nfpkt))

    def release_due(self) -> float | None:
        """Accept every held packet that is due; return seconds until the next one."""
        now = time.monotonic()
        while self.held and self.held[0][0] <= now:
            _, _, nfpkt = heapq.heappop(self.held)
            nfpkt.accept()
        return max(0.0, self.held[0][0] - now) if self.held else None


def run(cfg: InjectorConfig) -> int:
    """Bind the queue, print READY, serve until SIGTERM/SIGINT."""
    from netfilterqueue import NetfilterQueue

    injector = Injector(cfg)
    nfq = NetfilterQueue()
    nfq.bind(cfg.queue_num, injector.on_packet, max_len=16384, sock_len=8 * 1024 * 1024)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.set_wakeup_fd(wake_w)
    nl = nfq.get_fd()
    print("READY", flush=True)
    sys.stdout.close()
    _log(f"injector up on queue {cfg.queue_num}: {len(cfg.tcp)} tcp, {len(cfg.dns)} dns, "
         f"{len(cfg.throttles)} throttle rules")
    try:
        timeout: float | None = None
        while not stopping:
            readable, _, _ = select.select([nl, wake_r], [], [], timeout)
            if nl in readable:
                nfq.run(block=False)
            if wake_r in readable:
                os.read(wake_r, 64)
            timeout = injector.release_due()
    finally:
        injector.close()
        nfq.unbind()
        os.close(wake_r)
        os.close(wake_w)
    return 0
