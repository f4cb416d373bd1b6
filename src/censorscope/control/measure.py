"""What the control measures for one request (oohelperd ``measure.go``, reference §2.4).

1. DNS of the URL host with the configured resolver (A and AAAA in parallel; none when the
   host is an IP literal).
2. ``ip_info`` = probe IPs ∪ control IPs (∪ the URL's IP literal), with flags 1 probe /
   2 control / 4 refused (bogon) / 8 TLS-valid and the ASN from the operator's table.
3. Endpoints: every non-refused IP × the URL's ports; TLS (SNI = URL host) on 443 and on the
   explicit port of an https URL.
4. Concurrently: TCP connect (+ TLS) to each endpoint, and one GET of the URL following
   redirects, whose resolver and dialler refuse non-public addresses (a DNS answer made only
   of refused IPs fails like OONI's bogon-rejecting resolver: ``unknown_error``).

Refused addresses are never dialled; ``AddressPolicy`` decides what is refused. The control
never tells a caller what its own resolver answered with a refused address: a name whose
answer is made only of refused addresses gets :class:`RefusedName` (HTTP 400, the addresses
not named), and refused addresses in a mixed answer are left out of ``dns.addrs`` and
``ip_info`` (a refused address the probe itself sent in ``tcp_connect`` is still reported,
flags 1 | 4: the caller already knows it). ``MeasureConfig.report_refused_answers`` restores
OONI's behaviour (answer reported with flag 4) for closed labs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from censorscope.control.policy import AddressPolicy
from censorscope.control.protocol import (
    FLAG_BOGON,
    FLAG_PROBE,
    FLAG_TH,
    FLAG_VALID_TLS,
    ControlRequest,
    EndpointResult,
    HTTPResult,
    build_response,
    discovered_h3_endpoint,
    http_map_failure,
)
from censorscope.model import failures as F
from censorscope.model.endpoint import split_ip_port
from censorscope.model.http import first_header_values, page_title
from censorscope.model.ipinfo import ASNTable
from censorscope.net.conn import connect_tcp
from censorscope.net.dns import DNSResult, resolve_doh, resolve_getaddrinfo, resolve_udp
from censorscope.net.errors import NetError, classify_error
from censorscope.net.fetch import fetch
from censorscope.net.tls import TLSConfig, tls_handshake

DEFAULT_RESOLVER = "https://dns.google/dns-query"
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36"
)
MAX_PARALLEL_ENDPOINTS = 32

Lookup = Callable[[str, str], Awaitable[DNSResult]]


@dataclass
class MeasureConfig:
    """Knobs of a measurement. ``resolver``: ``udp://ip:port``, ``https://…/dns-query`` or
    ``system``. ``timeout`` bounds each connect, handshake and HTTP step; ``dns_timeout`` each
    lookup (OONI: 15 s and 4 s)."""

    resolver: str = DEFAULT_RESOLVER
    ca_file: str | None = None
    timeout: float = 15.0
    dns_timeout: float = 4.0
    max_body: int = 16 * 1024 * 1024
    policy: AddressPolicy = field(default_factory=AddressPolicy)
    asn_table: ASNTable | None = None
    reject_refused_probe_ips: bool = False
    report_refused_answers: bool = False

    def __post_init__(self) -> None:
        self.lookup: Lookup = make_lookup(self.resolver, self.dns_timeout, self.ca_file)


def make_lookup(resolver: str, timeout: float, ca_file: str | None) -> Lookup:
    """A ``(host, qtype) -> DNSResult`` function for a resolver spec; ``ValueError`` if bad.

    For ``system`` the qtype is ignored (getaddrinfo returns both families at once).
    """

    if resolver == "system":

        async def system(host: str, qtype: str) -> DNSResult:
            return await resolve_getaddrinfo(host, timeout=timeout)

        return system
    if resolver.startswith("udp://"):
        server = resolver.removeprefix("udp://")
        try:
            split_ip_port(server)
        except ValueError as exc:
            raise ValueError(f"resolver {resolver!r}: expected udp://IP:PORT") from exc

        async def udp(host: str, qtype: str) -> DNSResult:
            return await resolve_udp(host, qtype, server, timeout=timeout)

        return udp
    if resolver.startswith("https://"):

        async def doh(host: str, qtype: str) -> DNSResult:
            tls = None
            if ca_file is not None:
                from urllib.parse import urlsplit

                name = urlsplit(resolver).hostname
                tls = TLSConfig(server_name=name, alpn=["http/1.1"], ca_file=ca_file)
            return await resolve_doh(host, qtype, resolver, timeout=timeout, tls=tls)

        return doh
    raise ValueError(
        f"resolver {resolver!r}: use udp://IP:PORT, https://HOST/dns-query or system"
    )


def request_refusal(req: ControlRequest, cfg: MeasureConfig) -> str | None:
    """Why ``req`` must be refused with a 400 before anything is dialled, or ``None``.

    A URL whose host is a refused IP literal is refused, and so is ``localhost`` (a name
    whose DNS answer is refused is refused later by :func:`measure`: :class:`RefusedName`).
    Refused IPs in the probe's ``tcp_connect`` are normally fine (OONI probes send them when
    DNS is hijacked to a bogon; they are reported with flag 4 and never dialled);
    ``reject_refused_probe_ips`` refuses such requests too.
    """

    if req.host_is_ip:
        message = cfg.policy.describe_refusal(req.host)
        if message is not None:
            return message
    elif not cfg.report_refused_answers:
        message = name_refusal(req.host, cfg.policy)
        if message is not None:
            return message
    if cfg.reject_refused_probe_ips:
        for ip in req.probe_ips:
            message = cfg.policy.describe_refusal(ip)
            if message is not None:
                return f"tcp_connect: {message}"
    return None


class RefusedName(Exception):
    """The URL's host names only refused addresses (an HTTP 400 that does not name them)."""

    def __init__(self, host: str) -> None:
        self.message = (
            f"refused name {host}: it resolves only to addresses the control does not dial "
            "(loopback, private or other special-purpose space)"
        )
        super().__init__(self.message)


