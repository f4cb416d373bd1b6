"""The spool's record framing: a fixed header, JSON metadata, then the raw measurement body.

``b"CSR1" | meta_len u32 | body_len u32 | crc32(meta + body) u32 | meta | body``. A record is
valid only if it is complete and its CRC matches, so a torn write at a crash is detected and
cut off on recovery instead of being read as a measurement.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

__all__ = ["HEADER", "MAGIC", "SpoolRecord", "decode_records", "encode_record"]

MAGIC = b"CSR1"
HEADER = struct.Struct(">4sIII")
MAX_PART = 1 << 30


@dataclass(frozen=True)
class SpoolRecord:
    """One received measurement: who, what, when, and the exact bytes archived."""

    uid: str
    digest: str
    cc: str
    asn: int
    test_name: str
    report_id: str
    received: str  # ISO 8601 UTC, microseconds
    body: bytes

    def meta(self) -> dict[str, object]:
        return {
            "uid": self.uid, "digest": self.digest, "cc": self.cc, "asn": self.asn,
            "test_name": self.test_name, "report_id": self.report_id, "received": self.received,
        }


def encode_record(record: SpoolRecord) -> bytes:
    """The framed bytes of ``record``."""

    meta = orjson.dumps(record.meta())
    crc = zlib.crc32(record.body, zlib.crc32(meta))
    return HEADER.pack(MAGIC, len(meta), len(record.body), crc) + meta + record.body


def decode_records(data: bytes, start: int = 0) -> Iterator[tuple[int, int, SpoolRecord]]:
    """``(offset, end, record)`` for each valid record from ``start``; stops at the first
    torn or corrupt one (its offset is where the valid spool ends)."""

    pos = start
    size = len(data)
    while pos + HEADER.size <= size:
        magic, meta_len, body_len, crc = HEADER.unpack_from(data, pos)
        if magic != MAGIC or meta_len > MAX_PART or body_len > MAX_PART:
            return
        end = pos + HEADER.size + meta_len + body_len
        if end > size:
            return
        meta_bytes = data[pos + HEADER.size : pos + HEADER.size + meta_len]
        body = data[pos + HEADER.size + meta_len : end]
        if zlib.crc32(body, zlib.crc32(meta_bytes)) != crc:
            return
        try:
            meta = orjson.loads(meta_bytes)
            record = SpoolRecord(
                uid=meta["uid"], digest=meta["digest"], cc=meta["cc"], asn=int(meta["asn"]),
                test_name=meta["test_name"], report_id=meta["report_id"],
                received=meta["received"], body=bytes(body),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return
        yield pos, end, record
        pos = end
