"""The control's HTTP server: health check, routing, strict parsing, size caps, load
shedding, optional TLS — all against the real ``censorscope control serve`` process."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from censorscope import __version__
from censorscope.control.client import ControlError, call_control
from censorscope.net.errors import NetError

from .conftest import Loopback
from .sites import ControlProcess, raw_http


def post_raw(control: ControlProcess, body: bytes, *, path: str = "/",
             ua: str = "test/1", source: str | None = None) -> tuple[int, dict[str, str], Any]:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: control\r\nUser-Agent: {ua}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    status, headers, raw = raw_http(control.host, control.port, head + body, source=source)
    return status, headers, orjson.loads(raw)


def test_health_check(lab_control: ControlProcess) -> None:
    status, headers, body = raw_http(
        lab_control.host, lab_control.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    assert status == 200
    assert orjson.loads(body) == {"message": "Hello OONItarian!"}
    assert headers["server"] == f"censorscope-control/{__version__}"
    assert headers["content-type"] == "application/json"


def test_alias_path(loopback: Loopback, lab_control: ControlProcess) -> None:
    body = orjson.dumps({"http_request": loopback.http.url("ok.test")})
    status, _, response = post_raw(lab_control, body, path="/api/v1/control")
    assert status == 200
    assert response["http_request"]["status_code"] == 200


def error_message(body: bytes, status: int) -> str:
    """The message of the serving layer's one error envelope (checked exactly)."""

    decoded = orjson.loads(body)
    assert set(decoded) == {"error"} and set(decoded["error"]) == {"code", "message"}
    assert decoded["error"]["code"] == status
    message = decoded["error"]["message"]
    assert isinstance(message, str)
    return message


@pytest.mark.parametrize(
    ("raw", "status", "fragment"),
    [
        (b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405, "method PUT"),
        (b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, "no such path"),
        (b"GARBAGE\r\n\r\n", 400, "malformed request line"),
        (b"POST / HTTP/1.1\r\nHost: x\r\n\r\n", 411, "Content-Length required"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411,
         "chunked"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n", 413,
         "limited to 65536"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400, "malformed header"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 100 + b"\r\n", 431, "too many"),
    ],
)
def test_protocol_errors(lab_control: ControlProcess, raw: bytes, status: int,
                         fragment: str) -> None:
    got, headers, body = raw_http(lab_control.host, lab_control.port, raw)
    assert got == status
    assert fragment in error_message(body, status)
    assert headers["cache-control"] == "no-store"
    if status == 405:
        assert headers["allow"] == "GET, POST"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"[1, 2]", "body must be a JSON object"),
        (b'{"http_request": "ftp://ok.test/"}', "only http:// and https://"),
        (b'{"http_request": "http:///nohost"}', "URL has no host"),
        (b'{"http_request": "http://ok.test:99999/"}', "bad host or port"),
        (b'{"http_request": "http://ok.test/", "tcp_connect": ["ok.test:80"]}',
         "is not an IP-literal endpoint"),
        (b'{"http_request": "http://ok.test/", "tcp_connect": "1.2.3.4:80"}', "must be a list"),
        (b'{"http_request": "http://ok.test/", "x_quic_enabled": "yes"}', "must be a boolean"),
        (b'{"http_request": "http://ok.test/", "http_request_headers": '
         b'{"User-Agent": ["a\\r\\nX-Injected: 1"]}}', "control characters"),
        (orjson.dumps({"http_request": "http://ok.test/",
                       "tcp_connect": [f"1.2.3.{i}:80" for i in range(65)]}), "more than 64"),
    ],
)
def test_bad_requests_get_400(lab_control: ControlProcess, body: bytes, fragment: str) -> None:
    status, _, response = post_raw(lab_control, body)
    assert status == 400
    assert fragment in response["error"]["message"]
    assert response["error"]["code"] == 400


def test_load_shedding(loopback: Loopback, start_control: Callable[..., ControlProcess]) -> None:
    control = start_control(*loopback.base_args(), "--allow-range", "127.0.0.0/8",
                            "--max-inflight", "2", "--max-inflight-per-client", "1")
    site = loopback.http
    site.hanging.clear()
    results: dict[str, Any] = {}

    def slow() -> None:
        results["slow"] = post_raw(control, orjson.dumps(
            {"http_request": site.url("hang.test", "/hang")}))

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        assert site.hanging.wait(10), "the slow measurement never reached the site"
        ok = orjson.dumps({"http_request": site.url("ok.test")})
        status, _, body = post_raw(control, ok, ua="curl/8")
        assert status == 503
        assert "1 measurements of yours in flight" in body["error"]["message"]
        # a User-Agent buys nothing (OONI gives ooniprobe-* twice the budget; anyone can
        # send that header)
        status, _, body = post_raw(
            control, ok, ua="ooniprobe-android/3.20.0 ooniprobe-engine/3.20.0")
        assert status == 503
        # another client address is served
        status, _, body = post_raw(control, ok, source="127.0.0.2")
        assert status == 200 and body["http_request"]["status_code"] == 200
    finally:
        thread.join(30)
    status, _, body = results["slow"]
    assert status == 200
    assert body["http_request"]["failure"] == "generic_timeout_error"
    # once the slow one is done, the first client is served again
    status, _, _ = post_raw(control, orjson.dumps({"http_request": site.url("ok.test")}))
    assert status == 200


