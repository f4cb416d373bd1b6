"""measurement_uid for measurements that do not carry one.

OONI's collector computes ``{receive time %Y%m%d%H%M%S.%f}_{cc}_{test_name}_{sha512(body)[:16]}``;
a file on disk has no receive time, so censorscope derives a *stable* uid of the same shape:

``{measurement_start_time %Y%m%d%H%M%S}.000000_{CC}_{test_name}_{hash16}``

``hash16`` is the first 16 hex digits of the SHA-1 of the record's bytes as stored (the JSONL
line, the ``.post`` body, the JSON file), like OONI's hash of the POST body; a measurement with
no bytes of its own (an item of a JSON list) is hashed in canonical form (orjson, sorted keys).
So the same file ingested twice gives the same uids (idempotent) and uids sort by time. The
same measurement re-serialised differently gets another uid: files that carry OONI's own
``measurement_uid`` (the bucket's JSONL does) are deduplicated by that instead. A missing start
time gives ``00000000000000``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

__all__ = ["derive_uid", "measurement_uid"]


def derive_uid(msm: dict[str, Any], raw: bytes | None = None) -> str:
    """The derived uid of ``msm`` whose stored bytes are ``raw`` (None: canonical JSON)."""
    if raw is None:
        raw = orjson.dumps(msm, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    digest = hashlib.sha1(raw).hexdigest()[:16]
    start = msm.get("measurement_start_time")
    stamp = "00000000000000"
    if isinstance(start, str) and len(start) >= 19:
        digits = "".join(ch for ch in start[:19] if ch.isdigit())
        if len(digits) == 14:
            stamp = digits
    cc = msm.get("probe_cc") if isinstance(msm.get("probe_cc"), str) else "ZZ"
    test_name = str(msm.get("test_name") or "unknown")
    return f"{stamp}.000000_{cc}_{test_name}_{digest}"


def measurement_uid(msm: dict[str, Any], raw: bytes | None = None) -> str:
    """The measurement's own ``measurement_uid`` if it has one, else ``derive_uid``."""
    uid = msm.get("measurement_uid")
    if isinstance(uid, str) and uid:
        return uid
    return derive_uid(msm, raw)
