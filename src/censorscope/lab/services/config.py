"""JSON configuration of the lab's service programs (DNS server, web server, proxy).

The lab runtime writes one JSON file per program and starts it as
``python -m censorscope.lab.services.<name> --config FILE.json``; on SIGHUP the program calls
``load`` again. Names are stored and compared in their canonical form: lower case, no trailing
dot, IDNA (punycode) for non-ASCII names (``Яндекс.рф`` → ``xn--d1acpjx3f.xn--p1ai``).

Addresses are not restricted to the lab ranges here (the scenario schema does that), so the
programs can be tested on loopback.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from censorscope.model.endpoint import is_ip as _looks_like_ip

__all__ = [
    "BlockpageConfig",
    "DNSOverride",
    "DNSRecordValue",
    "DNSServerConfig",
    "DoHConfig",
    "ProxyConfig",
    "ProxyServerConfig",
    "SiteConfig",
    "WebServerConfig",
    "load",
    "normalize_name",
    "split_hostport",
]


def normalize_name(name: str) -> str:
    """Canonical DNS name: lower case, no trailing dot, punycode for non-ASCII labels."""
    name = name.strip().rstrip(".")
    if not name.isascii():
        name = name.encode("idna").decode("ascii")
    return name.lower()


def split_hostport(value: str, default_port: int = 53) -> tuple[str, int]:
    """``"192.0.2.1:5353"`` → ``("192.0.2.1", 5353)``; a bare IP gets ``default_port``."""
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, default_port
    return host, int(port)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _ip(value: str) -> str:
    ipaddress.ip_address(value)
    return value


_V = TypeVar("_V")


def _names(values: dict[str, _V]) -> dict[str, _V]:
    return {normalize_name(k): v for k, v in values.items()}


def _ips(values: list[str]) -> list[str]:
    return [_ip(x) for x in values]


# --------------------------------------------------------------------------- DNS


class DNSRecordValue(_Strict):
    """One resource record of a name: an address or a CNAME target."""

    type: Literal["A", "AAAA", "CNAME"]
    value: str
    ttl: int = Field(default=300, ge=0)

    @field_validator("value")
    @classmethod
    def _value(cls, v: str) -> str:
        return v if _looks_like_ip(v) else normalize_name(v)


class DNSOverride(_Strict):
    """A lie told for one name (a censor's resolver configuration).

    - ``nxdomain``: NXDOMAIN; ``refused``: REFUSED; ``drop``: no reply at all.
    - ``answer``: reply with exactly ``answer`` (IPs → A/AAAA; a name → CNAME to it).
    - ``add``: the normal reply plus the ``answer`` records.
    - ``remove``: as if the name had no records (NXDOMAIN; never forwarded upstream).
    """

    action: Literal["nxdomain", "refused", "answer", "add", "remove", "drop"]
    answer: list[str] = Field(default_factory=list)
    ttl: int = Field(default=300, ge=0)


class DoHConfig(_Strict):
    """DNS over HTTPS (RFC 8484) on ``listen``:``port``, GET ``?dns=`` and POST.

    Give ``cert_file``/``key_file``, or ``cert_dir`` + ``names`` to have a valid lab certificate
    issued (``ca.issue``).
    """

    listen: list[str] = Field(min_length=1)
    port: int = Field(default=443, gt=0, lt=65536)
    path: str = "/dns-query"
    cert_file: str | None = None
    key_file: str | None = None
    cert_dir: str | None = None
    names: list[str] = Field(default_factory=list)

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: list[str]) -> list[str]:
        return _ips(v)


class DNSServerConfig(_Strict):
    """A DNS server: authoritative for ``records``; a forwarder when ``upstream`` is set.

    Lookup order for a name: ``overrides`` → ``whoami`` → ``records`` (CNAME chains followed
    inside ``records``) → ``upstream`` (if set; the reply is relayed) → NXDOMAIN. ``*.zone``
    keys in ``records``/``overrides`` match every name below ``zone``. A ``whoami`` name is
    answered with the address the query came from (A for an IPv4 client, AAAA for IPv6): asked
    through a forwarding resolver, it names that resolver (OONI's ``whoami.v4.powerdns.org``).
    """

    listen: list[str] = Field(min_length=1)
    port: int = Field(default=53, gt=0, lt=65536)
    tcp: bool = True
    records: dict[str, list[DNSRecordValue]] = Field(default_factory=dict)
    overrides: dict[str, DNSOverride] = Field(default_factory=dict)
    upstream: str | None = Field(default=None, description='"ip:port" (port defaults to 53)')
    upstream_timeout: float = Field(default=2.0, gt=0)
    doh: DoHConfig | None = None
    whoami: list[str] = Field(default_factory=list)

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: list[str]) -> list[str]:
        return _ips(v)

    @field_validator("whoami")
    @classmethod
    def _whoami(cls, v: list[str]) -> list[str]:
        return [normalize_name(x) for x in v]

    @field_validator("records", "overrides")
    @classmethod
    def _norm(cls, v: dict[str, object]) -> dict[str, object]:
        return _names(v)


# --------------------------------------------------------------------------- web


class SiteConfig(_Strict):
    """One set of virtual hosts (mirrors ``lab.schema.Site`` plus certificate files).

    Without ``cert_file``/``key_file`` the web server issues a certificate of kind
    ``certificate`` for ``names`` in the config's ``cert_dir``.
    """

    names: list[str] = Field(min_length=1)
    ips: list[str] = Field(min_length=1)
    http: bool = True
    https: bool = True
    title: str | None = None
    behaviour: Literal["page", "redirect", "captcha", "largefile", "httpbin", "blockpage"] = "page"
    redirects: dict[str, str] = Field(default_factory=dict)
    redirect_status: int = Field(default=308, ge=300, lt=400)
    certificate: Literal["valid", "expired", "wrong_host", "untrusted"] = "valid"
    cert_file: str | None = None
    key_file: str | None = None
    plain_http_ports: list[int] = Field(default_factory=list)

    @field_validator("ips")
    @classmethod
    def _ips(cls, v: list[str]) -> list[str]:
        return _ips(v)

    @field_validator("names")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        return [normalize_name(x) for x in v]


class ProxyConfig(_Strict):
    """A transparent ISP proxy on ``ip``: HTTP on ``http_port``, TLS (SNI splice) on ``https_port``.

    The real host is found by resolving the Host header / SNI through ``resolver``
    (``"ip:port"``) and reached on ``upstream_http_port`` / ``upstream_https_port``.
    """

    ip: str
    resolver: str
    http_port: int = 80
    https_port: int = 443
    upstream_http_port: int = 80
    upstream_https_port: int = 443

    @field_validator("ip")
    @classmethod
    def _ip(cls, v: str) -> str:
        return _ip(v)


class BlockpageConfig(_Strict):
    """A blockpage server: every HTTP request on ``ip``:``port`` gets the "Access Denied" page."""

    ip: str
    port: int = 80

    @field_validator("ip")
    @classmethod
    def _ip(cls, v: str) -> str:
        return _ip(v)


class WebServerConfig(_Strict):
    """The web server program: every site on its IPs, plus blockpage servers and proxies.

    ``client_networks`` are the probe LANs (CIDRs): only clients from there get the CAPTCHA and
    the broken redirects. ``http_port``/``https_port`` exist so tests can use high ports.
    """

    sites: list[SiteConfig] = Field(default_factory=list)
    client_networks: list[str] = Field(default_factory=list)
    proxies: list[ProxyConfig] = Field(default_factory=list)
    blockpages: list[BlockpageConfig] = Field(default_factory=list)
    cert_dir: str
    http_port: int = 80
    https_port: int = 443
    largefile_size: int = Field(default=32 * 1024 * 1024, ge=0)

    @field_validator("client_networks")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        for cidr in v:
            ipaddress.ip_network(cidr, strict=False)
        return v


class ProxyServerConfig(_Strict):
    """The proxy program run on its own (``python -m censorscope.lab.services.proxy``)."""

    proxies: list[ProxyConfig] = Field(min_length=1)


_M = TypeVar("_M", bound=BaseModel)


def load(path: str | Path, model: type[_M]) -> _M:
    """Read and validate the JSON config at ``path`` as ``model``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return model.model_validate(data)
