"""The test-helper wire protocol (OONI ``model.THRequest`` / ``model.THResponse``).

``parse_request`` validates a request body strictly and raises ``RequestError`` (an HTTP 400
with a message a person can act on). The ``*_map_failure`` functions turn the probe-style
failure strings ``censorscope.net`` produces into the legacy strings oohelperd reports
(reference ``ooni-probe.md`` §2.4). ``build_response`` assembles the JSON object in OONI's
exact shape and key order (Go sorts map keys; ``tls_handshake`` and ``ip_info`` are omitted
when empty).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from censorscope.model import failures as F
from censorscope.model.endpoint import is_ip, join_host_port, split_host_port, split_ip_port
from censorscope.model.http import canonical_header_key

MAX_TCP_CONNECT = 64
MAX_URL_LENGTH = 4096
MAX_HEADER_VALUES = 8
MAX_HEADER_VALUE_LENGTH = 2048
HONOURED_HEADERS = ("user-agent", "accept", "accept-language")

FLAG_PROBE = 1
FLAG_TH = 2
FLAG_BOGON = 4
FLAG_VALID_TLS = 8


class RequestError(ValueError):
    """The request is malformed or asks for something refused; ``status`` is the HTTP code."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class ControlRequest:
    """A validated request. ``host`` is the ASCII (IDNA) hostname, IPv6 without brackets."""

    url: str
    scheme: str
    host: str
    port: int | None
    headers: list[tuple[str, str]]
    probe_ips: list[str]
    quic: bool = False
    host_is_ip: bool = field(init=False)

    def __post_init__(self) -> None:
        self.host_is_ip = is_ip(self.host)

    @property
    def ports(self) -> list[int]:
        """Ports to measure: the URL's port, else 443 for https and 80 + 443 for http."""

        if self.port is not None:
            return [self.port]
        return [443] if self.scheme == "https" else [80, 443]

    def wants_tls(self, port: int) -> bool:
        """TLS on port 443 (OONI), and also on the explicit port of an https URL."""

        return port == 443 or (self.scheme == "https" and port == self.port)


_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


def _idna_host(host: str) -> str:
    if is_ip(host):
        return str(ipaddress.ip_address(host))
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise RequestError(f"http_request: hostname {host!r} is not a valid domain name") from exc
    ascii_host = ascii_host.lower().rstrip(".")
    if _NUMERIC_LABEL.fullmatch(ascii_host.rsplit(".", 1)[-1]):
        # WHATWG parses such a host as an IPv4 number (2130706433, 0177.0.0.1, 0x7f.1) and
        # inet_aton-style resolvers do too: refuse it rather than guess which address it means
        raise RequestError(
            f"http_request: host {host!r} is a non-standard IPv4 spelling (or ends in a number); "
            "write IPv4 addresses in dotted decimal"
        )
    if not ascii_host or len(ascii_host) > 253 or not re.fullmatch(
        r"[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*", ascii_host
    ):
        raise RequestError(f"http_request: hostname {host!r} is not a valid domain name")
    return ascii_host


