"""Scenario files: the data model of a lab (topology, sites, censor policies, phases).

A scenario is a TOML file validated by these pydantic models; a bad file is rejected with the
path of the offending field (``isp[1].asn: …``). Nothing in here touches the system.

Vocabulary
- *ISP*: an access network with probe host(s), a resolver host and a censoring router.
- *host*: a machine on the "internet" segment owning one or more service IPs (with an ASN).
- *site*: a set of DNS names served by the lab web server on some IPs, with a behaviour.
- *policy*: one censorship technique applied by one ISP (or all, or the internet's DNS view).
- *phase*: a named set of policies; ``lab phase NAME`` switches, ``schedule`` switches on a timer.
- *lab clock*: phases may carry the real date of the case (``starts_at``) and the scenario a
  ``clock_rate``; probes in the lab then stamp measurements with scenario time
  (``censorscope.model.labclock``).
"""

from __future__ import annotations

import ipaddress
import itertools
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME_RE = r"^[a-z][a-z0-9]{0,7}$"

# Lab addresses must come from the benchmarking/documentation ranges only.
ALLOWED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("198.18.0.0/15", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)


# The lab's own links and LANs live here (see censorscope.lab.addressing); scenarios may not use it.
INFRA_NETWORK = ipaddress.ip_network("198.18.0.0/16")

# Lab host names the runtime creates itself; scenario hosts may not take them.
RESERVED_HOST_NAMES = frozenset({"core", "srv", "ctl", "col"})

MAX_ISPS = 60


def is_lab_address(ip: str) -> bool:
    """True if ``ip`` lies in a range the lab may use."""
    addr = ipaddress.ip_address(ip)
    return any(addr in net for net in ALLOWED_NETWORKS)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_lab_ip(value: str) -> str:
    try:
        ipaddress.IPv4Address(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 address") from exc
    if not is_lab_address(value):
        raise ValueError(
            f"{value} is outside the lab ranges (198.18.0.0/15, 192.0.2.0/24, "
            "198.51.100.0/24, 203.0.113.0/24)"
        )
    if ipaddress.IPv4Address(value) in INFRA_NETWORK:
        raise ValueError(
            f"{value} is inside 198.18.0.0/16, reserved for the lab's own links and LANs; "
            "use 198.19.0.0/16 or a TEST-NET for service addresses"
        )
    return value


LabIP = Annotated[str, Field(description="an IPv4 address inside the lab ranges")]


class ISP(_Strict):
    """An access network: probes -> censoring router -> internet; its own resolver."""

    name: str = Field(pattern=NAME_RE)
    asn: int = Field(gt=0, lt=2**32)
    as_name: str
    cc: str = Field(pattern=r"^[A-Z]{2}$")
    probes: int = Field(default=1, ge=1, le=8)


class Host(_Strict):
    """A machine on the internet segment. ``role`` decides what runs there."""

    name: str = Field(pattern=NAME_RE)
    role: Literal["web", "dns", "resolver", "control", "collector", "proxy", "blockpage"]
    ips: list[LabIP] = Field(min_length=1)
    asn: int = Field(gt=0, lt=2**32)
    as_name: str
    names: list[str] = Field(default_factory=list, description="DNS names pointing at ips")
    cc: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="for the ASN table")

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v in RESERVED_HOST_NAMES:
            raise ValueError(f"{v!r} is a lab host name (reserved: {sorted(RESERVED_HOST_NAMES)})")
        return v

    @field_validator("ips")
    @classmethod
    def _lab_ips(cls, v: list[str]) -> list[str]:
        return [_check_lab_ip(x) for x in v]


