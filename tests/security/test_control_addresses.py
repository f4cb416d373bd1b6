"""Every spelling of an address the control must not reach, through every way an address
arrives — the URL's host, a DNS answer, a redirect target, ``tcp_connect`` — against the real
``censorscope control serve`` process, while a canary listening on every local address (on
the targeted port) checks that nothing connected."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from tests.control.sites import ControlProcess, raw_http

from .conftest import Canary, Env

TEREDO_127 = "2001:0:4136:e378:8000:63bf:80ff:fffe"  # client 127.0.0.1 (obfuscated)

# (URL host as written, fragment of the 400 message)
LITERALS = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "this-network (0/8)"),
    ("169.254.169.254", "link-local (cloud metadata)"),
    ("10.0.0.1", "private"),
    ("100.64.0.1", "CGNAT (shared address space)"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.2.1", "documentation"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("[::1]", "loopback"),
    ("[::]", "unspecified"),
    ("[fd00::1]", "unique local (ULA)"),
    ("[fe80::1]", "link-local"),
    ("[fe80::1%25lo]", "scoped (zone index)"),
    ("[ff02::1]", "multicast"),
    ("[2001:db8::1]", "documentation"),
    ("[100::1]", "discard-only"),
    ("[64:ff9b::7f00:1]", "NAT64 form of 127.0.0.1 (loopback)"),
    ("[64:ff9b::a9fe:a9fe]", "NAT64 form of 169.254.169.254 (link-local (cloud metadata))"),
    ("[64:ff9b:1::7f00:1]", "NAT64 local-use form of 127.0.0.1 (loopback)"),
    ("[::127.0.0.1]", "IPv4-compatible form of 127.0.0.1 (loopback)"),
    ("[::ffff:127.0.0.1]", "IPv4-mapped form of 127.0.0.1 (loopback)"),
    ("[::ffff:7f00:1]", "IPv4-mapped form of 127.0.0.1 (loopback)"),
    ("[::ffff:0:127.0.0.1]", "IPv4-translated form of 127.0.0.1 (loopback)"),
    ("[2002:7f00:1::1]", "6to4 form of 127.0.0.1 (loopback)"),
    ("[2002:a9fe:a9fe::]", "6to4 form of 169.254.169.254 (link-local (cloud metadata))"),
    (f"[{TEREDO_127}]", "Teredo form of 127.0.0.1 (loopback)"),
    ("[64:ff9b::808:808]", "NAT64 form of 8.8.8.8 (public; dial the IPv4 address)"),
]
# hosts the URL parser would read as IPv4 numbers (WHATWG, inet_aton)
NUMERIC = ["2130706433", "0177.0.0.1", "0x7f.1", "0x7f000001", "127.1", "0x7f.0.0.1",
           "017700000001", "127.0.0.1.", "a.1"]
# names and what the control's resolver answers for them
NAMES = {
    "loop4.test": ["127.0.0.1"],
    "loop6.test": ["::1"],
    "zero.test": ["0.0.0.0"],
    "meta.test": ["169.254.169.254"],
    "private.test": ["10.1.2.3", "192.168.1.1"],
    "nat64.test": ["64:ff9b::7f00:1"],
    "mapped.test": ["::ffff:7f00:1"],  # dnslib cannot pack the dotted spelling
    "sixtofour.test": ["2002:7f00:1::1"],
    "teredo.test": [TEREDO_127],
    "both.test": ["127.0.0.1", "::1"],
}
REFUSED_NAME = "it resolves only to addresses the control does not dial"


def post(control: ControlProcess, request: Any) -> tuple[int, Any]:
    body = orjson.dumps(request)
    head = (f"POST / HTTP/1.1\r\nHost: control\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    status, _, raw = raw_http(control.host, control.port, head + body, timeout=30)
    return status, orjson.loads(raw)


def error_400(control: ControlProcess, request: Any) -> str:
    """The message of a 400 in the one error envelope (checked exactly)."""

    status, body = post(control, request)
    assert status == 400, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == 400
    message = body["error"]["message"]
    assert isinstance(message, str)
    return message


@pytest.fixture(scope="module", autouse=True)
def _zone(control_lab: Env) -> None:
    control_lab.zone.records.update(NAMES)


@pytest.mark.parametrize(("host", "reason"), LITERALS, ids=[h for h, _ in LITERALS])
def test_literal_hosts_get_400(strict_control: ControlProcess, control_canary: Canary, host: str,
                               reason: str) -> None:
    for scheme in ("http", "https"):
        message = error_400(strict_control,
                            {"http_request": f"{scheme}://{host}:{control_canary.port}/latest/"})
        assert message.startswith("refused address ")
        assert message.endswith(f"{reason} is not allowed")
    assert control_canary.connections() == 0


@pytest.mark.parametrize("host", NUMERIC)
def test_numeric_ipv4_spellings_get_400(strict_control: ControlProcess, control_canary: Canary,
                                        host: str) -> None:
    message = error_400(strict_control, {"http_request": f"http://{host}:{control_canary.port}/"})
    assert "non-standard IPv4 spelling" in message
    assert control_canary.connections() == 0


@pytest.mark.parametrize("name", [*NAMES, "localhost", "api.localhost"])
def test_names_resolving_to_refused_addresses_get_400_without_the_answer(
    strict_control: ControlProcess, control_canary: Canary, name: str
) -> None:
    message = error_400(strict_control, {
        "http_request": f"http://{name}:{control_canary.port}/",
        "tcp_connect": [f"127.0.0.1:{control_canary.port}", f"[::1]:{control_canary.port}"],
    })
    assert message == (f"refused name {name}: {REFUSED_NAME} (loopback, private or other "
                       "special-purpose space)")
    for ip in NAMES.get(name, []):
        assert ip not in message
    assert control_canary.connections() == 0


def test_tcp_connect_entries_are_judged_by_the_same_policy(
    control_lab: Env, strict_control: ControlProcess, control_canary: Canary,
    start_control: Callable[..., ControlProcess],
) -> None:
    # nx.test does not exist: only the probe's endpoints could be dialled, and none is
    ips = [h.strip("[]").replace("%25", "%") for h, _ in LITERALS]
    port = control_canary.port
    endpoints = [f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}" for ip in ips if "%" not in ip]
    status, body = post(strict_control, {"http_request": f"http://nx.test:{control_canary.port}/",
                                         "tcp_connect": endpoints})
    assert status == 200
    assert body["tcp_connect"] == {}
    assert all(info["flags"] == 1 | 4 for info in body["ip_info"].values())
    assert set(body["ip_info"]) == {str(ipaddress.ip_address(ip)) for ip in ips if "%" not in ip}
    assert control_canary.connections() == 0
    # --reject-bogon-probe-ips: each of them is a 400 naming it
    strict = start_control(*control_lab.args("--reject-bogon-probe-ips"))
    for (host, reason), endpoint in zip(
        [c for c in LITERALS if "%" not in c[0]], endpoints, strict=True
    ):
        message = error_400(strict, {"http_request": "http://nx.test/", "tcp_connect": [endpoint]})
        assert message.endswith(f"{reason} is not allowed"), (host, message)
    assert control_canary.connections() == 0


REDIRECT_TARGETS = [
    "127.0.0.2", "[::ffff:127.0.0.1]", "[::127.0.0.1]", "[64:ff9b::7f00:1]",
    "[2002:7f00:1::1]", f"[{TEREDO_127}]", "0.0.0.0", "169.254.169.254", "[::1]",
    "2130706433", "0x7f.1", "loop2.test", "loop6.test", "nat64.test", "localhost",
]


def test_redirect_targets_are_judged_by_the_same_policy(
    control_lab: Env, control_canary: Canary, start_control: Callable[..., ControlProcess]
) -> None:
    # the site (127.0.0.1) is allowed, so the control fetches it; it redirects to each target
    # on the canary's port; none of those is followed (127.0.0.1 itself is allowed, but not
    # its IPv6 spellings: an embedding form is allowed only if the IPv6 range is)
    control_lab.zone.records["loop2.test"] = ["127.0.0.2"]
    control = start_control(*control_lab.args("--allow-range", "127.0.0.1/32"))
    for target in REDIRECT_TARGETS:
        url = control_lab.site.url("ok.test", f"/go?to=http://{target}:{control_canary.port}/")
        status, body = post(control, {"http_request": url})
        assert status == 200, (target, body)
        assert body["http_request"]["status_code"] == -1, target
        assert body["http_request"]["failure"] in ("unknown_error", "dns_lookup_error"), target
        assert control_canary.connections() == 0, target
    # and the site itself was measured each time (the control works)
    assert body["tcp_connect"] == {f"127.0.0.1:{control_lab.site.port}": {"status": True,
                                                                   "failure": None}}
