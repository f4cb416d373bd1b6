"""Lab addressing: which namespace each lab host is, and every infrastructure address.

Pure computation from a :class:`~censorscope.lab.schema.Scenario`; nothing touches the system.

Infrastructure lives in 198.18.0.0/16 (scenarios may not use it):

- ``198.18.0.0/24``: point-to-point /30 links from ``core`` (the internet router): link *k* is
  ``198.18.0.4k/30``, core = ``.4k+1``, the other end = ``.4k+2``. k=0 ``srv``, 1 ``ctl``,
  2 ``col``, 3+i the router of ISP *i* (0-based).
- ``198.18.N.0/24`` for ISP number N = i+1: the ISP's network (published in the ASN table).
  ``198.18.N.0/25`` is the probe LAN (a bridge on the router; router ``.1``, probe *k* ``.10+k``),
  ``198.18.N.128/30`` is the link to the ISP resolver (router ``.129``, resolver ``.130``).

Scenario service IPs (hosts and sites) live on ``srv`` (or ``ctl``/``col`` for the control and
collector hosts) as /32s on ``lo`` and are routed from ``core``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from censorscope.lab.schema import Scenario

CORE_LINKS = "198.18.0"
INTERNET_HOSTS = ("srv", "ctl", "col")
ROUTER_UPLINK = "wan"  # router interface towards core
ROUTER_LAN = "lan"  # bridge with the probes
ROUTER_DNS = "dns"  # router interface towards the ISP resolver
HOST_IFACE = "eth0"  # the only interface of srv/ctl/col/probes/resolvers


@dataclass(frozen=True)
class Link:
    """A veth pair: ``a_if`` in host ``a`` with ``a_ip``, ``b_if`` in host ``b`` with ``b_ip``.

    ``a_ip``/``b_ip`` are CIDR strings or "" (a bridge port has no address).
    """

    a: str
    a_if: str
    a_ip: str
    b: str
    b_if: str
    b_ip: str


@dataclass(frozen=True)
class ISPNet:
    """Addresses of one ISP."""

    name: str
    number: int
    prefix: str  # 198.18.N.0/24
    lan: str  # 198.18.N.0/25
    router_lan_ip: str
    router_uplink_ip: str
    core_ip: str  # core's end of the router uplink
    router_dns_ip: str
    resolver_ip: str
    probe_ips: list[str]

    def probe_hosts(self) -> list[str]:
        return [f"{self.name}-p{k}" for k in range(1, len(self.probe_ips) + 1)]


@dataclass
class Addressing:
    """Everything the topology builder needs: hosts, links, addresses and routes."""

    hosts: list[str] = field(default_factory=list)
    routers: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    # host -> extra /32 service addresses on its lo
    service_ips: dict[str, list[str]] = field(default_factory=dict)
    # host -> list of (destination, gateway)
    routes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # host -> bridge name -> ports
    bridges: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # host -> bridge name -> its address (CIDR)
    bridge_ips: dict[str, dict[str, str]] = field(default_factory=dict)
    isps: dict[str, ISPNet] = field(default_factory=dict)
    # lab host name -> its main address (no prefix length)
    main_ip: dict[str, str] = field(default_factory=dict)
    # scenario host name -> lab host carrying its IPs
    placement: dict[str, str] = field(default_factory=dict)


def _p2p(k: int) -> tuple[str, str]:
    return f"{CORE_LINKS}.{4 * k + 1}", f"{CORE_LINKS}.{4 * k + 2}"


def placement_of(role: str) -> str:
    """Lab host that carries the IPs of a scenario host with this role."""
    return {"control": "ctl", "collector": "col"}.get(role, "srv")


def plan(scenario: Scenario) -> Addressing:
    """Compute the addressing of ``scenario``."""
    a = Addressing()
    a.hosts = ["core", *INTERNET_HOSTS]
    a.routers = ["core"]
    a.routes["core"] = []
    for k, host in enumerate(INTERNET_HOSTS):
        core_ip, host_ip = _p2p(k)
        a.links.append(
            Link("core", f"to{host}", f"{core_ip}/30", host, HOST_IFACE, f"{host_ip}/30")
        )
        a.routes[host] = [("default", core_ip)]
        a.main_ip[host] = host_ip
        a.service_ips[host] = []
    a.main_ip["core"] = _p2p(0)[0]

    for h in scenario.hosts:
        where = placement_of(h.role)
        a.placement[h.name] = where
        for ip in h.ips:
            if ip not in a.service_ips[where]:
                a.service_ips[where].append(ip)
    for site in scenario.sites:
        for ip in site.ips:
            if not any(ip in ips for ips in a.service_ips.values()):
                a.service_ips["srv"].append(ip)
    for k, host in enumerate(INTERNET_HOSTS):
        _, host_ip = _p2p(k)
        a.routes["core"] += [(f"{ip}/32", host_ip) for ip in a.service_ips[host]]

    for i, isp in enumerate(scenario.isps):
        n = i + 1
        core_ip, up_ip = _p2p(len(INTERNET_HOSTS) + i)
        base = f"198.18.{n}"
        net = ISPNet(
            name=isp.name,
            number=n,
            prefix=f"{base}.0/24",
            lan=f"{base}.0/25",
            router_lan_ip=f"{base}.1",
            router_uplink_ip=up_ip,
            core_ip=core_ip,
            router_dns_ip=f"{base}.129",
            resolver_ip=f"{base}.130",
            probe_ips=[f"{base}.{10 + k}" for k in range(1, isp.probes + 1)],
        )
        a.isps[isp.name] = net
        router, resolver = f"{isp.name}-r", f"{isp.name}-dns"
        a.hosts += [router, resolver, *net.probe_hosts()]
        a.routers.append(router)
        a.links.append(
            Link("core", f"i{n}", f"{core_ip}/30", router, ROUTER_UPLINK, f"{up_ip}/30")
        )
        a.links.append(
            Link(router, ROUTER_DNS, f"{net.router_dns_ip}/30", resolver, HOST_IFACE,
                 f"{net.resolver_ip}/30")
        )
        ports = []
        for k, (probe, ip) in enumerate(zip(net.probe_hosts(), net.probe_ips, strict=True), 1):
            port = f"p{k}"
            ports.append(port)
            a.links.append(Link(router, port, "", probe, HOST_IFACE, f"{ip}/25"))
            a.routes[probe] = [("default", net.router_lan_ip)]
            a.main_ip[probe] = ip
        a.bridges[router] = {ROUTER_LAN: ports}
        a.bridge_ips[router] = {ROUTER_LAN: f"{net.router_lan_ip}/25"}
        a.routes[router] = [("default", core_ip)]
        a.routes[resolver] = [("default", net.router_dns_ip)]
        a.routes["core"].append((net.prefix, up_ip))
        a.main_ip[router] = net.router_lan_ip
        a.main_ip[resolver] = net.resolver_ip
    return a