class Site(_Strict):
    """Virtual hosts served by the lab web server on ``ips`` (HTTP on 80, HTTPS on 443)."""

    names: list[str] = Field(min_length=1)
    ips: list[LabIP] = Field(min_length=1)
    http: bool = True
    https: bool = True
    title: str | None = None
    behaviour: Literal[
        "page", "redirect", "captcha", "largefile", "httpbin", "blockpage"
    ] = "page"
    redirects: dict[str, str] = Field(default_factory=dict, description="path -> Location")
    certificate: Literal["valid", "expired", "wrong_host", "untrusted"] = "valid"
    publish_dns: bool = True
    asn: int | None = Field(default=None, gt=0, lt=2**32, description="for ips owned by no host")
    as_name: str | None = None
    plain_http_ports: list[int] = Field(
        default_factory=list,
        description="more ports answering plain HTTP (Telegram's data centres on 443, "
        "WhatsApp's endpoints on 5222)",
    )

    @field_validator("ips")
    @classmethod
    def _lab_ips(cls, v: list[str]) -> list[str]:
        return [_check_lab_ip(x) for x in v]

    @model_validator(mode="after")
    def _plain_ports(self) -> Site:
        for port in self.plain_http_ports:
            if not 0 < port < 65536:
                raise ValueError(f"plain_http_ports: port {port} out of range")
            if (port == 443 and self.https) or (port == 80 and self.http):
                raise ValueError(f"plain_http_ports: port {port} already serves this site")
        return self


class DNSRecord(_Strict):
    """An extra record in the lab's authoritative zone (e.g. a CNAME with no addresses)."""

    name: str
    type: Literal["A", "CNAME"]
    value: str


PolicyKind = Literal[
    # resolver configuration lies (ISP resolver, or the internet's view with scope="internet")
    "dns_nxdomain", "dns_refused", "dns_answer", "dns_remove", "dns_add",
    # on-path DNS: injection racing the real answer, or dropping queries
    "dns_inject", "dns_drop",
    # TCP/IP
    "tcp_drop", "tcp_refuse", "ip_blackhole", "shutdown",
    # TLS by SNI
    "sni_drop", "sni_reset", "sni_eof",
    # HTTP by Host header / string
    "http_drop", "http_reset", "http_eof", "http_blockpage",
    # throttling (delay via NFQUEUE, loss via statistic, rate via tc)
    "throttle",
]


class Policy(_Strict):
    """One censorship technique. Which fields matter depends on ``kind`` (see docs/lab.md)."""

    kind: PolicyKind
    isp: str = Field(description='an ISP name, "*" for every ISP, or "internet" for DNS kinds')
    domains: list[str] = Field(default_factory=list)
    answer: list[str] = Field(
        default_factory=list, description="IPs for dns_answer/dns_inject/dns_add"
    )
    ips: list[str] = Field(default_factory=list)
    ports: list[int] = Field(default_factory=list)
    sni: list[str] = Field(default_factory=list)
    hosts: list[str] = Field(default_factory=list, description="Host header strings for http_*")
    delay_ms: int = Field(default=0, ge=0, le=10_000)
    loss: float = Field(default=0.0, ge=0.0, le=1.0)
    rate_kbit: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Policy:
        need: dict[str, tuple[str, ...]] = {
            "dns_nxdomain": ("domains",), "dns_refused": ("domains",),
            "dns_answer": ("domains", "answer"), "dns_remove": ("domains",),
            "dns_add": ("domains", "answer"), "dns_inject": ("domains",),
            "tcp_drop": ("ips",), "tcp_refuse": ("ips",), "ip_blackhole": ("ips",),
            "sni_drop": ("sni",), "sni_reset": ("sni",), "sni_eof": ("sni",),
            "http_drop": ("hosts",), "http_reset": ("hosts",), "http_eof": ("hosts",),
            "http_blockpage": ("hosts",),
        }
        for field in need.get(self.kind, ()):
            if not getattr(self, field):
                raise ValueError(f"policy kind {self.kind!r} needs a non-empty {field!r}")
        if self.kind == "throttle" and not (self.sni or self.ips):
            raise ValueError("policy kind 'throttle' needs 'sni' or 'ips'")
        if self.kind == "throttle" and not (self.delay_ms or self.loss or self.rate_kbit):
            raise ValueError("policy kind 'throttle' needs delay_ms, loss or rate_kbit")
        dns_kinds = {"dns_nxdomain", "dns_refused", "dns_answer", "dns_remove", "dns_add"}
        if self.isp == "internet" and self.kind not in dns_kinds:
            raise ValueError(f'isp="internet" only applies to {sorted(dns_kinds)}')
        for port in self.ports:
            if not 0 < port < 65536:
                raise ValueError(f"port {port} out of range")
        return self


