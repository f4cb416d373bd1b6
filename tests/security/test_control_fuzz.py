"""Hypothesis fuzz of the real control's request handling: random JSON bodies, THRequest-shaped
bodies with hostile values, and random request heads, sent to ``censorscope control serve``.
No answer is a 5xx other than the documented 503/504, every error is the one envelope, and the
control's log has no traceback."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.control.sites import ControlProcess

from .test_control_addresses import LITERALS, NAMES, NUMERIC

FUZZ = settings(max_examples=250, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | \
    st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
hosts = st.sampled_from(
    [h for h, _ in LITERALS] + NUMERIC + list(NAMES) + ["nx.test", "localhost", "ünï.test",
                                                       "a" * 70 + ".test", "", "[::1", "x:y"]
) | st.text(max_size=20)
urls = st.builds(
    lambda scheme, host, port, path: f"{scheme}{host}{port}{path}",
    st.sampled_from(["http://", "https://", "ftp://", "", "HTTP://", "http:/"]),
    hosts,
    st.sampled_from(["", ":0", ":80", ":65536", ":-1", ":x", ":443"]),
    st.sampled_from(["/", "", "/a?b=c#d", "/%00", "/\u00e9"]) | st.text(max_size=10),
)
endpoints = st.sampled_from(
    ["127.0.0.1:80", "[::1]:443", "[64:ff9b::7f00:1]:80", "0.0.0.0:0", "1.2.3.4", "[::1]",
     "::1:80", "[fe80::1%lo]:80", "10.0.0.1:99999", "x:1"]
) | st.text(max_size=20)
th_requests = st.fixed_dictionaries(
    {},
    optional={
        "http_request": urls | json_values,
        "http_request_headers": st.dictionaries(
            st.sampled_from(["User-Agent", "accept", "Accept-Language", "X"]) | st.text(max_size=8),
            st.lists(st.text(max_size=40), max_size=10) | json_values, max_size=4,
        ) | json_values,
        "tcp_connect": st.lists(endpoints, max_size=70) | json_values,
        "x_quic_enabled": st.booleans() | json_values,
    },
)


@pytest.fixture(autouse=True)
def _no_traceback(strict_control: ControlProcess) -> Iterator[None]:
    """After each fuzz test: the control is alive and logged no traceback and no 500."""

    before = len(strict_control.log())
    yield
    log = strict_control.log()[before:]
    assert "Traceback" not in log and '"status":500' not in log, log[-3000:]
    assert strict_control.proc.poll() is None


def send(control: ControlProcess, data: bytes) -> tuple[int | None, bytes]:
    """Send ``data``, half-close, read the whole answer; ``(status, body)`` (``None``: the
    control closed without answering)."""

    with socket.create_connection((control.host, control.port), timeout=30) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw:
        return None, b""
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def check(status: int | None, body: bytes) -> None:
    assert status is not None, "no answer"
    assert status < 500 or status in (503, 504), (status, body[:300])
    decoded = orjson.loads(body)
    if status >= 400:
        assert set(decoded) == {"error"} and decoded["error"]["code"] == status, decoded


def post(control: ControlProcess, body: bytes) -> tuple[int | None, bytes]:
    head = (f"POST / HTTP/1.1\r\nHost: control\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    return send(control, head + body)


@FUZZ
@given(json_values)
def test_random_json_bodies(strict_control: ControlProcess, value: Any) -> None:
    check(*post(strict_control, json.dumps(value).encode()))  # big ints too


@FUZZ
@given(th_requests)
def test_hostile_threquests(strict_control: ControlProcess, request: dict[str, Any]) -> None:
    status, body = post(strict_control, json.dumps(request).encode())
    check(status, body)
    if status == 200:  # measured: nothing refused was dialled or echoed
        answer = orjson.loads(body)
        assert answer["tcp_connect"] == {} or all(
            not k.startswith(("127.", "[::1]", "0.", "10.")) for k in answer["tcp_connect"])
        assert answer["dns"]["addrs"] == []


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_as_body(strict_control: ControlProcess, body: bytes) -> None:
    check(*post(strict_control, body))


header_names = st.sampled_from(["Host", "Content-Length", "Transfer-Encoding", "Expect",
                                "User-Agent", "Connection", "X-Forwarded-For"]) | \
    st.text(st.characters(codec="latin-1"), max_size=12)
header_values = st.sampled_from(["0", "5", "-1", "chunked", "100-continue", "close",
                                 "ooniprobe-android/3.20.0", "127.0.0.2", "1, 2", " 5"]) | \
    st.text(st.characters(codec="latin-1"), max_size=20)


@FUZZ
@given(
    st.sampled_from(["GET", "POST", "PUT", "HEAD", "OPTIONS", "post", "G ET", ""])
    | st.text(st.characters(codec="latin-1"), max_size=8),
    st.sampled_from(["/", "/api/v1/control", "*", "http://x/", "/../", "//"])
    | st.text(st.characters(codec="latin-1"), max_size=20),
    st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2", "http/1.1", ""]),
    st.lists(st.tuples(header_names, header_values), max_size=8),
    st.binary(max_size=100),
)
def test_random_heads(strict_control: ControlProcess, method: str, target: str, version: str,
                      headers: list[tuple[str, str]], body: bytes) -> None:
    head = f"{method} {target} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    check(*send(strict_control, head.encode("latin-1") + b"\r\n" + body))
