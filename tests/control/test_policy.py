"""The control never dials loopback/private/special addresses unless allowed: URL literals
get a 400, names resolving to them are reported but not dialled, redirects are not followed.
Each case listens on the refused address and asserts that nothing connected."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest

from censorscope.control.client import ControlError, call_control
from censorscope.control.policy import AddressPolicy, parse_ranges

from .conftest import Loopback
from .sites import ControlProcess, quiet_listener, saw_connection


def post(control: ControlProcess, request: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(
        call_control(control.url, request, timeout=30, ca_file=None, user_agent="test/1")
    )


def refused(control: ControlProcess, request: dict[str, Any]) -> ControlError:
    with pytest.raises(ControlError) as info:
        post(control, request)
    assert info.value.status == 400
    return info.value


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = quiet_listener("127.0.0.1")
    try:
        yield sock
    finally:
        sock.close()


@pytest.fixture
def listener6() -> Iterator[socket.socket]:
    try:
        sock = quiet_listener("::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        yield sock
    finally:
        sock.close()


@pytest.fixture(scope="module")
def strict_control(
    loopback: Loopback, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControlProcess]:
    """A control with no --allow-range: every special-purpose address is refused."""

    log = tmp_path_factory.mktemp("strict-control") / "control.log"
    proc = ControlProcess(loopback.base_args(), log)
    try:
        yield proc
    finally:
        proc.close()


def test_refuses_loopback_url(strict_control: ControlProcess, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    err = refused(strict_control, {"http_request": f"http://127.0.0.1:{port}/"})
    assert str(err).endswith("refused address 127.0.0.1: loopback is not allowed")
    assert not saw_connection(listener)


def test_refuses_ipv6_loopback_url(strict_control: ControlProcess,
                                   listener6: socket.socket) -> None:
    port = listener6.getsockname()[1]
    err = refused(strict_control, {"http_request": f"https://[::1]:{port}/x"})
    assert "refused address ::1: loopback is not allowed" in str(err)
    assert not saw_connection(listener6)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://10.1.2.3/", "private"),
        ("http://192.168.1.1:8080/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local (cloud metadata)"),
        ("http://100.64.0.1/", "CGNAT (shared address space)"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://192.0.2.1/", "documentation"),
        ("http://198.18.0.1/", "benchmarking"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fd00::1]/", "unique local (ULA)"),
        ("http://[::ffff:127.0.0.1]/", "IPv4-mapped form of 127.0.0.1 (loopback)"),
    ],
)
def test_refuses_special_ranges(strict_control: ControlProcess, url: str, kind: str) -> None:
    err = refused(strict_control, {"http_request": url})
    assert f"{kind} is not allowed" in str(err)


def test_probe_bogons_are_reported_never_dialled(
    loopback: Loopback,
    strict_control: ControlProcess,
    listener: socket.socket,
    listener6: socket.socket,
) -> None:
    # ok.test resolves only to 127.0.0.1 (refused here): 400 without the answer, and the
    # probe's own endpoints (127.0.0.1, ::1, 10/8) are not dialled either
    port = listener.getsockname()[1]
    port6 = listener6.getsockname()[1]
    request = {
        "http_request": f"http://ok.test:{port}/",
        "tcp_connect": [f"127.0.0.1:{port}", f"[::1]:{port6}", "10.0.0.1:80"],
    }
    err = refused(strict_control, request)
    assert str(err).endswith(
        "refused name ok.test: it resolves only to addresses the control does not dial "
        "(loopback, private or other special-purpose space)")
    assert "127.0.0.1" not in str(err)
    assert not saw_connection(listener)
    assert not saw_connection(listener6)


def test_report_refused_answers_flag(
    loopback: Loopback, start_control: Callable[..., ControlProcess],
    listener: socket.socket, listener6: socket.socket,
) -> None:
    # the lab's OONI-compatible mode: the answer is reported with flag 4 and never dialled
    control = start_control(*loopback.base_args(), "--report-refused-answers")
    port = listener.getsockname()[1]
    port6 = listener6.getsockname()[1]
    request = {
        "http_request": f"http://ok.test:{port}/",
        "tcp_connect": [f"127.0.0.1:{port}", f"[::1]:{port6}", "10.0.0.1:80"],
    }
    response = post(control, request)
    assert response["dns"] == {"failure": None, "addrs": ["127.0.0.1"]}
    assert response["tcp_connect"] == {}
    assert "tls_handshake" not in response
    assert response["http_request"]["failure"] == "unknown_error"
    assert response["ip_info"] == {
        "10.0.0.1": {"asn": 0, "flags": 1 | 4},
        "127.0.0.1": {"asn": 64500, "flags": 1 | 2 | 4},
        "::1": {"asn": 0, "flags": 1 | 4},
    }
    assert not saw_connection(listener)
    assert not saw_connection(listener6)


def test_refused_part_of_an_answer_is_not_echoed(
    loopback: Loopback, start_control: Callable[..., ControlProcess]
) -> None:
    # only 127.0.0.1 is allowed; mixed.test also resolves to 127.0.0.2 and ::1 (refused)
    control = start_control(*loopback.base_args(), "--allow-range", "127.0.0.1/32")
    hidden = quiet_listener("127.0.0.2", loopback.http.port)
    loopback.zone.records["mixed.test"] = ["127.0.0.2", "127.0.0.1", "::1"]
    try:
        response = post(control, {"http_request": loopback.http.url("mixed.test"),
                                  "tcp_connect": [f"127.0.0.1:{loopback.http.port}"]})
        assert response["dns"] == {"failure": None, "addrs": ["127.0.0.1"]}
        assert set(response["ip_info"]) == {"127.0.0.1"}
        assert response["ip_info"]["127.0.0.1"]["flags"] & (1 | 2) == 1 | 2
        assert response["http_request"]["status_code"] == 200
        assert b"127.0.0.2" not in orjson.dumps(response)
        assert not saw_connection(hidden)
    finally:
        hidden.close()


def test_reject_bogon_probe_ips_flag(
    loopback: Loopback, start_control: Callable[..., ControlProcess], listener: socket.socket
) -> None:
    control = start_control(*loopback.base_args(), "--reject-bogon-probe-ips")
    port = listener.getsockname()[1]
    for endpoint, message in [
        (f"127.0.0.1:{port}", "refused address 127.0.0.1: loopback is not allowed"),
        ("10.9.8.7:443", "refused address 10.9.8.7: private is not allowed"),
        ("[::1]:443", "refused address ::1: loopback is not allowed"),
    ]:
        err = refused(control, {"http_request": "http://ok.test/", "tcp_connect": [endpoint]})
        assert str(err).endswith(f"tcp_connect: {message}")
    assert not saw_connection(listener)


def test_redirect_into_refused_range_not_followed(
    loopback: Loopback, start_control: Callable[..., ControlProcess]
) -> None:
    # only 127.0.0.1 is allowed; the site redirects to 127.0.0.2 (literal, then by name)
    control = start_control(*loopback.base_args(), "--allow-range", "127.0.0.1/32")
    hidden = quiet_listener("127.0.0.2")
    loopback.zone.records["inside.test"] = ["127.0.0.2"]
    try:
        port = hidden.getsockname()[1]
        for target in (f"http://127.0.0.2:{port}/", f"http://inside.test:{port}/"):
            url = loopback.http.url("ok.test", f"/go?to={target}")
            response = post(control, {"http_request": url})
            assert response["http_request"]["failure"] == "unknown_error"
            assert response["http_request"]["status_code"] == -1
            assert response["tcp_connect"] == {
                f"127.0.0.1:{loopback.http.port}": {"status": True, "failure": None}
            }
        assert not saw_connection(hidden)
    finally:
        hidden.close()


def test_allowed_range_is_dialled(
    loopback: Loopback, lab_control: ControlProcess, listener: socket.socket
) -> None:
    # the converse of the refusal tests: with --allow-range the same address IS dialled
    port = listener.getsockname()[1]
    post(lab_control, {"http_request": f"http://127.0.0.1:{port}/", "tcp_connect": []})
    assert saw_connection(listener, wait=2)


def test_policy_unit() -> None:
    policy = AddressPolicy()
    assert policy.refusal_reason("8.8.8.8") is None
    assert policy.refusal_reason("2001:4860:4860::8888") is None
    assert policy.refusal_reason("127.0.0.1") == "loopback"
    assert policy.refusal_reason("172.16.5.4") == "private"
    assert policy.refusal_reason("240.0.0.1") == "reserved"
    assert policy.refusal_reason("2001:db8::1") == "documentation"
    assert policy.refusal_reason("not-an-ip") == "not an IP address"
    lab = AddressPolicy.from_cidrs(["198.18.0.0/15", "203.0.113.0/24"])
    assert not lab.is_refused("198.19.1.1") and not lab.is_refused("203.0.113.9")
    assert lab.is_refused("192.0.2.1") and lab.is_refused("127.0.0.1")
    with pytest.raises(ValueError, match="not a CIDR"):
        parse_ranges(["10.0.0.0/33"])
    assert orjson.dumps(lab.describe_refusal("10.0.0.1")) == (
        b'"refused address 10.0.0.1: private is not allowed"'
    )
