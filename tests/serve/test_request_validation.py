"""One request-validation policy: the control and the collector, each a real server process on
a loopback socket, answer the same malformed requests with the same status and the same error
envelope ``{"error": {"code": <status>, "message": …}}`` — and the message is the same too,
because both read requests with :mod:`censorscope.serve`.

Both servers get the same 64 KiB body cap (the control's default; ``collector serve --max-body
65536``). Bodies above it (8 MiB sent in the test) get a 413 that the client reads, even while
it is still sending the body (the server answers, shuts its write side and discards the rest:
no connection reset).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import pytest

from tests.collector.helpers import CollectorProcess
from tests.control.sites import ControlProcess

MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class Target:
    name: str
    host: str
    port: int
    post_path: str  # an endpoint that takes a POST body


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def send(target: Target, data: bytes, timeout: float = 15.0, *, eof: bool = False) -> Answer:
    """Send ``data`` (all of it: a reset while sending fails the test), with ``eof`` shut the
    write side, then read to EOF."""

    with socket.create_connection((target.host, target.port), timeout=timeout) as sock:
        sock.sendall(data)
        if eof:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 "), raw[:200]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(lines[0].split(" ")[1]), headers, body)


def post(extra_headers: bytes, body: bytes = b"{}", *, length: bytes | None = None) -> bytes:
    """A POST to the target's body endpoint ({path} is filled in per server)."""

    cl = b"Content-Length: " + (length if length is not None else str(len(body)).encode())
    return (b"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + extra_headers + cl + b"\r\n\r\n" + body)


# 8 MiB: more than loopback socket buffers absorb, so without the lingering close the client
# would get a reset (EPIPE) while sending instead of the answer
BIG = b"x" * (8 * 1024 * 1024)

# (case id, raw request with {path}, expected status for both servers)
TABLE: list[tuple[str, bytes, int]] = [
    # obsolete line folding
    ("folded-space", post(b"X-A: a\r\n folded\r\n"), 400),
    ("folded-tab", post(b"X-A: a\r\n\tfolded\r\n"), 400),
    ("folded-first-line", b"GET / HTTP/1.1\r\n Host: t\r\n\r\n", 400),
    # control characters in a header value, a name, the target
    ("ctl-value-soh", post(b"X-A: a\x01b\r\n"), 400),
    ("ctl-value-nul", post(b"X-A: a\x00b\r\n"), 400),
    ("ctl-value-del", post(b"X-A: a\x7fb\r\n"), 400),
    ("ctl-value-bare-cr", post(b"X-A: a\rb\r\n"), 400),
    ("ctl-value-bare-lf", post(b"X-A: a\nX-B: b\r\n"), 400),
    ("ctl-name", post(b"X-\x01A: b\r\n"), 400),
    ("space-before-colon", post(b"X-A : b\r\n"), 400),
    ("no-colon", post(b"NoColon\r\n"), 400),
    ("ctl-target-soh", b"GET /a\x01b HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("ctl-target-del", b"GET /a\x7fb HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("ctl-target-tab", b"GET /a\tb HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("ctl-target-nul", b"GET /\x00 HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("space-in-target", b"GET /a b HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("absolute-form-target", b"GET http://t/ HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("lf-only-lines", b"GET / HTTP/1.1\nHost: t\n\n", 400),
    ("http-2-version", b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 400),
    ("garbage-line", b"GARBAGE\r\n\r\n", 400),
    # Host
    ("missing-host-get", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("missing-host-post", b"POST {path} HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 400),
    ("duplicate-host", post(b"Host: u\r\n"), 400),
    # oversized head
    ("long-request-line", b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
    ("long-header-line", b"GET / HTTP/1.1\r\nHost: t\r\nX-A: " + b"b" * 20000 + b"\r\n\r\n",
     431),
    ("too-many-headers", b"GET / HTTP/1.1\r\nHost: t\r\n" + b"X-A: b\r\n" * 100 + b"\r\n", 431),
    ("headers-too-large-in-total",
     b"GET / HTTP/1.1\r\nHost: t\r\n" + (b"X-A: " + b"b" * 1000 + b"\r\n") * 20 + b"\r\n", 431),
    # oversized body
    ("body-one-byte-over", post(b"", b"x" * (MAX_BODY + 1)), 413),
    ("body-8mib-sent", post(b"", BIG), 413),
    ("body-declared-not-sent", post(b"", b"", length=b"1000000000"), 413),
    ("body-over-with-expect",
     post(b"Expect: 100-continue\r\n", b"", length=str(MAX_BODY + 1).encode()), 413),
    ("body-12-digits", post(b"", b"", length=b"999999999999"), 413),
    # bad Content-Length
    ("cl-negative", post(b"", length=b"-1"), 400),
    ("cl-letters", post(b"", length=b"abc"), 400),
    ("cl-exponent", post(b"", length=b"1e3"), 400),
    ("cl-hex", post(b"", length=b"0x10"), 400),
    ("cl-plus", post(b"", length=b"+2"), 400),
    ("cl-list", post(b"", length=b"2, 2"), 400),
    ("cl-13-digits", post(b"", length=b"9999999999999"), 400),
    ("cl-empty", post(b"", length=b""), 400),
    ("cl-duplicate-same", post(b"Content-Length: 2\r\n"), 400),
    ("cl-duplicate-different", post(b"Content-Length: 3\r\n"), 400),
    ("cl-longer-than-sent-then-eof", post(b"", b"{}", length=b"10"), 400),
    ("head-cut-then-eof", b"GET / HTTP/1.1\r\nHost: t\r\nX-A: b", 400),
    # Transfer-Encoding
    ("te-chunked", b"POST {path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"2\r\n{}\r\n0\r\n\r\n", 411),
    ("te-gzip-chunked", b"POST {path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked"
     b"\r\n\r\n0\r\n\r\n", 411),
    ("te-unknown", b"POST {path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    ("te-and-cl", post(b"Transfer-Encoding: chunked\r\n"), 400),
    ("te-duplicate", b"POST {path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
]


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Target]]:
    directory = tmp_path_factory.mktemp("serve-validation")
    control = ControlProcess(["--listen", "127.0.0.1:0"], directory / "control.log")
    collector = CollectorProcess(directory / "archive", "--max-body", str(MAX_BODY),
                                 "--seal-interval", "0")
    try:
        collector.start()
        yield {
            "control": Target("control", control.host, control.port, "/"),
            "collector": Target("collector", "127.0.0.1", collector.port,
                                "/api/v1/submit_measurement"),
        }
    finally:
        control.close()
        with contextlib.suppress(Exception):
            assert collector.terminate() == 0


def _envelope(answer: Answer) -> str:
    decoded = orjson.loads(answer.body)
    assert decoded == {"error": {"code": answer.status, "message": decoded["error"]["message"]}}
    assert isinstance(decoded["error"]["message"], str) and decoded["error"]["message"]
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-length"] == str(len(answer.body))
    return str(decoded["error"]["message"])


@pytest.mark.parametrize(("name", "raw", "status"), TABLE, ids=[name for name, _, _ in TABLE])
def test_control_and_collector_refuse_alike(targets: dict[str, Target], name: str, raw: bytes,
                                            status: int) -> None:
    messages = {}
    for target in targets.values():
        answer = send(target, raw.replace(b"{path}", target.post_path.encode()),
                      eof=name.endswith("then-eof"))
        assert answer.status == status, (target.name, answer)
        messages[target.name] = _envelope(answer)
        assert answer.headers["connection"] == "close"  # framing errors end the connection
        assert b"100 Continue" not in answer.body
    assert messages["control"] == messages["collector"]


def test_the_table_covers_the_brief() -> None:
    """Every kind of refusal the policy promises is in the table at least once."""

    statuses = {status for _, _, status in TABLE}
    assert statuses == {400, 411, 413, 414, 431, 501}
    names = " ".join(name for name, _, _ in TABLE)
    for kind in ("folded", "ctl-value", "ctl-target", "missing-host", "long-header",
                 "body-8mib", "cl-negative", "cl-duplicate", "te-chunked"):
        assert kind in names


def test_well_formed_requests_are_served_by_both(targets: dict[str, Target]) -> None:
    """The same framing that refuses the table lets ordinary requests through."""

    for target in targets.values():
        answer = send(target, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert answer.status == 200, (target.name, answer)
        answer = send(target, b"GET / HTTP/1.0\r\n\r\n")  # HTTP/1.0 needs no Host
        assert answer.status == 200, (target.name, answer)
        # a refusal by the service (not the framing) uses the same envelope
        answer = send(target, b"DELETE / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert answer.status == 405 and _envelope(answer)
        assert "GET" in answer.headers["allow"]
