"""The lab's censors: real kernel mechanisms on each ISP's router namespace.

Public API (called by the lab runtime)::

    plan = plan_router(policies, lan_ifaces=["lan", "res"], wan_iface="wan", state_dir=dir)
    pids = apply_router_plan(router_netns, plan)        # iptables-restore, tc, injector
    clear_router(router_netns, pids)                    # remove everything again
    overrides = resolver_overrides(policies)            # DNSServerConfig.overrides

Switching phase = ``clear_router`` + ``apply_router_plan`` (well under 0.5 s).

Where the censor acts
    Only on traffic *entering* the router from a client-facing interface (``lan_ifaces``: the
    probe LAN and the ISP-resolver link), like DPI on the client link in OONI's netemx. Rules live
    in their own chains: filter ``CS-CENSOR`` (from ``FORWARD``) dispatching to ``CS-LAN`` for
    client-side traffic, and mangle ``CS-MANGLE`` (from ``PREROUTING``) for throttle marks. A
    scenario's policies for this ISP are applied in order; the first matching rule wins.

Mechanisms, per policy kind (``ports`` always overrides the default port)
    ``tcp_drop`` {ips, ports?}
        ``-d IP -p tcp [--dport P] -j DROP`` → connect timeout.
    ``tcp_refuse`` {ips, ports?}
        ``-j REJECT --reject-with tcp-reset`` for every segment → the SYN gets a RST
        (``connection_refused``).
    ``ip_blackhole`` {ips}
        ``-d IP -j DROP`` for every protocol.
    ``shutdown``
        ``-j DROP`` for everything forwarded from the client-facing interfaces (the ISP
        resolver's upstream link too, so even DNS dies).
    ``sni_drop`` / ``sni_reset`` {sni, ports=443, ips?}
        ``-m string --algo bm --hex-string`` on the exact SNI extension bytes
        (``list_len(2) 00 name_len(2) name``), so ``tiktok.com`` does not match
        ``www.tiktok.com`` and the same IP completes a handshake with another SNI; DROP
        (``generic_timeout_error`` after the ClientHello, retransmissions dropped too) or
        ``REJECT --reject-with tcp-reset`` (``connection_reset``).
    ``sni_eof`` {sni}
        Same match, ``-j NFQUEUE``: the injector drops the ClientHello and injects a FIN|ACK
        (seq = the segment's ack, ack = its seq + length) towards the client → ``eof_error``.
    ``http_drop`` / ``http_reset`` {hosts, ports=80, ips?}
        Case-insensitive string match of the request line ``Host: <host>\\r\\n``; DROP
        (timeout) or REJECT tcp-reset (curl exit 56).
    ``http_eof`` {hosts}
        NFQUEUE; the request is dropped and a FIN|ACK injected → empty reply (curl exit 52).
    ``http_blockpage`` {hosts}
        NFQUEUE; the request is dropped and a bare ``HTTP/1.0 200 OK`` + an "Access Denied" page
        (~200 B, no headers) is injected with PSH|FIN|ACK. The real server never sees
        the request, so the blockpage always wins.
    ``dns_inject`` {domains, answer?, ports=53}
        UDP queries whose QNAME is exactly one of ``domains`` (case-insensitive; the kernel
        matches the wire-format QNAME at its fixed offset, IPv4 without options) go to
        NFQUEUE. The injector sends a forged reply from the queried server (A records from
        ``answer``, TTL 60; NXDOMAIN if ``answer`` is empty) and then ACCEPTs the query, so the
        real answer arrives later as a duplicate (OONI's ``x_dns_duplicate_responses``). Forged
        packets carry socket mark ``0xc5000000`` and a raw-table rule (chain ``CS-RAW`` from
        ``OUTPUT``) exempts them from conntrack; otherwise the forged reply would create a
        conntrack entry that clashes with the real query, which the kernel would then drop.
    ``dns_drop`` {domains?}
        DROP matching queries (all UDP/53 from the client side without ``domains``) → resolver
        timeout.
    ``throttle`` {sni | ips (+ports), delay_ms, loss, rate_kbit}
        The flow is marked in mangle (SNI string match or ``-d IP --dport P`` →
        ``CONNMARK --set-xmark``; the connmark is copied to the packet mark on every packet, both
        directions). Loss: ``-m mark -m statistic --mode random --probability P -j DROP``.
        Delay: marked packets go to NFQUEUE and the injector releases each one ``delay_ms``
        later (a timer heap with deferred verdicts, so packets are not serialised), in both
        directions. Rate: with ``ips`` and no ``sni``: tc ``htb`` root (handle ``c5:``) on each
        client-facing interface, a class at ``rate_kbit`` and a ``u32 match ip src IP [sport P]``
        filter (the server→client direction). With ``sni``: the kernel cannot classify by
        connmark here (no tc ``fw``/``matchall``), so the injector shapes the marked packets
        with a token bucket per connection and direction (``rate_kbit``) on top of the delay
        (per connection: a closed download's queued backlog never delays the next one; the tc
        class of an ``ips`` cap is shared by every flow to that address).
    Resolver lies ``dns_nxdomain``, ``dns_refused``, ``dns_answer``, ``dns_remove``, ``dns_add``
        Not router rules: ``resolver_overrides`` turns them into the ISP resolver's
        ``DNSServerConfig.overrides`` (``plan_router`` skips them and lists them in
        ``RouterPlan.skipped``).

The injector
    ``python -m censorscope.lab.censor.injector --config FILE.json``, run inside the router
    namespace: binds the NFQUEUE, prints ``READY``, exits on SIGTERM. Forged packets are
    hand-built IPv4/TCP/UDP (with checksums) sent on a raw socket. Every NFQUEUE rule uses
    ``--queue-bypass`` and the injector ACCEPTs any packet it does not recognise, so a missing or
    buggy injector never blackholes the lab. Its config and log are written to
    ``state_dir/injector-<netns>-q<N>.{json,log}``. The caller owns the returned pids: stop them
    with ``clear_router`` before deleting the namespace.

Limits
    - IPv4 only. String matches act per packet: an SNI or Host line split across two TCP
      segments (or an IP header with options, for the QNAME offset) is not matched.
    - ``dns_inject`` forges A records only (other query types get an empty NOERROR answer).
    - tc rate caps classify by server address (u32), not by connmark: the kernel here lacks the
      ``fw``/``matchall`` classifiers; SNI rate caps are shaped by the injector instead.
    - Delays and SNI rate caps are applied by one Python process per router (timer precision
      ~1 ms); tested with a 1 MB download shaped to 8 Mbit/s (~700 packets/s), which took 1.09 s.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from censorscope.lab.censor.apply import CensorError, apply_router_plan, clear_router
    from censorscope.lab.censor.plan import RouterPlan, plan_router
    from censorscope.lab.censor.resolver import resolver_overrides

# Imported lazily: the injector daemon lives in this package and must start fast, without
# pydantic (the scenario schema).
_EXPORTS = {
    "CensorError": "censorscope.lab.censor.apply",
    "apply_router_plan": "censorscope.lab.censor.apply",
    "clear_router": "censorscope.lab.censor.apply",
    "RouterPlan": "censorscope.lab.censor.plan",
    "plan_router": "censorscope.lab.censor.plan",
    "resolver_overrides": "censorscope.lab.censor.resolver",
}

__all__ = [
    "CensorError",
    "RouterPlan",
    "apply_router_plan",
    "clear_router",
    "plan_router",
    "resolver_overrides",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