def parse_url(url: Any) -> tuple[str, str, str, int | None]:
    """Validate ``http_request``; return (normalised URL, scheme, ASCII host, explicit port)."""

    if not isinstance(url, str) or not url:
        raise RequestError("http_request: must be a non-empty string URL")
    if len(url) > MAX_URL_LENGTH:
        raise RequestError(f"http_request: URL longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) < 0x21 or c == "\x7f" for c in url):
        raise RequestError("http_request: URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "Invalid IPv6 URL": an unbalanced bracket
        raise RequestError(f"http_request: malformed URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise RequestError("http_request: only http:// and https:// URLs are measured")
    try:
        raw_host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise RequestError(f"http_request: bad host or port in URL: {exc}") from exc
    if not raw_host:
        raise RequestError("http_request: URL has no host")
    if port == 0:
        raise RequestError("http_request: port 0 is not a valid port")
    host = _idna_host(raw_host)
    netloc = join_host_port(host, port) if port is not None else (
        f"[{host}]" if ":" in host else host
    )
    normalised = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    return normalised, scheme, host, port


def _parse_headers(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise RequestError("http_request_headers: must be an object of name → [values]")
    out: list[tuple[str, str]] = []
    for name, values in value.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise RequestError(f"http_request_headers[{name!r}]: must be a list of strings")
        if len(values) > MAX_HEADER_VALUES:
            raise RequestError(f"http_request_headers[{name!r}]: more than {MAX_HEADER_VALUES}")
        lowered = name.lower()
        if lowered not in HONOURED_HEADERS:
            continue  # OONI ignores every other header
        canonical = canonical_header_key(lowered)
        for v in values:
            if len(v) > MAX_HEADER_VALUE_LENGTH or any(
                (ord(c) < 0x20 and c != "\t") or c == "\x7f" for c in v
            ):
                raise RequestError(
                    f"http_request_headers[{name!r}]: value too long or with control characters"
                )
            out.append((canonical, v))
    return out


def _parse_tcp_connect(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RequestError('tcp_connect: must be a list of "ip:port" strings')
    if len(value) > MAX_TCP_CONNECT:
        raise RequestError(f"tcp_connect: more than {MAX_TCP_CONNECT} endpoints")
    ips: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise RequestError('tcp_connect: must be a list of "ip:port" strings')
        ip, _port = split_endpoint(item)
        if ip not in ips:
            ips.append(ip)
    return ips


def split_endpoint(text: str) -> tuple[str, int]:
    """``"1.2.3.4:80"`` / ``"[::1]:443"`` → (canonical ip, port); ``RequestError`` if invalid."""

    try:
        ip, port = split_ip_port(text)
    except ValueError as exc:
        raise RequestError(f"tcp_connect: {exc}") from exc
    if port == 0:
        raise RequestError(f"tcp_connect: {text!r} has no valid port")
    return ip, port


def parse_request(body: bytes) -> ControlRequest:
    """Parse and validate a request body (JSON). Raises ``RequestError`` (400)."""

    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise RequestError("body must be a JSON object")
    url, scheme, host, port = parse_url(data.get("http_request"))
    quic = data.get("x_quic_enabled", False)
    if not isinstance(quic, bool):
        raise RequestError("x_quic_enabled: must be a boolean")
    return ControlRequest(
        url=url,
        scheme=scheme,
        host=host,
        port=port,
        headers=_parse_headers(data.get("http_request_headers")),
        probe_ips=_parse_tcp_connect(data.get("tcp_connect")),
        quic=quic,
    )


# --- failure mapping (oohelperd dnsMapFailure / tcpMapFailure / httpMapFailure) ---------------

_DNS_SERVER_FAILURES = frozenset(
    {
        F.DNS_NON_RECOVERABLE_FAILURE,
        F.DNS_REFUSED_ERROR,
        F.DNS_SERVER_MISBEHAVING,
        F.DNS_TEMPORARY_FAILURE,
        F.DNS_SERVFAIL_ERROR,
    }
)
_DNS_LOOKUP_FAILURES = frozenset(
    {F.DNS_NXDOMAIN_ERROR, F.DNS_NO_ANSWER, *_DNS_SERVER_FAILURES, F.ANDROID_DNS_CACHE_NO_DATA}
)


def dns_map_failure(failure: str | None) -> str | None:
    """DNS: nxdomain → ``dns_name_error``; no answer → null; server errors →
    ``dns_server_failure``; anything else → ``unknown_error``."""

    if failure is None or failure == F.DNS_NO_ANSWER:
        return None
    if failure == F.DNS_NXDOMAIN_ERROR:
        return "dns_name_error"
    if failure in _DNS_SERVER_FAILURES:
        return "dns_server_failure"
    return "unknown_error"


def tcp_map_failure(failure: str | None) -> str | None:
    """TCP: timeout stays; refused → ``connection_refused_error``; else ``connect_error``."""

    if failure is None:
        return None
    if failure == F.GENERIC_TIMEOUT_ERROR:
        return F.GENERIC_TIMEOUT_ERROR
    if failure == F.CONNECTION_REFUSED:
        return "connection_refused_error"
    return "connect_error"


def http_map_failure(failure: str | None, operation: str | None = None) -> str | None:
    """HTTP: any DNS failure (or timeout while resolving) → ``dns_lookup_error``; timeout stays;
    refused → ``connection_refused_error``; everything else (TLS, resets, bogons) →
    ``unknown_error``."""

    if failure is None:
        return None
    if failure in _DNS_LOOKUP_FAILURES:
        return "dns_lookup_error"
    if operation == F.RESOLVE and failure == F.GENERIC_TIMEOUT_ERROR:
        return "dns_lookup_error"
    if failure == F.GENERIC_TIMEOUT_ERROR:
        return F.GENERIC_TIMEOUT_ERROR
    if failure == F.CONNECTION_REFUSED:
        return "connection_refused_error"
    return "unknown_error"


# --- response ---------------------------------------------------------------------------------


def discovered_h3_endpoint(alt_svc: str | None, host: str) -> str:
    """``host:port`` from an ``Alt-Svc: h3=":443"`` header, ``""`` if none."""

    if not alt_svc:
        return ""
    for entry in alt_svc.split(","):
        proto, _, value = entry.strip().partition("=")
        if proto.strip() != "h3":
            continue
        authority = value.split(";", 1)[0].strip().strip('"')
        try:
            alt_host, port = split_host_port(authority)
        except ValueError:
            continue
        return join_host_port(alt_host or host, port)
    return ""


@dataclass
class EndpointResult:
    """TCP (and maybe TLS) outcome for one endpoint, failures already in probe style."""

    ip: str
    port: int
    tcp_failure: str | None
    tls_server_name: str | None = None  # None: no TLS attempted
    tls_failure: str | None = None

    @property
    def address(self) -> str:
        return join_host_port(self.ip, self.port)


@dataclass
class HTTPResult:
    """Outcome of the control's fetch, already mapped to legacy strings."""

    failure: str | None
    status_code: int = -1
    body_length: int = -1
    title: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    discovered_h3_endpoint: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "body_length": self.body_length,
            "discovered_h3_endpoint": self.discovered_h3_endpoint,
            "failure": self.failure,
            "title": self.title,
            "headers": self.headers,
            "status_code": self.status_code,
        }


def build_response(
    *,
    endpoints: list[EndpointResult],
    http: HTTPResult,
    dns_failure: str | None,
    dns_addrs: list[str],
    ip_info: Mapping[str, tuple[int, int]],
) -> dict[str, Any]:
    """The THResponse JSON object. ``dns_failure`` is probe-style (mapped here);
    ``ip_info`` maps ip → (asn, flags)."""

    tcp_connect = {
        ep.address: {"status": ep.tcp_failure is None, "failure": tcp_map_failure(ep.tcp_failure)}
        for ep in sorted(endpoints, key=lambda e: e.address)
    }
    tls_handshake = {
        ep.address: {
            "server_name": ep.tls_server_name,
            "status": ep.tls_failure is None,
            "failure": ep.tls_failure,
        }
        for ep in sorted(endpoints, key=lambda e: e.address)
        if ep.tcp_failure is None and ep.tls_server_name is not None
    }
    response: dict[str, Any] = {"tcp_connect": tcp_connect}
    if tls_handshake:
        response["tls_handshake"] = tls_handshake
    response["quic_handshake"] = {}
    response["http_request"] = http.to_json()
    response["http3_request"] = None
    mapped = dns_map_failure(dns_failure)
    response["dns"] = {"failure": mapped, "addrs": [] if mapped is not None else list(dns_addrs)}
    if ip_info:
        response["ip_info"] = {
            ip: {"asn": asn, "flags": flags} for ip, (asn, flags) in sorted(ip_info.items())
        }
    return response
