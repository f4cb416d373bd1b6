"""Pure parts of the protocol: request validation, legacy failure mapping, response shape."""

from __future__ import annotations

import pytest

from censorscope.control.protocol import (
    EndpointResult,
    HTTPResult,
    RequestError,
    build_response,
    discovered_h3_endpoint,
    dns_map_failure,
    http_map_failure,
    parse_request,
    parse_url,
    split_endpoint,
    tcp_map_failure,
)
from censorscope.control.schema import response_problems


@pytest.mark.parametrize(
    ("probe", "legacy"),
    [
        (None, None),
        ("dns_nxdomain_error", "dns_name_error"),
        ("dns_no_answer", None),
        ("dns_non_recoverable_failure", "dns_server_failure"),
        ("dns_refused_error", "dns_server_failure"),
        ("dns_server_misbehaving", "dns_server_failure"),
        ("dns_temporary_failure", "dns_server_failure"),
        ("generic_timeout_error", "unknown_error"),
        ("unknown_failure: boom", "unknown_error"),
    ],
)
def test_dns_map_failure(probe: str | None, legacy: str | None) -> None:
    assert dns_map_failure(probe) == legacy


@pytest.mark.parametrize(
    ("probe", "legacy"),
    [
        (None, None),
        ("generic_timeout_error", "generic_timeout_error"),
        ("connection_refused", "connection_refused_error"),
        ("connection_reset", "connect_error"),
        ("host_unreachable", "connect_error"),
    ],
)
def test_tcp_map_failure(probe: str | None, legacy: str | None) -> None:
    assert tcp_map_failure(probe) == legacy


@pytest.mark.parametrize(
    ("probe", "operation", "legacy"),
    [
        (None, None, None),
        ("dns_nxdomain_error", "resolve", "dns_lookup_error"),
        ("dns_no_answer", "resolve", "dns_lookup_error"),
        ("dns_servfail_error", "resolve", "dns_lookup_error"),
        ("generic_timeout_error", "resolve", "dns_lookup_error"),
        ("dns_bogon_error", "resolve", "unknown_error"),
        ("generic_timeout_error", "http_round_trip", "generic_timeout_error"),
        ("connection_refused", "connect", "connection_refused_error"),
        ("connection_reset", "http_round_trip", "unknown_error"),
        ("ssl_invalid_hostname", "tls_handshake", "unknown_error"),
        ("eof_error", "http_round_trip", "unknown_error"),
    ],
)
def test_http_map_failure(probe: str | None, operation: str | None, legacy: str | None) -> None:
    assert http_map_failure(probe, operation) == legacy


def test_parse_request_honours_three_headers_and_dedups_ips() -> None:
    req = parse_request(
        b'{"http_request": "HTTPS://WWW.Example.COM/a?b=1", "http_request_headers": '
        b'{"user-agent": ["ua"], "ACCEPT": ["*/*"], "Cookie": ["secret"]}, '
        b'"tcp_connect": ["1.2.3.4:443", "1.2.3.4:80", "[2001:DB8::1]:443"], '
        b'"x_quic_enabled": true}'
    )
    assert (req.scheme, req.host, req.port) == ("https", "www.example.com", None)
    assert req.url == "https://www.example.com/a?b=1"
    assert req.headers == [("User-Agent", "ua"), ("Accept", "*/*")]
    assert req.probe_ips == ["1.2.3.4", "2001:db8::1"]
    assert req.quic is True
    assert req.ports == [443] and req.wants_tls(443)


def test_ports_per_url() -> None:
    assert parse_request(b'{"http_request": "http://a.test/"}').ports == [80, 443]
    explicit = parse_request(b'{"http_request": "https://a.test:8443/"}')
    assert explicit.ports == [8443] and explicit.wants_tls(8443)
    assert not parse_request(b'{"http_request": "http://a.test:8080/"}').wants_tls(8080)


def test_parse_url_idna_and_ip_literals() -> None:
    assert parse_url("http://Яндекс.рф/")[2] == "xn--d1acpjx3f.xn--p1ai"
    assert parse_url("http://[2001:db8::1]:8080/x")[0] == "http://[2001:db8::1]:8080/x"
    assert parse_url("http://[::127.0.0.1]/x")[0] == "http://[::7f00:1]/x"  # brackets kept
    for bad in ("http://a b/", "http://exa mple.com/", "javascript:alert(1)", "http://-/",
                "http://a..b/", "", 42, "http://[::1/", "http://::1]/",
                "http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://127.1/"):
        with pytest.raises(RequestError):
            parse_url(bad)


