"""``compute_classic_keys``: OONI Web Connectivity 0.5.28 verdict keys from recorded facts.

Pipeline (``analysisclassic.go``): observations → extended flags on the full container →
classic filter (getaddrinfo + fetch_body=true) → linear analysis → dns_consistency,
dns_experiment_failure, HTTP-diff keys, blocking / accessible.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from censorscope.experiments.web_connectivity.classic import httpdiff
from censorscope.experiments.web_connectivity.classic.analysis import analyze
from censorscope.experiments.web_connectivity.classic.blocking import (
    classic_blocking,
    dns_consistency,
)
from censorscope.experiments.web_connectivity.classic.extflags import ext_flags
from censorscope.experiments.web_connectivity.classic.observations import (
    build_container,
    classic_filter,
)


def compute_classic_keys(test_keys: Mapping[str, Any], *, input_url: str,
                         asn_of: Callable[[str], int],
                         is_bogon: Callable[[str], bool]) -> dict[str, Any]:
    """The 13 verdict keys OONI's LTE probe writes, recomputed from ``test_keys``.

    ``test_keys`` needs ``queries``, ``tcp_connect``, ``tls_handshakes``, ``requests`` (most
    recent first) and, for a control, ``x_control_request`` and ``control``. ``asn_of(ip)``
    returns 0 when unknown; ``is_bogon(ip)`` decides which answers count as bogons.
    """
    full = build_container(test_keys, input_url=input_url, is_bogon=is_bogon)
    flags = ext_flags(analyze(full, asn_of=asn_of))
    woa = analyze(classic_filter(full), asn_of=asn_of, linear=True)

    consistency = dns_consistency(woa)
    factor = woa.http_final_response_diff_body_proportion_factor
    headers = woa.http_final_response_diff_uncommon_headers_intersection
    words = woa.http_final_response_diff_title_different_long_words
    body_length_match = None if factor is None else factor > httpdiff.BODY_PROPORTION_THRESHOLD
    headers_match = None if headers is None else len(headers) > 0
    status_code_match = woa.http_final_response_diff_status_code_match
    title_match = None if words is None else len(words) == 0
    diff = httpdiff.http_diff_exists(status_code_match, body_length_match, headers_match,
                                     title_match)
    verdict = classic_blocking(woa, consistency, diff)
    return {
        "dns_experiment_failure": woa.dns_experiment_failure or None,
        "dns_consistency": consistency,
        "http_experiment_failure": verdict.http_experiment_failure,
        "body_length_match": body_length_match,
        "body_proportion": factor if factor is not None else 0,
        "status_code_match": status_code_match,
        "headers_match": headers_match,
        "title_match": title_match,
        "x_blocking_flags": flags.blocking,
        "x_dns_flags": flags.dns,
        "x_null_null_flags": flags.null_null,
        "blocking": verdict.blocking,
        "accessible": verdict.accessible,
    }
