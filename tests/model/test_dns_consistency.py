"""The DNS consistency classes (``censorscope.model.dns_consistency.classify``), case by case.

The same function classifies each resolver in the probe's test keys and in the analysis, so
these cases pin the definition: a CDN answer with a valid certificate is not a lie, a forged
reply racing the real one is injection, an NXDOMAIN the control shares is consistent.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from censorscope.model.dns_consistency import (
    CLASSES,
    TLS_BAD_CERT,
    TLS_FAILED,
    TLS_VALID,
    Reference,
    classify,
    tls_result,
)
from censorscope.model.ipinfo import is_bogon

ASN = {"198.51.100.1": 20940, "198.51.100.2": 20940, "203.0.113.5": 15169,
       "192.0.2.9": 64500, "8.8.8.8": 15169}
CONTROL = Reference(frozenset({"198.51.100.1"}), {"198.51.100.1": 20940})
NXDOMAIN = Reference(failure="dns_name_error")
NO_ANSWER = Reference(failure="dns_no_answer")
# the documentation ranges play the public internet here, as the lab's do
PUBLIC = ("198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/24")


def _bogon(ip: str) -> bool:
    import ipaddress

    return is_bogon(ip, allowed=tuple(ipaddress.ip_network(n) for n in PUBLIC))


def run(addresses: list[str], *, failure: str | None = None, replies: int = 1,
        reference: Reference = CONTROL, tls: Mapping[str, str] | None = None) -> str:
    return classify(failure=failure, addresses=addresses, distinct_replies=replies,
                    reference=reference, asn_of=lambda ip: ASN.get(ip, 0),
                    is_bogon=_bogon, tls=tls or {}).label


@pytest.mark.parametrize(("case", "expected"), [
    # the control's address, or another in its AS (a CDN's other node)
    (dict(addresses=["198.51.100.1"]), "consistent"),
    (dict(addresses=["198.51.100.2"]), "consistent"),
    # another AS: the TLS check decides
    (dict(addresses=["192.0.2.9"], tls={"192.0.2.9": TLS_VALID}), "cdn_valid_cert"),
    (dict(addresses=["203.0.113.5"], tls={"203.0.113.5": TLS_BAD_CERT}), "lie"),
    (dict(addresses=["203.0.113.5"], tls={"203.0.113.5": TLS_FAILED}), "lie"),
    (dict(addresses=["203.0.113.5"]), "unverified"),
    # a valid certificate at one answer, a bad one at another: still a lie
    (dict(addresses=["192.0.2.9", "203.0.113.5"],
          tls={"192.0.2.9": TLS_VALID, "203.0.113.5": TLS_BAD_CERT}), "lie"),
    # a valid one and an unreachable one (an IPv6 answer on a v4 network): a CDN
    (dict(addresses=["192.0.2.9", "203.0.113.5"],
          tls={"192.0.2.9": TLS_VALID, "203.0.113.5": TLS_FAILED}), "cdn_valid_cert"),
    # bogons the control did not return
    (dict(addresses=["10.10.34.35"]), "bogon"),
    (dict(addresses=["127.0.0.1"], tls={"127.0.0.1": TLS_VALID}), "bogon"),
    (dict(addresses=["10.0.0.1"], reference=Reference(frozenset({"10.0.0.1"}))), "consistent"),
    # two different replies to one query
    (dict(addresses=["198.51.100.1"], replies=2), "injected"),
    # failures
    (dict(addresses=[], failure="dns_nxdomain_error"), "nxdomain"),
    (dict(addresses=[], failure="dns_nxdomain_error", reference=NXDOMAIN), "consistent"),
    (dict(addresses=[], failure="dns_no_answer"), "no_answer"),
    (dict(addresses=[], failure="dns_no_answer", reference=NO_ANSWER), "consistent"),
    (dict(addresses=[], failure="generic_timeout_error"), "timeout"),
    (dict(addresses=[], failure="dns_refused_error"), "error"),
])
def test_classes(case: dict, expected: str) -> None:
    assert expected in CLASSES
    assert run(**case) == expected


def test_asn_zero_never_matches() -> None:
    """Unknown AS on both sides is not "the same AS"."""
    ref = Reference(frozenset({"198.51.100.77"}), {"198.51.100.77": 0})
    assert run(["203.0.113.99"], reference=ref, tls={"203.0.113.99": TLS_FAILED}) == "lie"


def test_decided_by_names_the_facts() -> None:
    found = classify(failure=None, addresses=["198.51.100.2"], distinct_replies=1,
                     reference=CONTROL, asn_of=lambda ip: ASN.get(ip, 0), is_bogon=_bogon,
                     tls={})
    assert found.to_json() == {"classification": "consistent", "decided_by": {
        "address": "198.51.100.2", "reference": "198.51.100.1", "asn": 20940}}


def test_tls_result() -> None:
    assert tls_result(True, None, True) == TLS_VALID
    assert tls_result(True, None, False) == TLS_FAILED  # no validation: proves nothing
    assert tls_result(False, "ssl_invalid_hostname", True) == TLS_BAD_CERT
    assert tls_result(False, "generic_timeout_error", True) == TLS_FAILED
    assert tls_result(None, None, True) is None
