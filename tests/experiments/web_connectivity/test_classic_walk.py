"""The linear walk of the classic analysis: ordering of observations, first-match-wins rules,
the "inconsistent DNS wins" override, and the TLS rescue of DNS answers in the extended flags."""

from __future__ import annotations

from typing import Any

from censorscope.experiments.web_connectivity.classic import compute_classic_keys
from censorscope.experiments.web_connectivity.classic.analysis import (
    WebAnalysis,
    linear_sort_key,
)
from censorscope.experiments.web_connectivity.classic.blocking import classic_blocking
from censorscope.experiments.web_connectivity.classic.observations import (
    TYPE_DNS,
    TYPE_HTTP,
    TYPE_TCP,
    TYPE_TLS,
    WebObservation,
)
from censorscope.model.ipinfo import is_bogon


def obs(type_: int, failure: str, txid: int, depth: int = 0, **kw: Any) -> WebObservation:
    base: dict[str, Any] = {"control_http_failure": ""}
    base.update(kw)
    return WebObservation(type=type_, failure=failure, transaction_id=txid, tag_depth=depth,
                          endpoint_transaction_id=txid, **base)


def walk(*entries: WebObservation, consistency: str | None = "consistent",
         diff: bool = False) -> tuple[Any, Any, Any]:
    wa = WebAnalysis(linear=sorted(entries, key=linear_sort_key))
    v = classic_blocking(wa, consistency, diff)
    return v.blocking, v.accessible, v.http_experiment_failure


def test_linear_order_depth_type_failure_txid() -> None:
    entries = [
        obs(TYPE_DNS, "", 10001),
        obs(TYPE_TCP, "generic_timeout_error", 40002),
        obs(TYPE_TCP, "connection_refused", 40001),
        obs(TYPE_TLS, "", 50001),
        obs(TYPE_TLS, "", 50003),
        obs(TYPE_HTTP, "", 40003),
        obs(TYPE_DNS, "dns_nxdomain_error", 10002, depth=1),
    ]
    ordered = [(o.tag_depth, o.type, o.failure, o.transaction_id)
               for o in sorted(entries, key=linear_sort_key)]
    assert ordered == [
        (1, TYPE_DNS, "dns_nxdomain_error", 10002),   # deepest redirect first
        (0, TYPE_HTTP, "", 40003),                    # then HTTP > TLS > TCP > DNS
        (0, TYPE_TLS, "", 50003),                     # same failure: higher txid first
        (0, TYPE_TLS, "", 50001),
        (0, TYPE_TCP, "connection_refused", 40001),   # failures ascending, "" first
        (0, TYPE_TCP, "generic_timeout_error", 40002),
        (0, TYPE_DNS, "", 10001),
    ]


def test_deeper_failure_decides_over_earlier_depth() -> None:
    got = walk(obs(TYPE_HTTP, "", 40001, http_response_is_final=False),
               obs(TYPE_DNS, "dns_nxdomain_error", 10002, depth=1))
    assert got == ("dns", False, "dns_nxdomain_error")  # no TH DNS data after a redirect


def test_successes_that_match_no_rule_are_skipped() -> None:
    # a TLS-only success (no GET: fetch permission denied) sorts before the failure
    got = walk(obs(TYPE_TLS, "", 50002, tls_handshake_failure=""),
               obs(TYPE_TLS, "connection_reset", 50001, tls_handshake_failure="connection_reset",
                   control_tls_handshake_failure=""))
    assert got == ("http-failure", False, "connection_reset")


def test_lowest_failure_string_wins_among_equals() -> None:
    got = walk(obs(TYPE_TCP, "generic_timeout_error", 40002, control_tcp_connect_failure=""),
               obs(TYPE_TCP, "connection_refused", 40001, control_tcp_connect_failure=""))
    assert got == ("tcp_ip", False, "connection_refused")


def test_http_failure_beats_tcp_failure_at_same_depth() -> None:
    got = walk(obs(TYPE_TCP, "generic_timeout_error", 40002, control_tcp_connect_failure=""),
               obs(TYPE_HTTP, "eof_error", 40001))
    assert got == ("http-failure", False, "eof_error")


def test_final_https_response_is_accessible_even_with_inconsistent_dns() -> None:
    final = obs(TYPE_HTTP, "", 50001, http_response_is_final=True, tls_handshake_failure="")
    assert walk(final, consistency="inconsistent") == (False, True, None)


def test_inconsistent_dns_turns_string_verdicts_into_dns() -> None:
    tcp = obs(TYPE_TCP, "connection_refused", 40001, control_tcp_connect_failure="")
    assert walk(tcp) == ("tcp_ip", False, "connection_refused")
    assert walk(tcp, consistency="inconsistent") == ("dns", False, "connection_refused")
    both_down = obs(TYPE_TCP, "connection_refused", 40001,
                    control_tcp_connect_failure="connection_refused_error")
    assert walk(both_down) == (False, False, "connection_refused")
    assert walk(both_down, consistency="inconsistent") == ("dns", False, "connection_refused")


def test_final_cleartext_response() -> None:
    final = obs(TYPE_HTTP, "", 40001, http_response_is_final=True)
    assert walk(final, diff=False) == (False, True, None)
    assert walk(final, diff=True) == ("http-diff", False, None)
    no_control = obs(TYPE_HTTP, "", 40001, http_response_is_final=True,
                     control_http_failure=None)
    assert walk(no_control, diff=True) == (None, None, None)


