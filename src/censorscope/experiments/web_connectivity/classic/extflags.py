"""Extended flags of LTE (``analysisext.go``), computed on the FULL observation container:
``x_blocking_flags``, ``x_dns_flags`` and ``x_null_null_flags`` (bit meanings below)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from censorscope.experiments.web_connectivity.classic import httpdiff
from censorscope.experiments.web_connectivity.classic.analysis import WebAnalysis

BLOCKING_DNS: Final = 1
BLOCKING_TCP_IP: Final = 2
BLOCKING_TLS: Final = 4
BLOCKING_HTTP_FAILURE: Final = 8
BLOCKING_HTTP_DIFF: Final = 16
BLOCKING_SUCCESS: Final = 32

DNS_BOGON: Final = 1
DNS_UNEXPECTED_FAILURE: Final = 2
DNS_UNEXPECTED_ADDRS: Final = 4

NULL_NULL_EXPECTED_DNS_FAILURE: Final = 1
NULL_NULL_EXPECTED_TCP_FAILURE: Final = 2
NULL_NULL_EXPECTED_TLS_FAILURE: Final = 4
NULL_NULL_HTTPS_WITHOUT_CONTROL: Final = 8
NULL_NULL_TH_RESOLVED_NOTHING: Final = 16


@dataclass(frozen=True)
class ExtFlags:
    blocking: int
    dns: int
    null_null: int


def _final_response_diff(wa: WebAnalysis) -> bool:
    factor = wa.http_final_response_diff_body_proportion_factor
    headers = wa.http_final_response_diff_uncommon_headers_intersection
    words = wa.http_final_response_diff_title_different_long_words
    return httpdiff.http_diff_exists(
        wa.http_final_response_diff_status_code_match,
        None if factor is None else factor > httpdiff.BODY_PROPORTION_THRESHOLD,
        None if headers is None else len(headers) > 0,
        None if words is None else len(words) == 0,
    )


def ext_flags(wa: WebAnalysis) -> ExtFlags:
    """The three bitmasks from the full-container analysis."""
    blocking = dns = null_null = 0
    if wa.dns_lookup_success_with_bogon_addresses:
        dns |= DNS_BOGON
    if wa.dns_lookup_unexpected_failure:
        dns |= DNS_UNEXPECTED_FAILURE
    if wa.dns_lookup_success_with_invalid_addresses:
        dns |= DNS_UNEXPECTED_ADDRS
    if dns & (DNS_UNEXPECTED_FAILURE | DNS_UNEXPECTED_ADDRS):
        blocking |= BLOCKING_DNS
    if wa.tcp_connect_unexpected_failure:
        blocking |= BLOCKING_TCP_IP
    if wa.tls_handshake_unexpected_failure:
        blocking |= BLOCKING_TLS
    if wa.http_round_trip_unexpected_failure:
        blocking |= BLOCKING_HTTP_FAILURE

    # Failures while following redirects, which the TH cannot vouch for, count only when
    # there is no final response and the TH fetched the page fine.
    if not wa.has_final_response and wa.control_final_response_failure == "":
        if wa.dns_lookup_unexplained_failure:
            blocking |= BLOCKING_DNS
        if wa.tcp_connect_unexplained_failure:
            blocking |= BLOCKING_TCP_IP
        if wa.tls_handshake_unexplained_failure:
            blocking |= BLOCKING_TLS
        if wa.http_round_trip_unexplained_failure:
            blocking |= BLOCKING_HTTP_FAILURE

    if wa.http_final_response_success_tcp_without_control is not None:
        pass  # cleartext without control: nothing can be said
    elif wa.http_final_response_success_tls_without_control is not None:
        null_null |= NULL_NULL_HTTPS_WITHOUT_CONTROL
        blocking |= BLOCKING_SUCCESS
    elif wa.http_final_response_success_tls_with_control is not None:
        blocking |= BLOCKING_SUCCESS
    elif wa.http_final_response_success_tcp_with_control is not None:
        blocking |= BLOCKING_HTTP_DIFF if _final_response_diff(wa) else BLOCKING_SUCCESS

    if wa.dns_lookup_expected_failure:
        null_null |= NULL_NULL_EXPECTED_DNS_FAILURE
    if wa.tcp_connect_expected_failure:
        null_null |= NULL_NULL_EXPECTED_TCP_FAILURE
    if wa.tls_handshake_expected_failure:
        null_null |= NULL_NULL_EXPECTED_TLS_FAILURE
    if (wa.dns_lookup_success and wa.control_dns_addresses is not None
            and not wa.control_dns_addresses):
        null_null |= NULL_NULL_TH_RESOLVED_NOTHING
    return ExtFlags(blocking=blocking, dns=dns, null_null=null_null)
