"""Build the lab's namespaces, veths, bridges, addresses and routes from an :class:`Addressing`.

Fast by construction: one ``ip -batch`` in the root namespace creates every namespace and every veth
pair directly inside its namespaces (no interface ever appears in the root namespace), then one
``ip -n NS -batch`` per namespace, all in parallel, configures addresses and routes.
"""

from __future__ import annotations

import subprocess

from censorscope.lab import netns
from censorscope.lab.addressing import Addressing
from censorscope.lab.errors import LabError


def _host_lines(a: Addressing, host: str) -> list[str]:
    lines = ["link set lo up"]
    for ip in a.service_ips.get(host, []):
        lines.append(f"addr add {ip}/32 dev lo")
    for bridge, ports in a.bridges.get(host, {}).items():
        lines.append(f"link add {bridge} type bridge")
        for port in ports:
            lines += [f"link set dev {port} master {bridge}", f"link set dev {port} up"]
        cidr = a.bridge_ips.get(host, {}).get(bridge)
        if cidr:
            lines.append(f"addr add {cidr} dev {bridge}")
        lines.append(f"link set dev {bridge} up")
    for link in a.links:
        for end, ifname, cidr in ((link.a, link.a_if, link.a_ip), (link.b, link.b_if, link.b_ip)):
            if end != host:
                continue
            if cidr:
                lines.append(f"addr add {cidr} dev {ifname}")
            lines.append(f"link set dev {ifname} up")
    for dest, via in a.routes.get(host, []):
        lines.append(f"route add {dest} via {via}")
    return lines


def build(prefix: str, a: Addressing) -> None:
    """Create the topology; raise :class:`LabError` on the first failure (caller rolls back)."""
    ns = {h: netns.ns_name(prefix, h) for h in a.hosts}
    root = [f"netns add {ns[h]}" for h in a.hosts]
    for link in a.links:
        root.append(
            f"link add {link.a_if} netns {ns[link.a]} type veth "
            f"peer name {link.b_if} netns {ns[link.b]}"
        )
    netns.run_batch(root, what="creating namespaces and links")

    procs = [(h, netns.ip_batch(_host_lines(a, h), ns[h])) for h in a.hosts]
    sysctls = [
        (
            r,
            subprocess.Popen(
                netns.exec_argv(ns[r], ["sysctl", "-qw", "net.ipv4.ip_forward=1"]),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            ),
        )
        for r in a.routers
    ]
    errors = []
    for h, p in procs:
        try:
            netns.wait_batch(p, f"configuring {ns[h]}")
        except LabError as exc:
            errors.append(str(exc))
    for r, p in sysctls:
        _, err = p.communicate()
        if p.returncode:
            errors.append(f"enabling forwarding in {ns[r]}: {err.decode().strip()}")
    if errors:
        raise LabError("; ".join(errors))
