"""Settings of one ``dns_consistency`` run and the target it measures.

From the probe's :class:`~censorscope.experiments.interface.ExperimentSettings` it takes the
Do53 resolver (the default of ``resolvers``), the DoH URL (the default of ``doh``), the
control, the trust anchors (``ca_file`` for the answers' TLS checks, ``control_ca_file`` for
the control and DoH), the public ranges, the ASN table and the timeouts. Its own options
(``--option dns_consistency.KEY=VALUE``) are :data:`OPTION_HELP`; a bad value raises
``ValueError`` naming the key.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from censorscope.experiments.interface import ExperimentSettings, Network, Timeouts
from censorscope.model.endpoint import join_host_port, split_ip_port
from censorscope.model.ipinfo import ASNTable

__all__ = ["DEFAULT_RESOLVERS", "DEFAULT_WHOAMI", "OPTION_HELP", "DNSConsistencyOptions",
           "parse_target"]

# OONI's whoami name: its authoritative server answers with the asking resolver's address.
DEFAULT_WHOAMI: Final = "whoami.v4.powerdns.org"
# Used when neither the option nor the probe's configuration names a Do53 resolver.
DEFAULT_RESOLVERS: Final = ("8.8.8.8:53", "1.1.1.1:53")

OPTION_HELP: Final = {
    "resolvers": "comma list of ip[:port] UDP resolvers (default: the probe's resolver)",
    "doh": "comma list of DoH URLs (default: the probe's doh_url; 'none' for no DoH)",
    "tls_check": "true/false: a TLS handshake with the name at every answer (default true)",
    "whoami": f"name answered with the asking resolver's address (default {DEFAULT_WHOAMI})",
}

_LABEL: Final = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)\Z")


def parse_target(raw: str) -> str:
    """A domain (``www.example.org``) or a URL (``https://www.example.org/x``) → the domain,
    lower case, without a trailing dot, IDNA for non-ASCII names. ``ValueError`` with the
    reason for anything else (an IP address needs no resolving)."""
    text = raw.strip()
    if "://" in text:
        try:
            host = urlsplit(text).hostname or ""
        except ValueError as exc:
            raise ValueError(f"not a URL: {exc}") from None
    else:
        host = text.split("/", 1)[0]
    host = host.rstrip(".")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        raise ValueError("an IP address is not a domain to resolve")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(f"not a valid domain name: {exc}") from None
    host = host.lower()
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.match(x) for x in labels):
        raise ValueError(f"{host or raw!r} is not a domain name")
    return host


def _resolvers(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for item in (x.strip() for x in text.split(",")):
        if not item:
            continue
        try:
            ip, port = split_ip_port(item)
        except ValueError:
            try:
                ip, port = str(ipaddress.ip_address(item.strip("[]"))), 53
            except ValueError:
                raise ValueError(f"resolvers: {item!r} is not an ip[:port] resolver") from None
        endpoint = join_host_port(ip, port)
        if endpoint not in out:
            out.append(endpoint)
    if not out:
        raise ValueError("resolvers: no resolver given")
    return tuple(out)


def _doh(text: str) -> tuple[str, ...]:
    if text.strip().lower() == "none":
        return ()
    out: list[str] = []
    for item in (x.strip() for x in text.split(",")):
        if not item:
            continue
        parts = urlsplit(item)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f"doh: {item!r} is not an https:// URL")
        if item not in out:
            out.append(item)
    return tuple(out)


def _bool(key: str, text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off"):
        return False
    raise ValueError(f"{key}: {text!r} is not true or false")


@dataclass(frozen=True)
class DNSConsistencyOptions:
    """Everything one run needs. ``system_resolver`` None: read the system's nameserver
    from ``/etc/resolv.conf`` (the UDP lookup next to getaddrinfo); "" skips that lookup.
    ``tls_port`` is where answers are TLS-checked (443; tests on loopback move it)."""

    resolvers: tuple[str, ...] = DEFAULT_RESOLVERS
    doh_urls: tuple[str, ...] = ()
    control_url: str | None = None
    ca_file: str | None = None
    control_ca_file: str | None = None
    tls_check: bool = True
    whoami: str = DEFAULT_WHOAMI
    system_resolver: str | None = None
    public_ranges: tuple[Network, ...] = ()
    asn_table: ASNTable | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    allow_loopback: bool = False
    tls_port: int = 443

    @classmethod
    def from_settings(cls, settings: ExperimentSettings) -> DNSConsistencyOptions:
        """The options for the probe's ``settings`` and this experiment's ``options``."""
        given = settings.options
        unknown = sorted(set(given) - set(OPTION_HELP))
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown option (known: {', '.join(OPTION_HELP)})")
        if "resolvers" in given:
            resolvers = _resolvers(given["resolvers"])
        elif settings.resolver:
            resolvers = _resolvers(settings.resolver)
        else:
            resolvers = DEFAULT_RESOLVERS
        if "doh" in given:
            doh = _doh(given["doh"])
        else:
            doh = (settings.doh_url,) if settings.doh_url else ()
        whoami = given.get("whoami", DEFAULT_WHOAMI).strip()
        if whoami:
            try:
                whoami = parse_target(whoami)
            except ValueError as exc:
                raise ValueError(f"whoami: {exc}") from None
        return cls(
            resolvers=resolvers,
            doh_urls=doh,
            control_url=settings.control_url,
            ca_file=settings.ca_file,
            control_ca_file=settings.control_ca_file,
            tls_check=_bool("tls_check", given.get("tls_check", "true")),
            whoami=whoami,
            public_ranges=settings.public_ranges,
            asn_table=settings.asn_table,
            timeouts=settings.timeouts,
            allow_loopback=settings.allow_loopback,
        )

    def asn_of(self, ip: str) -> int:
        return self.asn_table.asn(ip) if self.asn_table is not None else 0

    def as_name_of(self, ip: str) -> str:
        info = self.asn_table.lookup(ip) if self.asn_table is not None else None
        return info.as_name if info is not None else ""
