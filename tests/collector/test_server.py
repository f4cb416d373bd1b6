"""The collector over real loopback HTTP: OONI's submission flow, errors, duplicates, limits."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from pathlib import Path

import orjson
import pytest

from censorscope.archive.fetch import fetch_measurement
from censorscope.serve import Limits
from tests.collector.helpers import (
    exchange,
    measurement,
    parse_response,
    request,
    running_collector,
)


async def _open(port: int, content: dict) -> str:
    status, body = await request(port, "POST", "/report", {
        "format": "json", "data_format_version": "0.2.0",
        **{k: content[k] for k in ("probe_cc", "probe_asn", "test_name", "software_name",
                                   "software_version", "test_start_time", "test_version")},
    })
    assert status == 200, body
    assert body["supported_formats"] == ["json"]
    return body["report_id"]


def test_open_submit_close_and_fetch_back(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_collector(tmp_path) as app:
            content = measurement(1)
            rid = await _open(app.port, content)
            assert rid.split("_")[1:4] == ["webconnectivity", "IT", "30722"]
            content["report_id"] = rid
            status, body = await request(app.port, "POST", f"/report/{rid}",
                                         {"format": "json", "content": content})
            assert status == 200, body
            uid = body["measurement_uid"]
            stored = fetch_measurement(tmp_path, uid)
            assert stored is not None and orjson.loads(stored) == {"measurement_uid": uid,
                                                                   **content}
            # the uid hashes the archived body (the content as received)
            assert uid.endswith("_IT_webconnectivity_"
                                + hashlib.sha512(orjson.dumps(content)).hexdigest()[:16])
            await app.seal()  # now read from the can, at its indexed offset
            assert fetch_measurement(tmp_path, uid) == stored
            status, raw = await request(app.port, "GET",
                                        f"/api/v1/raw_measurement?measurement_uid={uid}")
            assert status == 200 and raw == {"measurement_uid": uid, **content}
            assert await request(app.port, "POST", f"/report/{rid}/close") == (200, {})
    asyncio.run(main())


def test_duplicates_get_the_first_uid_and_are_stored_once(tmp_path: Path) -> None:
    async def main() -> list[str]:
        async with running_collector(tmp_path) as app:
            content = measurement(5)
            rid = await _open(app.port, content)
            payload = {"format": "json", "content": content}
            results = await asyncio.gather(
                *(request(app.port, "POST", f"/report/{rid}", payload) for _ in range(20))
            )
            uids = {body["measurement_uid"] for status, body in results if status == 200}
            assert len(uids) == 1 and len(results) == 20
            # also after a seal: the duplicate is found in the index
            await app.seal()
            _status, body = await request(app.port, "POST", f"/report/{rid}", payload)
            assert body["measurement_uid"] in uids
            assert app.archive is not None and app.archive.index.count() == 1
            return list(uids)
    uids = asyncio.run(main())
    lines = gzip.decompress(b"".join(p.read_bytes() for p in tmp_path.glob("cans/*/*.gz")))
    assert lines.count(b"\n") == 1 and fetch_measurement(tmp_path, uids[0]) is not None


def test_submit_measurement_and_discards(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_collector(tmp_path) as app:
            payload = {"format": "json", "content": orjson.dumps(measurement(2)).decode(),
                       "nym": None, "zkp_request": None}
            status, body = await request(app.port, "POST", "/api/v1/submit_measurement", payload)
            assert status == 200 and body["measurement_uid"]
            again = await request(app.port, "POST", "/api/v1/submit_measurement", payload)
            assert again[1]["measurement_uid"] == body["measurement_uid"]
            zz = {"format": "json", "content": orjson.dumps(measurement(3, cc="ZZ")).decode()}
            assert await request(app.port, "POST", "/api/v1/submit_measurement", zz) == (200, {})
            rid0 = "20240101T000000Z_webconnectivity_IT_0_n1_abcdefghijklmnop"
            assert await request(app.port, "POST", f"/report/{rid0}",
                                 {"content": measurement(4, asn=0)}) == (200, {})
            assert app.archive is not None and app.archive.accepted == 1
    asyncio.run(main())


def test_errors_use_one_envelope_and_4xx(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_collector(tmp_path, admin_token="s3cret",
                                     limits=Limits(max_body=4096)) as app:
            content = measurement(1)
            rid = await _open(app.port, content)
            cases = [
                (await request(app.port, "POST", f"/report/{rid}", raw_body=b"{oops"), 400),
                (await request(app.port, "POST", f"/report/{rid}", {"content": content},
                               headers={"Content-Type": "text/plain"}), 415),
                (await request(app.port, "POST", f"/report/{rid}",
                               {"content": {**content, "probe_cc": "FR"}}), 400),
                (await request(app.port, "POST", "/report/not_a_report_id",
                               {"content": content}), 400),
                (await request(app.port, "POST", f"/report/{rid}",
                               raw_body=b"x" * 5000), 413),
                (await request(app.port, "GET", f"/report/{rid}"), 405),
                (await request(app.port, "POST", "/nope", {}), 404),
                (await request(app.port, "POST", "/admin/seal"), 401),
                (await request(app.port, "POST", "/admin/seal",
                               headers={"Authorization": "Bearer wrong"}), 401),
            ]
            for (status, body), expected in cases:
                assert status == expected, body
                assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
                assert body["error"]["code"] == status
            status, body = await request(app.port, "POST", f"/report/{rid}",
                                         {"content": {**content, "probe_cc": "FR"}})
            assert body["error"]["message"] == "Inconsistent measurement"
            status, body = await request(app.port, "POST", "/admin/seal",
                                         headers={"Authorization": "Bearer s3cret"})
            assert status == 200 and body == {"sealed": 0}
            assert app.archive is not None and app.archive.accepted == 0
    asyncio.run(main())


def test_keep_alive_pipelined_requests_and_header_caps(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_collector(tmp_path) as app:
            one = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            last = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            raw = await exchange(app.port, one + one + last)
            assert raw.count(b"HTTP/1.1 200 OK") == 3
            many = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 200 + b"\r\n"
            assert parse_response(await exchange(app.port, many))[0] == 431
            huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + b"b" * 40000 + b"\r\n\r\n"
            assert parse_response(await exchange(app.port, huge))[0] == 431
            chunked = (b"POST /report HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                       b"Content-Type: application/json\r\n\r\n0\r\n\r\n")
            assert parse_response(await exchange(app.port, chunked))[0] == 411
    asyncio.run(main())


def test_slow_client_gets_408(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_collector(tmp_path, limits=Limits(head_timeout=0.3)) as app:
            raw = await exchange(app.port, b"GET / HTTP/1.1\r\nHost: x\r\n", timeout=5)
            assert parse_response(raw)[0] == 408
    asyncio.run(main())


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
def test_compressed_submissions(tmp_path: Path, encoding: str) -> None:
    content = measurement(9)
    data = orjson.dumps({"format": "json", "content": orjson.dumps(content).decode()})
    if encoding == "gzip":
        packed = gzip.compress(data)
    else:
        packed = pytest.importorskip("zstandard").ZstdCompressor().compress(data)

    async def main() -> None:
        async with running_collector(tmp_path) as app:
            status, body = await request(app.port, "POST", "/api/v1/submit_measurement",
                                         raw_body=packed,
                                         headers={"Content-Encoding": encoding})
            assert status == 200, body
            stored = fetch_measurement(tmp_path, body["measurement_uid"])
            assert stored is not None and orjson.loads(stored)["input"] == content["input"]
    asyncio.run(main())
