"""``GET /health``: the spool's last write (503 with the reason at once after a failed write,
ok again after a good one), its disk, the feeder's lag; a failed stop is reported, not raised."""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path
from typing import Any

import pytest

from censorscope.archive.records import SpoolRecord
from censorscope.archive.spool import SpoolWriter
from tests.collector.helpers import measurement, request, running_collector

RID = "20240501T100000Z_webconnectivity_IT_30722_n1_abcdefghijklmnop"


class _ListSink:
    def __init__(self) -> None:
        self.records: list[SpoolRecord] = []

    def write(self, records: list[SpoolRecord]) -> None:
        self.records.extend(records)

    def close(self) -> None:
        pass


async def _submit(port: int, i: int) -> tuple[int, Any]:
    return await request(port, "POST", f"/report/{RID}",
                         {"format": "json", "content": measurement(i, report_id=RID)})


def test_health_follows_the_spools_last_write(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    real_append = SpoolWriter.append
    failing = {"on": False}

    def append(self: SpoolWriter, frames: list[bytes]) -> Any:
        if failing["on"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_append(self, frames)

    monkeypatch.setattr(SpoolWriter, "append", append)

    async def main() -> list[tuple[int, Any]]:
        sink = _ListSink()
        async with running_collector(tmp_path / "archive", sink=sink, seal_interval=0) as app:
            out = [await request(app.port, "GET", "/health"), await _submit(app.port, 1)]
            failing["on"] = True
            out.append(await _submit(app.port, 2))
            out.append(await request(app.port, "GET", "/health"))
            failing["on"] = False
            out.append(await _submit(app.port, 3))
            for _ in range(100):  # the feeder catches up (bounded)
                status, body = await request(app.port, "GET", "/health")
                if body["feeder"]["lag_bytes"] == 0:
                    break
                await asyncio.sleep(0.02)
            out.append((status, body))
            return out

    (h0, ok0), (s1, _), (s2, refused), (h1, bad), (s3, _), (h2, ok2) = asyncio.run(main())
    assert h0 == 200 and ok0["status"] == "ok" and ok0["spool"]["last_write"] == "ok"
    assert ok0["spool"]["read_only"] is False and ok0["spool"]["free_bytes"] > 0
    assert ok0["feeder"] == {"lag_bytes": 0, "lag_seconds": 0.0, "error": None, "fed": 0}
    assert s1 == 200 and s2 == 503 and refused["error"]["code"] == 503
    assert h1 == 503 and bad["status"] == "failing"
    assert bad["error"] == {"code": 503, "message": "spool write failed: ENOSPC: No space left "
                            "on device"}
    assert bad["spool"]["last_write"] == "failed" and bad["spool"]["failures"] == 1
    assert s3 == 200 and h2 == 200 and ok2["spool"]["last_write"] == "ok"
    assert ok2["feeder"]["fed"] == 2 and ok2["feeder"]["lag_bytes"] == 0


def test_stop_after_an_io_error_is_reported_not_raised(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import censorscope.archive.live as live

    def broken_seal(archive: Path, segments: list[int]) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(live, "seal_segments", broken_seal)

    async def main() -> list[str]:
        async with running_collector(tmp_path / "archive", seal_interval=0) as app:
            status, _ = await _submit(app.port, 1)
            assert status == 200
        return app.stop_errors

    errors = asyncio.run(main())
    assert len(errors) == 1 and "sealing at stop failed: OSError" in errors[0]


@pytest.mark.parametrize(("flag", "free_blocks", "problem"), [
    (os.ST_RDONLY, 10_000, "the spool's file system is read-only"),
    (0, 10, "the spool's disk is full (40960 bytes free)"),
])
def test_health_reports_a_read_only_or_full_disk_before_any_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: int, free_blocks: int, problem: str,
) -> None:
    """No submission needed: /health examines the spool's disk on every request."""

    async def main() -> list[tuple[int, Any]]:
        async with running_collector(tmp_path / "archive", seal_interval=0) as app:
            out = [await request(app.port, "GET", "/health")]
            real = os.statvfs
            fake = os.statvfs_result((4096, 4096, 1 << 20, free_blocks, free_blocks, 100, 50,
                                      50, flag, 255))
            monkeypatch.setattr(os, "statvfs", lambda path: fake)
            out.append(await request(app.port, "GET", "/health"))
            monkeypatch.setattr(os, "statvfs", real)
            out.append(await request(app.port, "GET", "/health"))
            return out

    (h0, _), (h1, bad), (h2, _) = asyncio.run(main())
    assert (h0, h1, h2) == (200, 503, 200)
    assert bad["status"] == "failing" and bad["problems"] == [problem]
    assert bad["error"] == {"code": 503, "message": problem}