def test_missing_endpoint_control_after_redirect() -> None:
    tls = obs(TYPE_TLS, "connection_reset", 50001, depth=1)
    assert walk(tls) == ("http-failure", False, "connection_reset")
    assert walk(obs(TYPE_TLS, "connection_reset", 50001, depth=1, control_http_failure=None)
                ) == (None, None, "connection_reset")


def test_dns_failure_without_any_control_is_false_true_as_coded() -> None:
    got = walk(obs(TYPE_DNS, "dns_nxdomain_error", 10001, control_http_failure=None))
    assert got == (False, True, "dns_nxdomain_error")


def test_dns_no_answer_with_th_no_addresses_is_website_down_without_failure() -> None:
    got = walk(obs(TYPE_DNS, "dns_no_answer", 10001, control_dns_lookup_failure="",
                   control_dns_resolved_addrs=()))
    assert got == (False, False, None)


def test_loopback_answers() -> None:
    probe_lo: dict[str, Any] = {"control_dns_lookup_failure": "",
                                "dns_resolved_addrs": ("127.0.0.1",)}
    assert walk(obs(TYPE_DNS, "", 10001, control_dns_resolved_addrs=("93.184.216.34",),
                    **probe_lo)) == ("dns", False, None)
    assert walk(obs(TYPE_DNS, "", 10001, control_dns_resolved_addrs=("127.0.0.1",),
                    **probe_lo)) == (False, False, None)


def test_nothing_matches_gives_null_null() -> None:
    assert walk(obs(TYPE_DNS, "", 10001, dns_resolved_addrs=("93.184.216.34",))) == (
        None, None, None)


# --- the TLS rescue (full container only) -----------------------------------------------------


def _cdn_measurement(tls_failure: str | None) -> dict[str, Any]:
    """The probe's resolver returns a CDN cache IP in another AS than the TH's answer
    (the TikTok/Akamai false positive of the brief); TLS to it may or may not succeed."""
    tags = ["classic", "tcptls_experiment", "depth=0", "fetch_body=true"]
    requests = [] if tls_failure else [{
        "failure": None, "transaction_id": 50001, "tags": tags,
        "request": {"url": "https://www.tiktok.com/"},
        "response": {"code": 200, "body": "<title>TikTok</title>", "headers": {}}}]
    return {
        "queries": [{"engine": "getaddrinfo", "query_type": "ANY", "hostname": "www.tiktok.com",
                     "failure": None, "transaction_id": 10001, "tags": ["classic", "depth=0"],
                     "answers": [{"answer_type": "A", "ipv4": "23.45.67.89"}]}],
        "tcp_connect": [{"ip": "23.45.67.89", "port": 443, "transaction_id": 50001,
                         "status": {"failure": None, "success": True}, "tags": tags}],
        "tls_handshakes": [{"address": "23.45.67.89:443", "server_name": "www.tiktok.com",
                            "failure": tls_failure, "transaction_id": 50001, "tags": tags}],
        "requests": requests,
        "x_control_request": {"http_request": "https://www.tiktok.com/"},
        "control": {"dns": {"failure": None, "addrs": ["104.18.1.1"]},
                    "tcp_connect": {"23.45.67.89:443": {"status": True, "failure": None}},
                    "tls_handshake": {"23.45.67.89:443": {"server_name": "www.tiktok.com",
                                                          "status": True, "failure": None}},
                    "http_request": {"failure": None, "status_code": 200, "body_length": 21,
                                     "title": "TikTok", "headers": {}}},
    }


def _asn(ip: str) -> int:
    return {"23.45.67.89": 20940, "104.18.1.1": 13335}.get(ip, 0)


def test_tls_success_validates_dns_answer_in_extended_flags_only() -> None:
    got = compute_classic_keys(_cdn_measurement(None), input_url="https://www.tiktok.com/",
                               asn_of=_asn, is_bogon=is_bogon)
    assert got["x_dns_flags"] == 0 and got["x_blocking_flags"] == 32
    assert got["dns_consistency"] == "inconsistent"  # classic keeps v0.4's view
    assert (got["blocking"], got["accessible"]) == (False, True)


def test_tls_failure_leaves_dns_answer_invalid() -> None:
    got = compute_classic_keys(_cdn_measurement("connection_reset"),
                               input_url="https://www.tiktok.com/", asn_of=_asn,
                               is_bogon=is_bogon)
    assert got["x_dns_flags"] == 4 and got["x_blocking_flags"] == 1 | 4
    assert (got["blocking"], got["accessible"]) == ("dns", False)
    assert got["http_experiment_failure"] == "connection_reset"


def test_th_domain_uses_go_hostname_semantics() -> None:
    from censorscope.experiments.web_connectivity.classic.urls import go_hostname

    assert go_hostname("http://www.example.com:444/x?y") == "www.example.com"
    assert go_hostname("https://[2001:db8::1]:443/") == "2001:db8::1"
    assert go_hostname("https://[2001:db8::1]/") == "2001:db8::1"
    assert go_hostname("http://Яндекс.рф/") == "Яндекс.рф"  # no lower-casing, no IDNA
    assert go_hostname("http://user@Host.example") == "Host.example"