def name_refusal(host: str, policy: AddressPolicy) -> str | None:
    """Names refused before any lookup: ``localhost`` and ``*.localhost`` (RFC 6761: loopback
    by definition), unless the policy allows loopback."""

    if (host == "localhost" or host.endswith(".localhost")) and \
            policy.is_refused("127.0.0.1") and policy.is_refused("::1"):
        return RefusedName(host).message
    return None


async def lookup_host(lookup: Lookup, resolver: str, host: str) -> tuple[list[str], str | None]:
    """Addresses of ``host`` (A then AAAA, de-duplicated) and the probe-style failure.

    Succeeds if either family has an answer; otherwise reports the A failure unless it is
    ``dns_no_answer`` and the AAAA one is more telling.
    """

    qtypes = ["ANY"] if resolver == "system" else ["A", "AAAA"]
    results = await asyncio.gather(
        *(lookup(host, q) for q in qtypes), return_exceptions=True
    )
    addrs: list[str] = []
    failures: list[str] = []
    for result in results:
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result
            failures.append(classify_error(result, F.RESOLVE).failure)
            continue
        for ip in result.addresses:
            if ip not in addrs:
                addrs.append(ip)
    if addrs:
        return addrs, None
    meaningful = [f for f in failures if f != F.DNS_NO_ANSWER]
    return [], meaningful[0] if meaningful else F.DNS_NO_ANSWER


async def measure_endpoint(
    ip: str, port: int, server_name: str | None, cfg: MeasureConfig
) -> EndpointResult:
    """TCP connect to ``ip:port`` and, if ``server_name`` is set, a TLS handshake."""

    result = EndpointResult(ip=ip, port=port, tcp_failure=None, tls_server_name=server_name)
    try:
        conn = await connect_tcp(ip, port, timeout=cfg.timeout)
    except NetError as err:
        result.tcp_failure = err.failure
        return result
    try:
        if server_name is not None:
            config = TLSConfig(server_name=server_name, ca_file=cfg.ca_file)
            try:
                tls = await tls_handshake(conn, config, timeout=cfg.timeout)
            except NetError as err:
                result.tls_failure = err.failure
            else:
                tls.close()
    finally:
        conn.close()
    return result


