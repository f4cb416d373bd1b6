"""Web observations: the flat facts OONI's minipipeline extracts from Web Connectivity test keys.

A Python restatement of probe-cli ``internal/minipipeline/observation.go`` and ``classic.go``
(LTE 0.5.28). One :class:`WebObservation` exists per failed DNS query, per IP address of each
successful query, and per ``tcp_connect`` entry; TLS handshakes and HTTP round trips update the
endpoint observation with the same ``transaction_id``. The TH response is then cross-referenced
into the observations. Only null-vs-non-null of TH failures matters downstream, so TH failure
strings are kept as they are ("" stands for success, ``None`` for "no data").
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from censorscope.experiments.web_connectivity.classic.urls import go_hostname
from censorscope.model.endpoint import join_host_port
from censorscope.model.http import page_title

# Observation types, ordered as in Go (the linear walk sorts by descending type).
TYPE_DNS = 0
TYPE_TCP = 1
TYPE_TLS = 2
TYPE_HTTP = 3

ORIGIN_DNS = "dns"
ORIGIN_TH = "th"

GETADDRINFO_ENGINES = frozenset({"getaddrinfo", "golang_net_resolver"})


@dataclass
class WebObservation:
    """One fact plus its control counterpart. ``None`` means "unknown / not measured"."""

    type: int
    failure: str
    transaction_id: int | None
    tag_depth: int | None = None
    tag_fetch_body: bool | None = None
    # DNS
    dns_transaction_id: int | None = None
    dns_domain: str | None = None
    dns_lookup_failure: str | None = None
    dns_query_type: str | None = None
    dns_engine: str | None = None
    dns_resolved_addrs: tuple[str, ...] | None = None
    # IP
    ip_address: str | None = None
    ip_address_origin: str | None = None
    ip_address_bogon: bool | None = None
    # endpoint
    endpoint_transaction_id: int | None = None
    endpoint_address: str | None = None
    tcp_connect_failure: str | None = None
    tls_handshake_failure: str | None = None
    tls_server_name: str | None = None
    # HTTP
    http_request_url: str | None = None
    http_failure: str | None = None
    http_response_status_code: int | None = None
    http_response_body_length: int | None = None
    http_response_body_is_truncated: bool | None = None
    http_response_headers_keys: frozenset[str] | None = None
    http_response_title: str | None = None
    http_response_location: str | None = None
    http_response_is_final: bool | None = None
    # control
    control_dns_domain: str | None = None
    control_dns_lookup_failure: str | None = None
    control_dns_resolved_addrs: tuple[str, ...] | None = None
    control_tcp_connect_failure: str | None = None
    control_tls_handshake_failure: str | None = None
    control_http_failure: str | None = None
    control_http_response_status_code: int | None = None
    control_http_response_body_length: int | None = None
    control_http_response_headers_keys: frozenset[str] | None = None
    control_http_response_title: str | None = None


@dataclass(frozen=True)
class ControlExpectations:
    """What the TH saw: its resolved addresses and its final HTTP failure ("" = success)."""

    dns_addresses: tuple[str, ...]
    final_response_failure: str


@dataclass
class WebObservationsContainer:
    """All observations of one measurement (``KnownTCPEndpoints`` keyed by transaction id)."""

    dns_lookup_failures: list[WebObservation] = field(default_factory=list)
    dns_lookup_successes: list[WebObservation] = field(default_factory=list)
    known_tcp_endpoints: dict[int, WebObservation] = field(default_factory=dict)
    known_ip_addresses: dict[str, WebObservation] = field(default_factory=dict)
    control_expectations: ControlExpectations | None = None

    def all_observations(self) -> list[WebObservation]:
        """DNS failures, DNS successes, then endpoints (the input of the linear sort)."""
        return [
            *self.dns_lookup_failures,
            *self.dns_lookup_successes,
            *self.known_tcp_endpoints.values(),
        ]


# --- small helpers -----------------------------------------------------------------------------


def _failure(value: Any) -> str:
    """OONI failure (str | None) as Go's ``utilsStringPointerToString``: None becomes ""."""
    return value if isinstance(value, str) else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one (tolerate null/missing fields)."""
    return value if isinstance(value, Mapping) else {}


def _tags(entry: Mapping[str, Any]) -> list[str]:
    tags = entry.get("tags")
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def tag_depth(entry: Mapping[str, Any]) -> int | None:
    """Value of the ``depth=N`` tag, or None."""
    for tag in _tags(entry):
        if tag.startswith("depth="):
            try:
                return int(tag.removeprefix("depth="))
            except ValueError:
                return None
    return None


def tag_fetch_body(entry: Mapping[str, Any]) -> bool | None:
    """Value of the ``fetch_body=true|false`` tag, or None."""
    for tag in _tags(entry):
        if tag.startswith("fetch_body="):
            return tag.removeprefix("fetch_body=") == "true"
    return None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def maybe_binary_bytes(value: Any) -> bytes:
    """Bytes of an OONI MaybeBinaryData value (UTF-8 string or ``{"format":"base64"}``)."""
    if isinstance(value, str):
        return value.encode("utf-8", errors="surrogatepass")
    if isinstance(value, Mapping) and value.get("format") == "base64":
        data = value.get("data")
        if isinstance(data, str):
            try:
                return base64.b64decode(data)
            except (binascii.Error, ValueError):
                return b""
    return b""


def _header_keys(headers: Any, headers_list: Any) -> frozenset[str]:
    if isinstance(headers, Mapping) and headers:
        return frozenset(k for k in headers if isinstance(k, str))
    if isinstance(headers_list, list):
        return frozenset(
            pair[0] for pair in headers_list
            if isinstance(pair, list) and pair and isinstance(pair[0], str)
        )
    return frozenset()


def _header_value(headers: Any, name: str) -> str | None:
    if not isinstance(headers, Mapping):
        return None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name:
            return maybe_binary_bytes(value).decode("utf-8", errors="replace")
    return None


def _is_final_status(code: int) -> bool:
    return int(code / 100) in (2, 4, 5)  # Go integer division truncates toward zero


# --- ingestion ---------------------------------------------------------------------------------


def _ingest_dns(c: WebObservationsContainer, queries: Iterable[Any],
                is_bogon: Callable[[str], bool]) -> None:
    for q in queries:
        if not isinstance(q, Mapping):
            continue
        txid = _int_or_none(q.get("transaction_id"))
        depth = tag_depth(q)
        hostname = q.get("hostname") if isinstance(q.get("hostname"), str) else ""
        qtype = q.get("query_type") if isinstance(q.get("query_type"), str) else ""
        engine = q.get("engine") if isinstance(q.get("engine"), str) else ""
        failure = _failure(q.get("failure"))
        if failure:
            c.dns_lookup_failures.append(WebObservation(
                type=TYPE_DNS, failure=failure, transaction_id=txid, tag_depth=depth,
                dns_transaction_id=txid, dns_domain=hostname, dns_lookup_failure=failure,
                dns_query_type=qtype, dns_engine=engine,
            ))
            continue
        addrs: set[str] = set()
        for answer in q.get("answers") or []:
            if not isinstance(answer, Mapping):
                continue
            if answer.get("answer_type") == "A" and isinstance(answer.get("ipv4"), str):
                addrs.add(answer["ipv4"])
            elif answer.get("answer_type") == "AAAA" and isinstance(answer.get("ipv6"), str):
                addrs.add(answer["ipv6"])
        resolved = tuple(sorted(addrs))
        for addr in resolved:
            obs = WebObservation(
                type=TYPE_DNS, failure="", transaction_id=txid, tag_depth=depth,
                dns_transaction_id=txid, dns_domain=hostname, dns_lookup_failure="",
                dns_query_type=qtype, dns_engine=engine, dns_resolved_addrs=resolved,
                ip_address=addr, ip_address_origin=ORIGIN_DNS, ip_address_bogon=is_bogon(addr),
            )
            c.dns_lookup_successes.append(obs)
            c.known_ip_addresses.setdefault(addr, obs)


def _ingest_tcp(c: WebObservationsContainer, entries: Iterable[Any],
                is_bogon: Callable[[str], bool]) -> None:
    for ev in entries:
        if not isinstance(ev, Mapping) or not isinstance(ev.get("ip"), str):
            continue
        txid = _int_or_none(ev.get("transaction_id"))
        if txid is None:
            continue
        ip: str = ev["ip"]
        port = ev.get("port", 0)
        status = _mapping(ev.get("status"))
        failure = _failure(status.get("failure"))
        obs = WebObservation(
            type=TYPE_TCP, failure=failure, transaction_id=txid, tag_depth=tag_depth(ev),
            tag_fetch_body=tag_fetch_body(ev), ip_address=ip, ip_address_bogon=is_bogon(ip),
            endpoint_transaction_id=txid, endpoint_address=join_host_port(ip, port),
            tcp_connect_failure=failure,
        )
        dobs = c.known_ip_addresses.get(ip)
        if dobs is not None:
            obs.dns_transaction_id = dobs.dns_transaction_id
            obs.dns_domain = dobs.dns_domain
            obs.dns_lookup_failure = dobs.dns_lookup_failure
            obs.dns_query_type = dobs.dns_query_type
            obs.dns_engine = dobs.dns_engine
            obs.dns_resolved_addrs = dobs.dns_resolved_addrs
            obs.ip_address_origin = ORIGIN_DNS
        c.known_tcp_endpoints[txid] = obs


def _endpoint_of(c: WebObservationsContainer, ev: Mapping[str, Any]) -> WebObservation | None:
    """The endpoint observation sharing ``ev``'s transaction id (TCP, TLS and HTTP of one
    LTE flow share it)."""
    txid = _int_or_none(ev.get("transaction_id"))
    return None if txid is None else c.known_tcp_endpoints.get(txid)


def _ingest_tls(c: WebObservationsContainer, entries: Iterable[Any]) -> None:
    for ev in entries:
        if not isinstance(ev, Mapping):
            continue
        obs = _endpoint_of(c, ev)
        if obs is None:
            continue
        obs.type = TYPE_TLS
        obs.failure = _failure(ev.get("failure"))
        obs.tls_handshake_failure = obs.failure
        sni = ev.get("server_name")
        obs.tls_server_name = sni if isinstance(sni, str) else ""


def _ingest_http(c: WebObservationsContainer, entries: Iterable[Any]) -> None:
    for ev in entries:
        if not isinstance(ev, Mapping):
            continue
        obs = _endpoint_of(c, ev)
        if obs is None:
            continue
        obs.type = TYPE_HTTP
        obs.failure = _failure(ev.get("failure"))
        obs.http_failure = obs.failure
        request = _mapping(ev.get("request"))
        url = request.get("url")
        obs.http_request_url = url if isinstance(url, str) else ""
        if obs.failure:
            continue  # the response is authoritative only on success
        response = _mapping(ev.get("response"))
        code = _int_or_none(response.get("code")) or 0
        body = maybe_binary_bytes(response.get("body"))
        obs.http_response_status_code = code
        obs.http_response_body_length = len(body)
        obs.http_response_body_is_truncated = bool(response.get("body_is_truncated", False))
        obs.http_response_headers_keys = _header_keys(
            response.get("headers"), response.get("headers_list"))
        obs.http_response_title = page_title(body)
        obs.http_response_location = _header_value(response.get("headers"), "location")
        obs.http_response_is_final = _is_final_status(code)


def _ingest_control(c: WebObservationsContainer, input_domain: str,
                    resp: Mapping[str, Any]) -> None:
    dns = _mapping(resp.get("dns"))
    dns_failure = _failure(dns.get("failure"))
    th_addrs = tuple(a for a in dns.get("addrs") or [] if isinstance(a, str))

    # DNS lookups for the input domain get the TH's DNS result.
    for obs in (*c.dns_lookup_failures, *c.dns_lookup_successes):
        if obs.dns_domain != input_domain:
            continue
        obs.control_dns_domain = input_domain
        obs.control_dns_lookup_failure = dns_failure
        if not dns_failure:
            obs.control_dns_resolved_addrs = th_addrs

    # Endpoints whose IP only the TH knew are marked as such.
    th_addr_set = set(th_addrs)
    for obs in c.known_tcp_endpoints.values():
        if obs.ip_address_origin is None and obs.ip_address in th_addr_set:
            obs.ip_address_origin = ORIGIN_TH

    tcp = _mapping(resp.get("tcp_connect"))
    tls = _mapping(resp.get("tls_handshake"))
    for obs in c.known_tcp_endpoints.values():
        address = obs.endpoint_address or ""
        result = tcp.get(address)
        if isinstance(result, Mapping):
            obs.control_tcp_connect_failure = _failure(result.get("failure"))
        if obs.tls_server_name is None:
            continue
        tresult = tls.get(address)
        if isinstance(tresult, Mapping) and tresult.get("server_name") == obs.tls_server_name:
            obs.control_tls_handshake_failure = _failure(tresult.get("failure"))

    http = _mapping(resp.get("http_request"))
    http_failure = _failure(http.get("failure"))
    c.control_expectations = ControlExpectations(
        dns_addresses=th_addrs, final_response_failure=http_failure)
    headers = http.get("headers")
    for obs in c.all_observations():
        obs.control_http_failure = http_failure
        if http_failure:
            continue
        obs.control_http_response_status_code = _int_or_none(http.get("status_code")) or 0
        obs.control_http_response_body_length = _int_or_none(http.get("body_length")) or 0
        obs.control_http_response_headers_keys = frozenset(
            k for k in _mapping(headers) if isinstance(k, str))
        title = http.get("title")
        obs.control_http_response_title = title if isinstance(title, str) else ""


def build_container(test_keys: Mapping[str, Any], *, input_url: str,
                    is_bogon: Callable[[str], bool]) -> WebObservationsContainer:
    """Observations from ``queries``, ``tcp_connect``, ``tls_handshakes``, ``requests`` and,
    when both ``x_control_request`` and ``control`` are present, the TH response."""
    c = WebObservationsContainer()
    _ingest_dns(c, test_keys.get("queries") or [], is_bogon)
    _ingest_tcp(c, test_keys.get("tcp_connect") or [], is_bogon)
    _ingest_tls(c, test_keys.get("tls_handshakes") or [])
    _ingest_http(c, test_keys.get("requests") or [])
    request = test_keys.get("x_control_request")
    control = test_keys.get("control")
    if isinstance(request, Mapping) and isinstance(control, Mapping):
        th_url = request.get("http_request")
        domain = go_hostname(th_url if isinstance(th_url, str) and th_url else input_url)
        _ingest_control(c, domain, control)
    return c


def classic_filter(full: WebObservationsContainer) -> WebObservationsContainer:
    """Keep what v0.4 would have measured: getaddrinfo lookups, and ``fetch_body=true``
    endpoints whose IP came from getaddrinfo or has no known origin (IP-address URLs)."""
    out = WebObservationsContainer(control_expectations=full.control_expectations)
    out.dns_lookup_failures = [
        o for o in full.dns_lookup_failures if o.dns_engine in GETADDRINFO_ENGINES]
    for obs in full.dns_lookup_successes:
        if obs.dns_engine not in GETADDRINFO_ENGINES:
            continue
        out.dns_lookup_successes.append(obs)
        if obs.ip_address is not None:
            out.known_ip_addresses[obs.ip_address] = obs
    for txid, obs in full.known_tcp_endpoints.items():
        if not obs.tag_fetch_body:
            continue
        if obs.ip_address_origin is None or (
            obs.ip_address_origin == ORIGIN_DNS and obs.ip_address in out.known_ip_addresses
        ):
            out.known_tcp_endpoints[txid] = obs
    return out