class Phase(_Strict):
    description: str = ""
    policies: list[Policy] = Field(default_factory=list)
    starts_at: datetime | None = Field(
        default=None,
        description="the real date this phase began in the case (UTC if no offset is given); "
        "the lab clock shows it when the lab switches to this phase",
    )

    @field_validator("starts_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        if v is None:
            return None
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


class ScheduleStep(_Strict):
    after_s: float = Field(ge=0)
    phase: str


class Scenario(_Strict):
    """A whole lab: ISPs, internet hosts and sites, phases of censorship."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
    description: str = ""
    isps: list[ISP] = Field(min_length=1, max_length=MAX_ISPS)
    hosts: list[Host] = Field(default_factory=list)
    sites: list[Site] = Field(default_factory=list)
    records: list[DNSRecord] = Field(default_factory=list)
    phases: dict[str, Phase] = Field(min_length=1)
    initial_phase: str | None = None
    schedule: list[ScheduleStep] = Field(default_factory=list)
    clock_rate: float | None = Field(
        default=None, gt=0, le=1_000_000,
        description="lab clock: scenario seconds per real second (default 60 when phases carry "
        "starts_at)",
    )

    @model_validator(mode="after")
    def _cross_refs(self) -> Scenario:
        isp_names = [i.name for i in self.isps]
        if len(set(isp_names)) != len(isp_names):
            raise ValueError(f"duplicate ISP names in {isp_names}")
        host_names = [h.name for h in self.hosts]
        if len(set(host_names)) != len(host_names):
            raise ValueError(f"duplicate host names in {host_names}")
        owner: dict[str, str] = {}
        for h in self.hosts:
            for ip in h.ips:
                if ip in owner and owner[ip] != h.name:
                    raise ValueError(f"hosts: IP {ip} belongs to both {owner[ip]!r} and {h.name!r}")
                owner[ip] = h.name
        if not any(h.role == "resolver" for h in self.hosts):
            raise ValueError(
                "hosts: a scenario needs a host with role 'resolver' (the public resolver that "
                "ISP resolvers forward to)"
            )
        away = {ip for h in self.hosts if h.role in ("control", "collector") for ip in h.ips}
        for i, site in enumerate(self.sites):
            for ip in site.ips:
                if ip in away:
                    raise ValueError(
                        f"sites[{i}].ips: {ip} belongs to the control/collector host "
                        f"{owner[ip]!r}; web sites are served from the srv host"
                    )
        if self.initial_phase is not None and self.initial_phase not in self.phases:
            raise ValueError(f"initial_phase {self.initial_phase!r} is not a declared phase")
        for step in self.schedule:
            if step.phase not in self.phases:
                raise ValueError(f"schedule names unknown phase {step.phase!r}")
        self._check_clock()
        valid_isp = set(isp_names) | {"*", "internet"}
        for pname, phase in self.phases.items():
            for i, pol in enumerate(phase.policies):
                if pol.isp not in valid_isp:
                    raise ValueError(
                        f"phases.{pname}.policies[{i}].isp: unknown ISP {pol.isp!r} "
                        f"(known: {sorted(valid_isp)})"
                    )
        return self

    def _check_clock(self) -> None:
        dated = [(n, p.starts_at) for n, p in self.phases.items() if p.starts_at is not None]
        if self.clock_rate is not None and not dated:
            raise ValueError(
                "clock_rate: the lab clock needs at least one phase with starts_at "
                "(e.g. [phases.before] starts_at = 2022-09-14T06:00:00Z)"
            )
        for (prev, t0), (name, t1) in itertools.pairwise(dated):
            if t1 is not None and t0 is not None and t1 <= t0:
                raise ValueError(
                    f"phases.{name}.starts_at: {t1.isoformat()} is not after "
                    f"phases.{prev}.starts_at {t0.isoformat()} (dated phases are declared in "
                    "the order of the case)"
                )

    @property
    def first_phase(self) -> str:
        return self.initial_phase or next(iter(self.phases))

    @property
    def has_clock(self) -> bool:
        """True if the lab clock runs (some phase carries ``starts_at``)."""
        return any(p.starts_at is not None for p in self.phases.values())

    def phase_dates(self, phase: str) -> tuple[datetime | None, datetime | None]:
        """``phase``'s ``starts_at`` and the next later ``starts_at`` of the case (or None)."""
        start = self.phases[phase].starts_at
        if start is None:
            return None, None
        later = [p.starts_at for p in self.phases.values()
                 if p.starts_at is not None and p.starts_at > start]
        return start, min(later, default=None)