async def measure_http(req: ControlRequest, cfg: MeasureConfig) -> HTTPResult:
    """GET the URL following redirects, never dialling a refused address."""

    async def resolve(host: str) -> list[str]:
        addrs, failure = await lookup_host(cfg.lookup, cfg.resolver, host)
        if failure is not None:
            raise NetError(failure, F.RESOLVE)
        allowed = [ip for ip in addrs if not cfg.policy.is_refused(ip)]
        if not allowed:
            raise NetError(F.DNS_BOGON_ERROR, F.RESOLVE)
        return allowed

    headers = list(req.headers)
    if not any(name.lower() == "user-agent" for name, _ in headers):
        headers.append(("User-Agent", DEFAULT_USER_AGENT))
    result = await fetch(
        req.url,
        resolve=resolve,
        tls_ca_file=cfg.ca_file,
        headers=headers,
        timeout=cfg.timeout,
        max_redirects=10,
        max_body=cfg.max_body,
        refuse_ip=cfg.policy.is_refused,
    )
    response = result.response
    body_failed = result.failure is not None and result.operation == F.HTTP_ROUND_TRIP and \
        result.failure not in (F.TOO_MANY_REDIRECTS, F.HTTP_INVALID_REDIRECT_LOCATION_HOST)
    if response is None or (result.failure is not None and not body_failed):
        return HTTPResult(failure=http_map_failure(result.failure, result.operation))
    h3 = ""
    if len(result.chain) == 1:  # Alt-Svc of the FIRST response; fetch keeps only the last
        h3 = discovered_h3_endpoint(response.header("alt-svc"), req.host)
    return HTTPResult(
        failure=http_map_failure(result.failure, result.operation),
        status_code=response.status,
        body_length=len(response.body),
        title=page_title(response.body),
        headers=dict(sorted(first_header_values(response.headers).items())),  # Go map order
        discovered_h3_endpoint=h3,
    )


async def measure(req: ControlRequest, cfg: MeasureConfig) -> dict[str, object]:
    """Run the whole measurement for ``req`` and return the THResponse JSON object."""

    if req.host_is_ip:
        dns_addrs: list[str] = []
        dns_failure: str | None = None
    else:
        dns_addrs, dns_failure = await lookup_host(cfg.lookup, cfg.resolver, req.host)
        if not cfg.report_refused_answers and dns_addrs:
            dns_addrs = [ip for ip in dns_addrs if not cfg.policy.is_refused(ip)]
            if not dns_addrs:
                raise RefusedName(req.host)

    flags: dict[str, int] = {}
    for ip in req.probe_ips:
        flags[ip] = flags.get(ip, 0) | FLAG_PROBE
    for ip in dns_addrs:
        flags[ip] = flags.get(ip, 0) | FLAG_TH
    if req.host_is_ip:
        flags.setdefault(req.host, 0)
    for ip in flags:
        if cfg.policy.is_refused(ip):
            flags[ip] |= FLAG_BOGON

    server_name = req.host
    plan = [
        (ip, port, server_name if req.wants_tls(port) else None)
        for ip in flags
        if not flags[ip] & FLAG_BOGON
        for port in req.ports
    ]
    gate = asyncio.Semaphore(MAX_PARALLEL_ENDPOINTS)

    async def gated(ip: str, port: int, sni: str | None) -> EndpointResult:
        async with gate:
            return await measure_endpoint(ip, port, sni, cfg)

    http_task = asyncio.ensure_future(measure_http(req, cfg))
    try:
        endpoints = list(await asyncio.gather(*(gated(*item) for item in plan)))
        http = await http_task
    finally:
        if not http_task.done():
            http_task.cancel()
            await asyncio.gather(http_task, return_exceptions=True)

    for ep in endpoints:
        if ep.tls_server_name is not None and ep.tcp_failure is None and ep.tls_failure is None:
            flags[ep.ip] |= FLAG_VALID_TLS
    asn = cfg.asn_table.asn if cfg.asn_table is not None else (lambda _ip: 0)
    ip_info = {ip: (asn(ip), value) for ip, value in flags.items() if ip}
    return build_response(
        endpoints=endpoints,
        http=http,
        dns_failure=dns_failure,
        dns_addrs=dns_addrs,
        ip_info=ip_info,
    )
