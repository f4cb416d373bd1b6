"""WebAnalysis: sets of expected / unexpected / unexplained outcomes per layer, final-response
metrics and the linear ordering (probe-cli ``internal/minipipeline/analysis.go``).

"Expected" = probe and TH agree; "unexpected" = the probe failed where the TH succeeded;
"unexplained" = the probe failed where the TH has no data (after a redirect).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from censorscope.experiments.web_connectivity.classic import httpdiff
from censorscope.experiments.web_connectivity.classic.observations import (
    WebObservation,
    WebObservationsContainer,
)

DNS_NO_ANSWER = "dns_no_answer"
_IPV6_UNREACHABLE = frozenset({"network_unreachable", "host_unreachable"})
_MISSING_FAILURE = "unknown_failure"


@dataclass
class WebAnalysis:
    """Analysis of one :class:`WebObservationsContainer`. Sets hold transaction ids."""

    dns_experiment_failure: str | None = None
    dns_lookup_success: set[int] = field(default_factory=set)
    dns_lookup_success_with_bogon_addresses: set[int] = field(default_factory=set)
    dns_lookup_success_with_invalid_addresses: set[int] = field(default_factory=set)
    dns_lookup_success_with_valid_address: set[int] = field(default_factory=set)
    dns_lookup_success_with_invalid_addresses_classic: set[int] = field(default_factory=set)
    dns_lookup_success_with_valid_address_classic: set[int] = field(default_factory=set)
    dns_lookup_unexpected_failure: set[int] = field(default_factory=set)
    dns_lookup_unexplained_failure: set[int] = field(default_factory=set)
    dns_lookup_expected_failure: set[int] = field(default_factory=set)
    dns_lookup_expected_success: set[int] = field(default_factory=set)
    tcp_connect_expected_failure: set[int] = field(default_factory=set)
    tcp_connect_unexpected_failure: set[int] = field(default_factory=set)
    tcp_connect_unexplained_failure: set[int] = field(default_factory=set)
    tls_handshake_expected_failure: set[int] = field(default_factory=set)
    tls_handshake_unexpected_failure: set[int] = field(default_factory=set)
    tls_handshake_unexplained_failure: set[int] = field(default_factory=set)
    http_round_trip_unexpected_failure: set[int] = field(default_factory=set)
    http_round_trip_unexplained_failure: set[int] = field(default_factory=set)
    http_final_response_success_tls_without_control: int | None = None
    http_final_response_success_tls_with_control: int | None = None
    http_final_response_success_tcp_without_control: int | None = None
    http_final_response_success_tcp_with_control: int | None = None
    http_final_response_diff_body_proportion_factor: float | None = None
    http_final_response_diff_status_code_match: bool | None = None
    http_final_response_diff_title_different_long_words: frozenset[str] | None = None
    http_final_response_diff_uncommon_headers_intersection: frozenset[str] | None = None
    control_dns_addresses: tuple[str, ...] | None = None
    control_final_response_failure: str | None = None
    linear: list[WebObservation] = field(default_factory=list)

    @property
    def has_final_response(self) -> bool:
        return any(v is not None for v in (
            self.http_final_response_success_tls_without_control,
            self.http_final_response_success_tls_with_control,
            self.http_final_response_success_tcp_without_control,
            self.http_final_response_success_tcp_with_control,
        ))


def _is_ipv6(ip: str | None) -> bool:
    try:
        return ip is not None and ipaddress.ip_address(ip).version == 6
    except ValueError:
        return False


def _asns(addrs: Iterable[str], asn_of: Callable[[str], int]) -> set[int]:
    return {asn for asn in (asn_of(a) for a in addrs) if asn != 0}


def _dns_success_metrics(wa: WebAnalysis, c: WebObservationsContainer,
                         asn_of: Callable[[str], int]) -> None:
    seen: set[int] = set()
    for obs in c.dns_lookup_successes:
        if obs.tag_depth != 0 or obs.dns_transaction_id is None:
            continue
        txid = obs.dns_transaction_id
        if obs.ip_address_bogon:
            wa.dns_lookup_success_with_bogon_addresses.add(txid)
        if txid in seen:
            continue
        seen.add(txid)
        wa.dns_lookup_success.add(txid)
        expected = c.control_expectations
        if expected is None or not expected.dns_addresses:
            continue
        measured = obs.dns_resolved_addrs or ()
        if (set(measured) & set(expected.dns_addresses)
                or _asns(measured, asn_of) & _asns(expected.dns_addresses, asn_of)):
            wa.dns_lookup_success_with_valid_address.add(txid)
        else:
            wa.dns_lookup_success_with_invalid_addresses.add(txid)
    wa.dns_lookup_success_with_invalid_addresses_classic = set(
        wa.dns_lookup_success_with_invalid_addresses)
    wa.dns_lookup_success_with_valid_address_classic = set(
        wa.dns_lookup_success_with_valid_address)
    # A successful TLS handshake proves that the IP serves the domain: rescue that lookup.
    for ep in c.known_tcp_endpoints.values():
        if ep.tls_handshake_failure != "" or ep.dns_transaction_id is None:
            continue
        # (as in Go, the lookup joins the valid set even when it was never classified)
        wa.dns_lookup_success_with_invalid_addresses.discard(ep.dns_transaction_id)
        wa.dns_lookup_success_with_valid_address.add(ep.dns_transaction_id)


def _dns_failure_metrics(wa: WebAnalysis, c: WebObservationsContainer) -> None:
    for obs in c.dns_lookup_failures:
        if obs.dns_engine == "doh":
            continue  # a DoH failure says nothing about the URL
        if obs.dns_query_type == "AAAA" and obs.failure == DNS_NO_ANSWER:
            continue  # many domains have no IPv6
        txid = obs.transaction_id if obs.transaction_id is not None else 0
        if obs.tag_depth != 0:
            wa.dns_lookup_unexplained_failure.add(txid)
            continue
        if wa.dns_experiment_failure is None:
            wa.dns_experiment_failure = obs.failure
        if obs.control_dns_lookup_failure is None:
            continue
        probe, control = obs.failure, obs.control_dns_lookup_failure
        if probe and control:
            wa.dns_lookup_expected_failure.add(txid)
        elif probe and not control:
            if probe == DNS_NO_ANSWER and not obs.control_dns_resolved_addrs:
                wa.dns_lookup_expected_failure.add(txid)
            else:
                wa.dns_lookup_unexpected_failure.add(txid)
        elif not probe and not control:
            wa.dns_lookup_expected_success.add(txid)


def _layer_metrics(obs: WebObservation, failure: str | None, control: str | None,
                   expected: set[int], unexpected: set[int], unexplained: set[int]) -> None:
    """Shared TCP/TLS classification for one endpoint."""
    if failure is None or obs.endpoint_transaction_id is None:
        return
    txid = obs.endpoint_transaction_id
    ipv6_noise = _is_ipv6(obs.ip_address) and failure in _IPV6_UNREACHABLE
    if obs.tag_depth != 0:
        if failure and not ipv6_noise:
            unexplained.add(txid)
        return
    if control is None:
        return
    if failure and control:
        expected.add(txid)
    elif failure and not control and not ipv6_noise:
        unexpected.add(txid)


def _endpoint_metrics(wa: WebAnalysis, c: WebObservationsContainer) -> None:
    for obs in c.known_tcp_endpoints.values():
        _layer_metrics(obs, obs.tcp_connect_failure, obs.control_tcp_connect_failure,
                       wa.tcp_connect_expected_failure, wa.tcp_connect_unexpected_failure,
                       wa.tcp_connect_unexplained_failure)
        _layer_metrics(obs, obs.tls_handshake_failure, obs.control_tls_handshake_failure,
                       wa.tls_handshake_expected_failure, wa.tls_handshake_unexpected_failure,
                       wa.tls_handshake_unexplained_failure)
        if obs.http_failure is None or obs.endpoint_transaction_id is None:
            continue
        if obs.control_http_failure is None:
            if obs.http_failure:
                wa.http_round_trip_unexplained_failure.add(obs.endpoint_transaction_id)
        elif obs.http_failure and not obs.control_http_failure:
            wa.http_round_trip_unexpected_failure.add(obs.endpoint_transaction_id)


def _final_response_metrics(wa: WebAnalysis, c: WebObservationsContainer) -> None:
    finals = [o for o in c.known_tcp_endpoints.values() if o.http_response_is_final]
    if not finals:
        return
    # LTE fetches one body per redirect depth, so there is one final response; pick the
    # deepest (then lowest transaction id) deterministically should there be more.
    obs = min(finals, key=lambda o: (-(o.tag_depth or 0), o.endpoint_transaction_id or 0))
    txid = obs.endpoint_transaction_id
    over_tls = obs.tls_handshake_failure == ""
    if obs.control_http_failure is None:
        if over_tls:
            wa.http_final_response_success_tls_without_control = txid
        else:
            wa.http_final_response_success_tcp_without_control = txid
        return
    if over_tls:
        wa.http_final_response_success_tls_with_control = txid
    else:
        wa.http_final_response_success_tcp_with_control = txid
    wa.http_final_response_diff_body_proportion_factor = httpdiff.body_proportion_factor(
        obs.http_response_body_length, obs.http_response_body_is_truncated,
        obs.control_http_response_body_length)
    wa.http_final_response_diff_status_code_match = httpdiff.status_code_match(
        obs.http_response_status_code, obs.control_http_response_status_code)
    wa.http_final_response_diff_uncommon_headers_intersection = (
        httpdiff.uncommon_headers_intersection(
            obs.http_response_headers_keys, obs.control_http_response_headers_keys,
            obs.http_response_status_code, obs.control_http_response_status_code))
    wa.http_final_response_diff_title_different_long_words = (
        httpdiff.title_different_long_words(
            obs.http_response_title, obs.control_http_response_title,
            obs.http_response_status_code, obs.control_http_response_status_code))


def linear_sort_key(obs: WebObservation) -> tuple[int, int, str, int]:
    """Depth desc, type desc (HTTP, TLS, TCP, DNS), failure asc ("" first), txid desc."""
    return (
        -(obs.tag_depth if obs.tag_depth is not None else -1),
        -obs.type,
        obs.failure if obs.failure is not None else _MISSING_FAILURE,
        -(obs.transaction_id or 0),
    )


def analyze(c: WebObservationsContainer, *, asn_of: Callable[[str], int],
            linear: bool = False) -> WebAnalysis:
    """Compute the :class:`WebAnalysis` of a container (optionally with the linear list)."""
    wa = WebAnalysis()
    if c.control_expectations is not None:
        wa.control_dns_addresses = c.control_expectations.dns_addresses
        wa.control_final_response_failure = c.control_expectations.final_response_failure
    _dns_success_metrics(wa, c, asn_of)
    _dns_failure_metrics(wa, c)
    _endpoint_metrics(wa, c)
    _final_response_metrics(wa, c)
    if linear:
        wa.linear = sorted(c.all_observations(), key=linear_sort_key)
    return wa