def test_total_inflight_cap(loopback: Loopback,
                            start_control: Callable[..., ControlProcess]) -> None:
    control = start_control(*loopback.base_args(), "--allow-range", "127.0.0.0/8",
                            "--max-inflight", "1", "--max-inflight-per-client", "1")
    site = loopback.http
    site.hanging.clear()
    thread = threading.Thread(target=lambda: post_raw(control, orjson.dumps(
        {"http_request": site.url("hang.test", "/hang")})))
    thread.start()
    try:
        assert site.hanging.wait(10), "the slow measurement never reached the site"
        status, _, body = post_raw(control, orjson.dumps({"http_request": site.url("ok.test")}),
                                   source="127.0.0.3")
        assert status == 503
        assert "too many measurements in flight" in body["error"]["message"]
    finally:
        thread.join(30)


def test_tls_serving_and_client(loopback: Loopback,
                                start_control: Callable[..., ControlProcess]) -> None:
    cert, key = loopback.ca.issue("control", ["control.test"])
    control = start_control(*loopback.base_args(), "--allow-range", "127.0.0.0/8",
                            "--tls-cert", cert, "--tls-key", key)
    assert control.url.startswith("https://")
    url = f"https://control.test:{control.port}/"
    request = {"http_request": loopback.http.url("ok.test")}
    response = asyncio.run(call_control(url, request, timeout=20, ca_file=loopback.ca.ca_file,
                                        connect_ip="127.0.0.1", user_agent="test/1"))
    assert response["http_request"]["title"] == "Censorscope OK"
    with pytest.raises(NetError) as info:
        asyncio.run(call_control(url, request, timeout=20, ca_file=None,
                                 connect_ip="127.0.0.1", user_agent="test/1"))
    assert info.value.failure == "ssl_unknown_authority"


def test_client_errors(loopback: Loopback, lab_control: ControlProcess) -> None:
    with pytest.raises(NetError) as info:
        asyncio.run(call_control(f"http://127.0.0.1:{loopback.closed_port}/", {},
                                 timeout=5, ca_file=None, user_agent="t"))
    assert info.value.failure == "connection_refused"
    with pytest.raises(ControlError) as bad:
        asyncio.run(call_control(lab_control.url, {"http_request": "gopher://x/"},
                                 timeout=5, ca_file=None, user_agent="t"))
    assert bad.value.status == 400 and "only http://" in str(bad.value)
    # a server that answers 200 with HTML is not a control
    with pytest.raises(ControlError, match="not JSON"):
        asyncio.run(call_control(loopback.http.url("127.0.0.1"), {},
                                 timeout=5, ca_file=None, user_agent="t"))


def test_total_time_cap_gives_504(loopback: Loopback,
                                  start_control: Callable[..., ControlProcess]) -> None:
    control = start_control(*loopback.base_args(), "--allow-range", "127.0.0.0/8",
                            "--request-timeout", "0.5")
    loopback.http.hanging.clear()
    status, _, body = post_raw(
        control, orjson.dumps({"http_request": loopback.http.url("hang.test", "/hang")})
    )
    assert status == 504
    assert body["error"] == {"code": 504, "message": "measurement took longer than 0.5 s"}
    assert loopback.http.hanging.is_set()


def test_body_read_cap(loopback: Loopback, start_control: Callable[..., ControlProcess]) -> None:
    control = start_control(*loopback.base_args(), "--allow-range", "127.0.0.0/8",
                            "--max-body", "100")
    request = orjson.dumps({"http_request": loopback.http.url("ok.test")})
    status, _, body = post_raw(control, request)
    assert status == 200
    assert body["http_request"]["body_length"] == 100
    assert body["http_request"]["failure"] is None


def test_expect_100_continue(loopback: Loopback, lab_control: ControlProcess) -> None:
    payload = orjson.dumps({"http_request": loopback.http.url("ok.test")})
    head = (
        f"POST / HTTP/1.1\r\nHost: c\r\nExpect: 100-continue\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode()
    with socket.create_connection((lab_control.host, lab_control.port), timeout=10) as sock:
        sock.sendall(head)
        interim = sock.recv(64)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(payload)
        data = interim
        while chunk := sock.recv(65536):
            data += chunk
    final = data.split(b"\r\n\r\n", 1)[1]
    assert final.startswith(b"HTTP/1.1 200 OK")


def test_client_key() -> None:
    from censorscope.control.server import client_key

    assert client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"  # dual-stack socket, same client
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9") == \
        "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("fe80::1%eth0") == "fe80::/64"
    assert client_key("") == ""
