"""From a scenario and a phase to the files the lab's programs and users read.

Pure functions building: the service configs (B's ``censorscope.lab.services.config`` models) for
the internet DNS server (authoritative zone + public resolver + DoH), each ISP resolver and the
web server; the censor policies of each ISP in a phase; the ASN table; the probe configuration.
"""

from __future__ import annotations

from typing import Any

from censorscope.lab.addressing import Addressing
from censorscope.lab.schema import Policy, Scenario

PUBLIC_DNS_PORT = 53
# Answered by the lab's authoritative server with the address of whoever asks it (a resolver
# forwarding the query, or a client asking directly): OONI's name, so probes need no option.
WHOAMI_NAMES = ("whoami.v4.powerdns.org",)


def public_resolver(scenario: Scenario) -> str:
    """IP of the first host with role ``resolver``: ISP resolvers forward there."""
    return next(h for h in scenario.hosts if h.role == "resolver").ips[0]


def policies_for(scenario: Scenario, phase: str, isp: str) -> list[Policy]:
    """Policies of ``phase`` that apply to ``isp`` (its own and ``"*"``), in scenario order."""
    return [p for p in scenario.phases[phase].policies if p.isp in (isp, "*")]


def internet_policies(scenario: Scenario, phase: str) -> list[Policy]:
    return [p for p in scenario.phases[phase].policies if p.isp == "internet"]


def zone_records(scenario: Scenario) -> dict[str, list[dict[str, str]]]:
    """The lab's authoritative zone: hosts[].names, published sites, extra records."""
    zone: dict[str, list[dict[str, str]]] = {}

    def add(name: str, rtype: str, value: str) -> None:
        key = name.strip().rstrip(".").lower()
        rec = {"type": rtype, "value": value}
        if rec not in zone.setdefault(key, []):
            zone[key].append(rec)

    for h in scenario.hosts:
        for name in h.names:
            for ip in h.ips:
                add(name, "A", ip)
    for site in scenario.sites:
        if site.publish_dns:
            for name in site.names:
                for ip in site.ips:
                    add(name, "A", ip)
    for r in scenario.records:
        add(r.name, r.type, r.value)
    return zone


def _overrides(policies: list[Policy]) -> dict[str, Any]:
    from censorscope.lab.censor import resolver_overrides

    return {k: v.model_dump() for k, v in resolver_overrides(policies).items()}


def internet_dns_config(scenario: Scenario, phase: str, ca_dir: str) -> dict[str, Any]:
    """The DNS server in ``srv``: every lab name, on every resolver/dns host IP (+ DoH)."""
    listen = [ip for h in scenario.hosts if h.role in ("resolver", "dns") for ip in h.ips]
    site_ips = {ip for s in scenario.sites for ip in s.ips}
    doh_ips = [ip for h in scenario.hosts if h.role == "resolver" for ip in h.ips
               if ip not in site_ips]
    doh_names = [n for h in scenario.hosts if h.role == "resolver" for n in h.names]
    cfg: dict[str, Any] = {
        "listen": listen,
        "port": PUBLIC_DNS_PORT,
        "records": zone_records(scenario),
        "overrides": _overrides(internet_policies(scenario, phase)),
        "upstream": None,
        "whoami": list(WHOAMI_NAMES),
    }
    if doh_ips and doh_names:
        cfg["doh"] = {"listen": doh_ips, "port": 443, "cert_dir": ca_dir, "names": doh_names}
    return cfg


def isp_dns_config(scenario: Scenario, phase: str, isp: str, a: Addressing) -> dict[str, Any]:
    """The resolver of ``isp``: lies from its dns_* policies, forwards the rest upstream."""
    return {
        "listen": [a.isps[isp].resolver_ip],
        "port": 53,
        "records": {},
        "overrides": _overrides(policies_for(scenario, phase, isp)),
        "upstream": f"{public_resolver(scenario)}:{PUBLIC_DNS_PORT}",
    }


def web_config(scenario: Scenario, a: Addressing, ca_dir: str) -> dict[str, Any] | None:
    """The web server in ``srv`` (sites, blockpage servers, transparent proxies); None if idle."""
    site_ips = {ip for s in scenario.sites for ip in s.ips}
    resolver = f"{public_resolver(scenario)}:{PUBLIC_DNS_PORT}"
    sites = [
        s.model_dump(include={"names", "ips", "http", "https", "title", "behaviour", "redirects",
                              "certificate", "plain_http_ports"})
        for s in scenario.sites
    ]
    proxies = [{"ip": ip, "resolver": resolver}
               for h in scenario.hosts if h.role == "proxy" for ip in h.ips if ip not in site_ips]
    blockpages = [{"ip": ip}
                  for h in scenario.hosts if h.role == "blockpage" for ip in h.ips
                  if ip not in site_ips]
    if not (sites or proxies or blockpages):
        return None
    return {
        "sites": sites,
        "client_networks": [net.prefix for net in a.isps.values()],
        "proxies": proxies,
        "blockpages": blockpages,
        "cert_dir": ca_dir,
    }


def asn_table(scenario: Scenario, a: Addressing) -> str:
    """``prefix<TAB>asn<TAB>as_name<TAB>cc`` lines: every host/site IP (/32) and ISP prefix."""
    rows: dict[str, tuple[int, str, str]] = {}
    for isp in scenario.isps:
        rows[a.isps[isp.name].prefix] = (isp.asn, isp.as_name, isp.cc)
    for h in scenario.hosts:
        for ip in h.ips:
            rows.setdefault(f"{ip}/32", (h.asn, h.as_name, h.cc or "ZZ"))
    for s in scenario.sites:
        if s.asn is None:
            continue
        for ip in s.ips:
            rows.setdefault(f"{ip}/32", (s.asn, s.as_name or f"AS{s.asn}", "ZZ"))
    return "".join(f"{p}\t{asn}\t{name}\t{cc}\n" for p, (asn, name, cc) in rows.items())


def probe_config(
    scenario: Scenario, a: Addressing, isp: str, *, ca_file: str, asn_file: str
) -> dict[str, Any]:
    """What a probe in ``isp`` needs to run in the lab."""
    spec = next(i for i in scenario.isps if i.name == isp)
    net = a.isps[isp]
    controls = [n for h in scenario.hosts if h.role == "control" for n in h.names]
    resolver_host = next(h for h in scenario.hosts if h.role == "resolver")
    doh_name = resolver_host.names[0] if resolver_host.names else resolver_host.ips[0]
    collectors = [n for h in scenario.hosts if h.role == "collector" for n in h.names]
    return {
        "isp": isp,
        "probe_cc": spec.cc,
        "probe_asn": f"AS{spec.asn}",
        "probe_network_name": spec.as_name,
        "probe_hosts": net.probe_hosts(),
        "probe_ips": net.probe_ips,
        "resolver_ip": net.resolver_ip,
        "control_urls": [f"https://{n}" for n in controls],
        "collector_urls": [f"https://{n}" for n in collectors],
        "ca_file": ca_file,
        "public_resolver": f"{public_resolver(scenario)}:{PUBLIC_DNS_PORT}",
        "doh_url": f"https://{doh_name}/dns-query",
        "asn_table": asn_file,
    }