def test_split_endpoint() -> None:
    assert split_endpoint("[::1]:443") == ("::1", 443)
    assert split_endpoint("1.2.3.4:80") == ("1.2.3.4", 80)
    assert split_endpoint("[2001:DB8::0001]:443") == ("2001:db8::1", 443)  # canonical form
    for bad in ("1.2.3.4", "1.2.3.4:0", "::1:443", "host:80", "[::1]", "1.2.3.4:70000",
                "[1.2.3.4:80", "1.2.3.4:+80", "[host]:80"):
        with pytest.raises(RequestError):
            split_endpoint(bad)


def test_helpers() -> None:
    assert discovered_h3_endpoint('h3=":443"; ma=2592000,h3-29=":443"', "dns.google") == \
        "dns.google:443"
    assert discovered_h3_endpoint('h2=":443", h3="alt.test:8443"', "a.test") == "alt.test:8443"
    assert discovered_h3_endpoint(None, "a.test") == ""
    assert discovered_h3_endpoint('h3-29=":443"', "a.test") == ""
    assert discovered_h3_endpoint('h3=":443"', "2001:db8::1") == "[2001:db8::1]:443"
    assert discovered_h3_endpoint('h3="[2001:db8::2]:8443"', "a.test") == "[2001:db8::2]:8443"
    assert discovered_h3_endpoint('h3="::1:443", h3=":8443"', "a.test") == "a.test:8443"


def test_build_response_omits_empty_maps() -> None:
    response = build_response(
        endpoints=[EndpointResult("1.2.3.4", 80, "connection_refused")],
        http=HTTPResult(failure="connection_refused_error"),
        dns_failure="dns_no_answer",
        dns_addrs=[],
        ip_info={},
    )
    assert list(response) == ["tcp_connect", "quic_handshake", "http_request",
                              "http3_request", "dns"]
    assert response["tcp_connect"] == {
        "1.2.3.4:80": {"status": False, "failure": "connection_refused_error"}
    }
    assert response["dns"] == {"failure": None, "addrs": []}
    assert response_problems(response) == []


def test_build_response_tls_only_after_tcp_success() -> None:
    response = build_response(
        endpoints=[
            EndpointResult("::1", 443, None, "a.test", None),
            EndpointResult("1.2.3.4", 443, "generic_timeout_error", "a.test"),
            EndpointResult("1.2.3.4", 80, None),
        ],
        http=HTTPResult(failure=None, status_code=200, body_length=0),
        dns_failure=None,
        dns_addrs=["1.2.3.4", "::1"],
        ip_info={"1.2.3.4": (1, 3), "::1": (0, 10)},
    )
    assert list(response["tcp_connect"]) == ["1.2.3.4:443", "1.2.3.4:80", "[::1]:443"]
    assert response["tls_handshake"] == {
        "[::1]:443": {"server_name": "a.test", "status": True, "failure": None}
    }
    assert list(response)[1] == "tls_handshake"
    assert response_problems(response) == []


def test_schema_rejects_wrong_shapes() -> None:
    good = build_response(endpoints=[], http=HTTPResult(failure="unknown_error"),
                          dns_failure=None, dns_addrs=[], ip_info={"1.1.1.1": (13335, 2)})
    assert response_problems(good) == []
    bad = dict(good, http_request=dict(good["http_request"], status_code="200"))
    assert response_problems(bad) == ["$.http_request.status_code: expected int, got str"]
    bad = dict(good, dns={"failure": "dns_nxdomain_error", "addrs": []})
    assert "not a legacy TH failure string" in response_problems(bad)[0]
    bad = dict(good, ip_info={"1.1.1.1": {"asn": 1, "flags": 99}})
    assert "outside the 4-bit mask" in response_problems(bad)[0]
    assert response_problems({k: v for k, v in good.items() if k != "dns"}) == [
        "$: missing key 'dns'"
    ]
