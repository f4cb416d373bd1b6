"""Unit tests of the measurer's parts: endpoint plan, control request, priority, redirects."""

from __future__ import annotations

import asyncio
import time

from censorscope.experiments.web_connectivity.control_call import build_control_request
from censorscope.experiments.web_connectivity.dnsstage import merge_addresses
from censorscope.experiments.web_connectivity.endpoints import plan_endpoints
from censorscope.experiments.web_connectivity.ids import IDGenerator, endpoint_tags
from censorscope.experiments.web_connectivity.priority import AddrEntry, PrioritySelector
from censorscope.experiments.web_connectivity.redirects import RedirectCounter, redirect_target
from censorscope.model import failures as F

ADDRS = [AddrEntry("198.18.0.1", 1), AddrEntry("2001:db8::1", 2), AddrEntry("127.0.0.1", 1)]


def _plan(url: str) -> list[tuple[str, int, bool, bool]]:
    return [(p.ip, p.port, p.secure, p.fetch) for p in plan_endpoints(url, ADDRS)]


def test_http_url_gets_cleartext_fetch_flows_and_tls_only_flows() -> None:
    assert _plan("http://example.org/") == [
        ("198.18.0.1", 80, False, True), ("2001:db8::1", 80, False, True),
        ("198.18.0.1", 443, True, False), ("2001:db8::1", 443, True, False),
    ]


def test_explicit_ports_and_https() -> None:
    assert _plan("http://example.org:8080/") == [
        ("198.18.0.1", 8080, False, True), ("2001:db8::1", 8080, False, True),
    ]
    assert _plan("https://example.org/") == [
        ("198.18.0.1", 443, True, True), ("2001:db8::1", 443, True, True),
    ]
    assert _plan("https://example.org:8443/")[0] == ("198.18.0.1", 8443, True, True)


def test_loopback_is_not_planned_and_classic_follows_system_flag() -> None:
    plans = plan_endpoints("https://example.org/", ADDRS)
    assert "127.0.0.1" not in {p.ip for p in plans}
    assert [p.classic for p in plans] == [True, False]


def test_control_request_lists_both_ports_unless_explicit() -> None:
    req = build_control_request("https://example.org/", ["198.18.0.1", "2001:db8::1"], "UA")
    assert req["tcp_connect"] == [
        "198.18.0.1:443", "198.18.0.1:80", "[2001:db8::1]:443", "[2001:db8::1]:80",
    ]
    assert req["http_request_headers"]["User-Agent"] == ["UA"]
    explicit = build_control_request("http://example.org:81/", ["198.18.0.1"], "UA")
    assert explicit["tcp_connect"] == ["198.18.0.1:81"]


def test_merge_keeps_discovery_order_and_ors_flags() -> None:
    merged = merge_addresses(["a", "b"], ["b", "c"], ["c", "a"])
    assert merged == [AddrEntry("a", 5), AddrEntry("b", 3), AddrEntry("c", 6)]


def test_ids_and_tags_follow_ooni_namespaces() -> None:
    ids = IDGenerator()
    assert [ids.system_resolver(), ids.system_resolver()] == [10001, 10002]
    assert (ids.udp_resolver(), ids.doh_resolver(), ids.cleartext(), ids.secure()) == (
        20001, 30001, 40001, 50001)
    assert endpoint_tags(0, classic=True, fetch_body=True) == [
        "classic", "tcptls_experiment", "depth=0", "fetch_body=true"]
    assert endpoint_tags(2, classic=False, fetch_body=False) == ["depth=2", "fetch_body=false"]


def test_redirect_rules() -> None:
    assert redirect_target("http://a.org/x", 302, "/y") == ("http://a.org/y", None)
    assert redirect_target("http://a.org/x", 308, "https://b.org/") == ("https://b.org/", None)
    assert redirect_target("http://a.org/x", 303, "/y") == (None, None)
    assert redirect_target("http://a.org/x", 200, "/y") == (None, None)
    assert redirect_target("http://a.org/x", 301, "https:///nohost") == (
        None, F.HTTP_INVALID_REDIRECT_LOCATION_HOST)
    counter = RedirectCounter(2)
    assert [counter.take(), counter.take(), counter.take()] == [True, True, False]


async def _ask(sel: PrioritySelector, ip: str, delay: float) -> tuple[str, bool, float]:
    await asyncio.sleep(delay)
    granted = await sel.permission_to_fetch(ip, 443)
    return ip, granted, time.monotonic()


def test_priority_grants_system_address_at_once() -> None:
    async def scenario() -> list[tuple[str, bool, float]]:
        log: list[dict[str, object]] = []
        sel = PrioritySelector([AddrEntry("1.1.1.1", 1), AddrEntry("2.2.2.2", 2)],
                               zero_time=time.monotonic(), log=log, window=0.3)
        start = time.monotonic()
        out = await asyncio.gather(_ask(sel, "1.1.1.1", 0), _ask(sel, "2.2.2.2", 0.02))
        sel.close()
        assert out[0][2] - start < 0.2, "highest class is granted without waiting"
        assert "denied permission: timed out sending" in str(log[-1]["msg"])
        return out

    out = asyncio.run(scenario())
    assert [(ip, g) for ip, g, _ in out] == [("1.1.1.1", True), ("2.2.2.2", False)]


def test_priority_collects_and_prefers_system_over_earlier_udp() -> None:
    async def scenario() -> list[tuple[str, bool, float]]:
        log: list[dict[str, object]] = []
        sel = PrioritySelector([AddrEntry("1.1.1.1", 1), AddrEntry("2.2.2.2", 2)],
                               zero_time=time.monotonic(), log=log, window=0.2)
        start = time.monotonic()
        # the UDP-only address asks first; the system one asks within the window
        out = await asyncio.gather(_ask(sel, "2.2.2.2", 0), _ask(sel, "1.1.1.1", 0.05))
        sel.close()
        assert out[0][2] - start >= 0.19, "the decision waits for the collection window"
        return out

    out = asyncio.run(scenario())
    assert [(ip, g) for ip, g, _ in out] == [("2.2.2.2", False), ("1.1.1.1", True)]


def test_priority_falls_back_to_first_requester_of_unknown_origin() -> None:
    async def scenario() -> bool:
        sel = PrioritySelector([AddrEntry("1.1.1.1", 1)], zero_time=time.monotonic(), log=[],
                               window=0.05)
        granted = await sel.permission_to_fetch("9.9.9.9", 80)  # control-only address
        sel.close()
        return granted

    assert asyncio.run(scenario()) is True
