"""Hundreds of malformed requests: never a 5xx, and the collector keeps serving."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import orjson

from censorscope.serve import Limits
from tests.collector.helpers import exchange, measurement, request, running_collector

RID = "20240501T100000Z_webconnectivity_IT_30722_n1_abcdefghijklmnop"


def _valid(rng: random.Random) -> bytes:
    path = rng.choice([f"/report/{RID}", "/api/v1/submit_measurement", "/report",
                       f"/report/{RID}/close", "/admin/seal", "/api/v1/raw_measurement"])
    content = measurement(rng.randrange(10**6))
    body = orjson.dumps({"format": "json", "content": content})
    return (f"POST {path} HTTP/1.1\r\nHost: c\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


def _mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    kind = rng.randrange(9)
    if kind == 0:  # flip bytes anywhere
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 1:  # truncate
        data = data[: rng.randrange(len(data))]
    elif kind == 2:  # random garbage
        data = bytearray(rng.randbytes(rng.randint(1, 2000)))
    elif kind == 3:  # wrong/huge/negative Content-Length
        cl = rng.choice([b"-1", b"99999999999999", b"abc", b"1e3", b"0x10", b" 5", b"5, 6"])
        data = data.replace(b"Content-Length: ", b"Content-Length: " + cl + b"\r\nX: ", 1)
    elif kind == 4:  # body replaced by JSON-ish junk
        head, _, _ = bytes(data).partition(b"\r\n\r\n")
        junk = rng.choice([b"[]", b"null", b'{"content": 1}', b'{"content": "x"}',
                           b'{"content": {"probe_cc": 1}}', b'{"format": "yaml"}',
                           b'"\\ud800"', b'{"content": "{\\"probe_cc\\": \\"\\ud800\\"}"}',
                           b"[" * 5000, b'{"a": 1e999999}', b"\xff" * 10])
        head = head.replace(b"Content-Length:", b"X-Old:")
        data = bytearray(head + b"\r\nContent-Length: " + str(len(junk)).encode() + b"\r\n\r\n"
                         + junk)
    elif kind == 5:  # bad request line
        line = rng.choice([b"GET\r\n", b"POST /report HTTP/2.0\r\n", b"POST report HTTP/1.1\r\n",
                           b"P@ST / HTTP/1.1\r\n", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n",
                           b"GET / HTTP/1.1 extra\r\n", b"\r\n"])
        data = bytearray(line + bytes(data).partition(b"\r\n")[2])
    elif kind == 6:  # bad headers
        bad = rng.choice([b" folded\r\n", b"NoColon\r\n", b"Bad Name: x\r\n", b"X: \x01\r\n",
                          b"Content-Encoding: gzip\r\n", b"Content-Encoding: zstd\r\n",
                          b"Content-Encoding: br\r\n", b"Transfer-Encoding: chunked\r\n",
                          b"Content-Type: text/html\r\n", b"Content-Length: 1\r\n"])
        pos = bytes(data).find(b"\r\n") + 2
        data = data[:pos] + bad + data[pos:]
    elif kind == 7:  # LF-only line endings
        data = bytearray(bytes(data).replace(b"\r\n", b"\n"))
    else:  # mismatched metadata / unknown tests / bad ids
        content = measurement(rng.randrange(100), cc=rng.choice(["IT", "FR", "zz", "I", ""]),
                              asn=rng.choice([30722, 0, 1]),
                              test_name=rng.choice(["web_connectivity", "bogus", "", "x" * 50]))
        rid = rng.choice([RID, "x_y", RID.replace("IT", "ITT"), "../../etc/passwd", "%00"])
        body = orjson.dumps({"format": "json", "content": content})
        data = bytearray((f"POST /report/{rid} HTTP/1.1\r\nHost: c\r\nContent-Type: "
                          f"application/json\r\nContent-Length: {len(body)}\r\n"
                          "Connection: close\r\n\r\n").encode() + body)
    return bytes(data)


def test_fuzzed_requests_never_get_5xx(tmp_path: Path) -> None:
    rng = random.Random(20240501)
    requests = [_mutate(rng, _valid(rng)) for _ in range(400)]
    limits = Limits(max_body=64 * 1024, head_timeout=1.0, body_timeout=1.0, idle_timeout=1.0)

    async def main() -> list[bytes]:
        async with running_collector(tmp_path, limits=limits) as app:
            sem = asyncio.Semaphore(50)

            async def one(data: bytes) -> bytes:
                async with sem:
                    return await exchange(app.port, data, timeout=10)

            answers = await asyncio.gather(*(one(r) for r in requests))
            status, body = await request(app.port, "POST", "/api/v1/submit_measurement",
                                         {"content": orjson.dumps(measurement(-1)).decode()})
            assert status == 200 and body["measurement_uid"]  # still up and storing
            return answers

    answers = asyncio.run(main())
    statuses = []
    for raw in answers:
        if not raw:
            continue  # the client sent nothing usable before closing (e.g. truncated to 0)
        assert raw.startswith(b"HTTP/1.1 "), raw[:100]
        statuses.append(int(raw.split(b" ", 2)[1]))
    assert len(statuses) > 350
    assert all(s < 500 for s in statuses), sorted(set(statuses))[-5:]
    assert sum(400 <= s < 500 for s in statuses) > 200
