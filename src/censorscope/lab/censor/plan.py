"""Turn one ISP's censor policies into a router plan: iptables-restore text, tc, injector config.

Pure computation, no system calls. Rules live in dedicated chains so clearing is trivial:

- filter ``CS-CENSOR`` (jumped to from ``FORWARD``): first ``-i <lan> -j CS-LAN`` for every
  client-facing interface, then the throttle rules (which act on marked flows in both directions).
- filter ``CS-LAN``: every blocking rule; only traffic *entering* from a client-facing interface
  reaches it (DPI sits on the client link, like OONI's netemx).
- mangle ``CS-MANGLE`` (jumped to from ``PREROUTING``): marks throttled flows with CONNMARK and
  copies the connection mark to the packet mark.
- raw ``CS-RAW`` (jumped to from ``OUTPUT``): the injector's forged packets (socket mark
  ``INJECT_MARK``) are not tracked by conntrack, so a forged DNS reply sent *before* the real query
  is released cannot create a conntrack entry that clashes with the query (which the kernel would
  then drop).

See ``censorscope.lab.censor`` for what each policy kind does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from censorscope.lab.censor.injector.config import (
    INJECT_MARK,
    INJECT_MARK_MASK,
    THROTTLE_MARK_MASK,
    DnsInjectRule,
    InjectorConfig,
    TcpRule,
    ThrottleRule,
    throttle_mark,
)
from censorscope.lab.censor.patterns import (
    QNAME_OFFSET,
    hex_string,
    host_pattern,
    normalize_name,
    qname_wire,
    sni_pattern,
)
from censorscope.lab.schema import Policy

CHAIN_FORWARD = "CS-CENSOR"
CHAIN_LAN = "CS-LAN"
CHAIN_MANGLE = "CS-MANGLE"
CHAIN_RAW = "CS-RAW"
# (table, built-in chain, censor chain): where the censor's chains are hooked in.
HOOKS = (
    ("raw", "OUTPUT", CHAIN_RAW),
    ("mangle", "PREROUTING", CHAIN_MANGLE),
    ("filter", "FORWARD", CHAIN_FORWARD),
)
TC_HANDLE = "c5"  # major handle of the htb root qdisc the censor installs (hex)

RESOLVER_KINDS = frozenset({"dns_nxdomain", "dns_refused", "dns_answer", "dns_remove", "dns_add"})

BLOCKPAGE_HTML = (
    "<html><head><title>Access Denied</title></head><body><h1>Access Denied</h1>"
    "<p>Access to this website has been restricted by order of the authorities.</p>"
    "</body></html>"
)


def blockpage_response() -> str:
    """The HTTP response the censor injects for ``http_blockpage``.

    Like netemx's ``DPISpoofBlockpageForString`` (and many real middleboxes): a bare
    ``HTTP/1.0 200 OK`` with no headers, the page, then FIN — the body ends with the connection.
    """
    return f"HTTP/1.0 200 OK\r\n\r\n{BLOCKPAGE_HTML}"


@dataclass(frozen=True)
class RouterPlan:
    """Everything needed to censor one ISP router; apply with ``apply_router_plan``."""

    iptables: str  # iptables-restore input (filter + mangle), used with --noflush
    tc: tuple[str, ...]  # tc batch lines (without the leading "tc")
    injector: InjectorConfig | None
    lan_ifaces: tuple[str, ...]
    wan_iface: str
    state_dir: Path
    skipped: tuple[str, ...] = field(default=())  # policy kinds left to the resolver

    @property
    def needs_injector(self) -> bool:
        return self.injector is not None


class _Builder:
    def __init__(self, lan_ifaces: list[str], queue_num: int) -> None:
        self.lan_ifaces = lan_ifaces
        self.queue = f"-j NFQUEUE --queue-num {queue_num} --queue-bypass"
        self.lan: list[str] = []
        self.throttle: list[str] = []
        self.mangle: list[str] = []
        self.tc: list[str] = []
        self.tcp_rules: list[TcpRule] = []
        self.dns_rules: list[DnsInjectRule] = []
        self.throttles: list[ThrottleRule] = []
        self.tc_classes = 0

    # -- helpers -----------------------------------------------------------------------------
    def add_lan(self, tag: str, match: str, target: str) -> None:
        rule = f'-A {CHAIN_LAN} {match} -m comment --comment "{tag}" {target}'
        self.lan.append(" ".join(rule.split()))

    @staticmethod
    def _dests(ips: Iterable[str]) -> list[str]:
        return [f"-d {ip}" for ip in ips] or [""]

    @staticmethod
    def _dports(ports: Iterable[int]) -> list[str]:
        return [f"--dport {p}" for p in ports] or [""]

    def string_rules(
        self, tag: str, proto: str, pol: Policy, patterns: list[bytes], default_ports: list[int],
        target: str, *, icase: bool, offset: int | None = None,
    ) -> None:
        ports = pol.ports or default_ports
        for pat in patterns:
            where = f" --from {offset} --to {offset + len(pat)}" if offset is not None else ""
            case = " --icase" if icase else ""
            string = f"-m string --algo bm{case}{where} --hex-string {hex_string(pat)}"
            for dst in self._dests(pol.ips):
                for port in ports:
                    self.add_lan(tag, f"{dst} -p {proto} --dport {port} {string}", target)

    # -- policy kinds --------------------------------------------------------------------------
    def add(self, idx: int, pol: Policy) -> None:
        tag = f"cs:{pol.kind}#{idx}"
        kind = pol.kind
        if kind in ("tcp_drop", "tcp_refuse"):
            target = "-j DROP" if kind == "tcp_drop" else "-j REJECT --reject-with tcp-reset"
            for dst in self._dests(pol.ips):
                for dport in self._dports(pol.ports):
                    self.add_lan(tag, f"{dst} -p tcp {dport}", target)
        elif kind == "ip_blackhole":
            for dst in self._dests(pol.ips):
                self.add_lan(tag, dst, "-j DROP")
        elif kind == "shutdown":
            self.add_lan(tag, "", "-j DROP")
        elif kind in ("sni_drop", "sni_reset", "sni_eof"):
            pats = [sni_pattern(n) for n in pol.sni]
            target = {
                "sni_drop": "-j DROP",
                "sni_reset": "-j REJECT --reject-with tcp-reset",
                "sni_eof": self.queue,
            }[kind]
            self.string_rules(tag, "tcp", pol, pats, [443], target, icase=False)
            if kind == "sni_eof":
                for pat in pats:
                    self.tcp_rules.append(
                        TcpRule("eof", pat.hex(), False, list(pol.ports or [443]))
                    )
        elif kind in ("http_drop", "http_reset", "http_eof", "http_blockpage"):
            pats = [host_pattern(h) for h in pol.hosts]
            target = {
                "http_drop": "-j DROP",
                "http_reset": "-j REJECT --reject-with tcp-reset",
            }.get(kind, self.queue)
            self.string_rules(tag, "tcp", pol, pats, [80], target, icase=True)
            if kind in ("http_eof", "http_blockpage"):
                action: Literal["eof", "blockpage"] = (
                    "eof" if kind == "http_eof" else "blockpage"
                )
                response = blockpage_response() if action == "blockpage" else ""
                for pat in pats:
                    self.tcp_rules.append(
                        TcpRule(action, pat.hex(), True, list(pol.ports or [80]), response)
                    )
        elif kind in ("dns_inject", "dns_drop"):
            pats = [qname_wire(d) for d in pol.domains]
            if kind == "dns_drop" and not pats:
                for port in pol.ports or [53]:
                    self.add_lan(tag, f"-p udp --dport {port}", "-j DROP")
                return
            target = self.queue if kind == "dns_inject" else "-j DROP"
            self.string_rules(
                tag, "udp", pol, pats, [53], target, icase=True, offset=QNAME_OFFSET
            )
            if kind == "dns_inject":
                self.dns_rules.append(
                    DnsInjectRule([normalize_name(d) for d in pol.domains], list(pol.answer))
                )
        elif kind == "throttle":
            self.add_throttle(tag, pol)
        else:  # pragma: no cover - schema guarantees the kind
            raise ValueError(f"unknown policy kind {kind!r}")

    def add_throttle(self, tag: str, pol: Policy) -> None:
        n = len(self.throttles)
        mark = throttle_mark(n)
        xmark = f"0x{mark:x}/0x{THROTTLE_MARK_MASK:x}"
        set_mark = f"-j CONNMARK --set-xmark {xmark}"
        ports = pol.ports or ([443] if pol.sni else [])
        string = [f"-m string --algo bm --hex-string {hex_string(sni_pattern(s))}" for s in pol.sni]
        for lan in self.lan_ifaces:
            for dst in self._dests(pol.ips):
                for dport in self._dports(ports):
                    proto = "-p tcp" if (dport or string) else ""
                    for s in string or [""]:
                        match = f"-i {lan} {dst} {proto} {dport} {s}"
                        self.mangle.append(
                            f'-A {CHAIN_MANGLE} {" ".join(match.split())} '
                            f'-m comment --comment "{tag}" {set_mark}'
                        )
        marked = f"-m mark --mark {xmark}"
        if pol.loss > 0:
            self.throttle.append(
                f"-A {CHAIN_FORWARD} {marked} -m statistic --mode random "
                f'--probability {pol.loss:.4f} -m comment --comment "{tag}" -j DROP'
            )
        shaping_in_injector = bool(pol.rate_kbit and pol.sni)
        if pol.delay_ms or shaping_in_injector:
            self.throttle.append(f'-A {CHAIN_FORWARD} {marked} -m comment --comment "{tag}" '
                                 f"{self.queue}")
            self.throttles.append(ThrottleRule(
                mark, pol.delay_ms, pol.rate_kbit if shaping_in_injector else 0, list(ports)
            ))
        else:
            # keep mark numbering stable even when this throttle needs no injector
            self.throttles.append(ThrottleRule(mark, 0, 0, list(ports)))
        if pol.rate_kbit and not pol.sni:
            self.add_tc_rate(pol)

    def add_tc_rate(self, pol: Policy) -> None:
        self.tc_classes += 1
        cls = f"{TC_HANDLE}:{self.tc_classes:x}"
        for lan in self.lan_ifaces:
            if self.tc_classes == 1:
                self.tc.append(f"qdisc add dev {lan} root handle {TC_HANDLE}: htb")
            rate = f"{pol.rate_kbit}kbit"
            self.tc.append(
                f"class add dev {lan} parent {TC_HANDLE}: classid {cls} htb rate {rate} ceil {rate}"
            )
            for ip in pol.ips:
                prefix = ip if "/" in ip else f"{ip}/32"
                for sport in [f"match ip sport {p} 0xffff" for p in pol.ports] or [""]:
                    self.tc.append(
                        f"filter add dev {lan} parent {TC_HANDLE}: protocol ip prio 1 u32 "
                        f"match ip src {prefix} {sport} flowid {cls}".replace("  ", " ")
                    )

    # -- output ----------------------------------------------------------------------------------
    def iptables_text(self) -> str:
        lines = ["*raw", f":{CHAIN_RAW} - [0:0]"]
        if self.tcp_rules or self.dns_rules:
            lines.append(
                f"-A {CHAIN_RAW} -m mark --mark 0x{INJECT_MARK:x}/0x{INJECT_MARK_MASK:x} "
                "-j CT --notrack"
            )
        lines += ["COMMIT", "*mangle", f":{CHAIN_MANGLE} - [0:0]", *self.mangle]
        if self.mangle:
            m = f"0x{THROTTLE_MARK_MASK:x}"
            lines.append(f"-A {CHAIN_MANGLE} -j CONNMARK --restore-mark --nfmask {m} --ctmask {m}")
        lines += ["COMMIT", "*filter", f":{CHAIN_FORWARD} - [0:0]", f":{CHAIN_LAN} - [0:0]"]
        lines += [f"-A {CHAIN_FORWARD} -i {lan} -j {CHAIN_LAN}" for lan in self.lan_ifaces]
        lines += self.throttle
        lines += self.lan
        lines.append("COMMIT")
        return "\n".join(lines) + "\n"


def plan_router(
    policies: list[Policy],
    *,
    lan_ifaces: list[str],
    wan_iface: str,
    queue_num: int = 0,
    state_dir: Path,
) -> RouterPlan:
    """Plan the censor of one ISP router. Resolver-lie kinds are skipped (see resolver_overrides).

    ``policies`` are this ISP's policies (the caller filters by ``isp``); ``lan_ifaces`` are the
    client-facing interfaces of the router (probe LAN, ISP-resolver link); ``wan_iface`` faces the
    internet.
    """
    if not lan_ifaces:
        raise ValueError("plan_router needs at least one client-facing interface")
    if wan_iface in lan_ifaces:
        raise ValueError(f"{wan_iface} cannot be both a LAN and the WAN interface")
    b = _Builder(list(lan_ifaces), queue_num)
    skipped: list[str] = []
    for idx, pol in enumerate(policies):
        if pol.kind in RESOLVER_KINDS:
            skipped.append(pol.kind)
            continue
        b.add(idx, pol)
    active_throttles = [t for t in b.throttles if t.delay_ms or t.rate_kbit]
    injector = None
    if b.tcp_rules or b.dns_rules or active_throttles:
        injector = InjectorConfig(queue_num, b.tcp_rules, b.dns_rules, active_throttles)
    return RouterPlan(
        iptables=b.iptables_text(),
        tc=tuple(b.tc),
        injector=injector,
        lan_ifaces=tuple(lan_ifaces),
        wan_iface=wan_iface,
        state_dir=state_dir,
        skipped=tuple(skipped),
    )
