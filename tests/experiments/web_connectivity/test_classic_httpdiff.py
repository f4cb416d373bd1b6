"""HTTP-diff pieces of the classic analysis: long words, common headers, body proportion
threshold, status-code rules, and how they become the ``*_match`` keys (titles:
tests/model/test_http.py)."""

from __future__ import annotations

from typing import Any

import pytest

from censorscope.experiments.web_connectivity.classic import compute_classic_keys
from censorscope.experiments.web_connectivity.classic import httpdiff as hd
from censorscope.model.ipinfo import is_bogon


def test_long_words_are_counted_in_utf8_bytes() -> None:
    # "café" is 4 characters but 5 bytes: long. "abcd" is 4 bytes: ignored.
    assert hd.title_different_long_words("café abcd", "", 200, 200) == frozenset({"café"})
    assert hd.title_different_long_words("abcd", "wxyz", 200, 200) == frozenset()
    # "Мир" is 3 characters, 6 bytes: long in Go, short in a character count.
    assert hd.title_different_long_words("Мир", "", 200, 200) == frozenset({"мир"})


def test_long_words_are_lower_cased_and_symmetric() -> None:
    same = hd.title_different_long_words("Example DOMAIN", "example domain", 200, 200)
    assert same == frozenset()
    assert hd.title_different_long_words("Access Denied", "Example Domain", 200, 200) == (
        frozenset({"access", "denied", "example", "domain"}))
    # one title a subset of the other still differs (the Go code, not the spec prose)
    assert hd.title_different_long_words("Example Domain", "Example Domain Pages", 200,
                                         200) == frozenset({"pages"})


def test_title_and_headers_need_positive_status_codes() -> None:
    assert hd.title_different_long_words("Hello", "Hello", 200, -1) is None
    assert hd.title_different_long_words("Hello", "Hello", 0, 200) is None
    assert hd.uncommon_headers_intersection(["X-A"], ["X-A"], 200, -1) is None


def test_exactly_25_common_headers() -> None:
    assert len(hd.COMMON_HTTP_HEADERS) == 25
    assert {"date", "content-type", "server", "cf-ray", "x-varnish", "link", "p3p"} <= (
        hd.COMMON_HTTP_HEADERS)
    assert "content-length" not in hd.COMMON_HTTP_HEADERS


def test_uncommon_headers_intersection_is_case_insensitive_and_drops_common() -> None:
    probe = ["Date", "Server", "X-Cache", "Content-Length"]
    control = ["date", "SERVER", "x-cache", "Alt-Svc"]
    assert hd.uncommon_headers_intersection(probe, control, 200, 200) == frozenset({"x-cache"})
    assert hd.uncommon_headers_intersection(["Date", "Server"], ["Date", "Server"], 200,
                                            200) == frozenset()


def test_body_proportion() -> None:
    assert hd.body_proportion_factor(100, False, 50) == 0.5
    assert hd.body_proportion_factor(50, False, 100) == 0.5
    assert hd.body_proportion_factor(100, True, 100) is None  # truncated probe body
    assert hd.body_proportion_factor(100, None, 100) is None  # unknown truncation
    assert hd.body_proportion_factor(0, False, 100) is None
    assert hd.body_proportion_factor(100, False, -1) is None  # TH failed


@pytest.mark.parametrize("probe,control,expected", [
    (200, 200, True), (404, 404, True),
    (503, 200, False),   # TH got 2xx, probe did not: mismatch
    (200, 404, None),    # TH itself got an error page: no verdict
    (200, 301, None), (0, 200, None), (200, -1, None),
])
def test_status_code_match(probe: int, control: int, expected: bool | None) -> None:
    assert hd.status_code_match(probe, control) is expected


def test_http_diff_exists_rule() -> None:
    assert hd.http_diff_exists(True, True, None, None) is False
    assert hd.http_diff_exists(True, False, True, False) is False
    assert hd.http_diff_exists(True, None, None, True) is False
    assert hd.http_diff_exists(True, False, False, False) is True
    assert hd.http_diff_exists(None, True, True, True) is True
    assert hd.http_diff_exists(False, True, True, True) is True


# --- through compute_classic_keys: the 0.7 threshold on a real-shaped measurement ------------

IP = "93.184.216.34"


def _measurement(probe_len: int, th_len: int, probe_title: str = "Example Domain",
                 th_title: str = "Example Domain") -> dict[str, Any]:
    tags = ["classic", "tcptls_experiment", "depth=0", "fetch_body=true"]
    body = f"<title>{probe_title}</title>"
    body += "x" * (probe_len - len(body))
    return {
        "queries": [{"engine": "getaddrinfo", "query_type": "ANY", "hostname": "www.example.com",
                     "failure": None, "transaction_id": 10001, "tags": ["classic", "depth=0"],
                     "answers": [{"answer_type": "A", "ipv4": IP}]}],
        "tcp_connect": [{"ip": IP, "port": 80, "status": {"failure": None, "success": True},
                         "tags": tags, "transaction_id": 40001}],
        "tls_handshakes": [],
        "requests": [{"failure": None, "transaction_id": 40001, "tags": tags,
                      "request": {"url": "http://www.example.com/"},
                      "response": {"code": 200, "body": body, "body_is_truncated": False,
                                   "headers": {"Date": "x"}}}],
        "x_control_request": {"http_request": "http://www.example.com/"},
        "control": {"dns": {"failure": None, "addrs": [IP]},
                    "tcp_connect": {f"{IP}:80": {"status": True, "failure": None}},
                    "http_request": {"failure": None, "status_code": 200, "body_length": th_len,
                                     "title": th_title, "headers": {"Date": "y"}}},
    }


def _keys(m: dict[str, Any]) -> dict[str, Any]:
    return compute_classic_keys(m, input_url="http://www.example.com/",
                                asn_of=lambda ip: 15133, is_bogon=is_bogon)


def test_body_proportion_threshold_is_strictly_above_0_7() -> None:
    at = _keys(_measurement(700, 1000, "Blocked Page", "Example Domain"))
    assert at["body_proportion"] == pytest.approx(0.7)
    assert at["body_length_match"] is False
    assert at["blocking"] == "http-diff"  # status ok, but body/headers/title all differ
    above = _keys(_measurement(701, 1000, "Blocked Page", "Example Domain"))
    assert above["body_length_match"] is True
    assert above["blocking"] is False and above["accessible"] is True
    assert above["x_blocking_flags"] == 32


def test_title_match_alone_avoids_the_diff() -> None:
    got = _keys(_measurement(100, 1000))
    assert got["body_length_match"] is False and got["headers_match"] is False
    assert got["title_match"] is True and got["status_code_match"] is True
    assert got["blocking"] is False
