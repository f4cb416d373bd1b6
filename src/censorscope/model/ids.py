"""OONI identifiers: report ids and measurement uids, each with one format.

Report id (OONI's ``ooniprobe`` service, ooni-probe.md §3.9)::

    {UTC %Y%m%dT%H%M%SZ}_{test_name without '_'}_{CC upper case}_{ASN int}_n{collector}_{rand}
    20220914T120706Z_webconnectivity_AZ_29049_n1_Cu3koLuoPGns9bSD

``rand`` is 12 bytes in base64 with ``oo`` as the altchars (16 characters): random for
``new_report_id``, the start of the body's SHA-512 for ``derived_report_id``.

Measurement uids come from two places, so there are two functions with two names:

* ``submission_uid`` — the uid a collector gives a measurement it receives (OONI's backend)::

      {receive UTC %Y%m%d%H%M%S.%f}_{CC upper case}_{test_name without '_'}_{sha512(body)[:16]}
      20230706183840.201925_PK_webconnectivity_19f5e0d803cbaea7

* ``derived_record_uid`` — a *stable* uid for a measurement read from a file that carries none
  (ingest). A file has no receive time, so the start time stands in for it, with a zero
  fraction (no receive time has exactly ``.000000`` in practice, so derived uids are
  recognisable); the rest as above, but the hash is SHA-1 of ``bytes``::

      {measurement_start_time %Y%m%d%H%M%S}.000000_{CC}_{test_name without '_'}_{sha1[:16]}
      20240501100000.000000_IT_webconnectivity_5f1c0a0f2e3d4b6a

  ``bytes`` are the record's bytes as stored (the JSONL line, the ``.post`` body, the JSON
  file), or, for a measurement with no bytes of its own (an item of a JSON list), its
  canonical JSON (orjson, sorted keys). SHA-1, not SHA-512: it is only a fingerprint, and it is
  the cheaper one on the ingest path. The same file ingested twice gives the same uids
  (idempotent) and uids sort by time; the same measurement re-serialised differently gets
  another uid. A missing start time gives ``00000000000000``, a missing country ``ZZ``, a
  missing test name ``unknown``. ``record_uid`` prefers the measurement's own
  ``measurement_uid`` (OONI's bucket JSONL carries it).

Pure functions, no I/O (the report id's random part reads ``os.urandom``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson

from censorscope.model.measurement import as_utc

__all__ = [
    "ReportId",
    "ReportIdError",
    "body_digest",
    "derived_record_uid",
    "derived_report_id",
    "new_report_id",
    "parse_report_id",
    "record_uid",
    "submission_uid",
]

_TS: Final = re.compile(r"^\d{8}T\d{6}Z$")
_TEST: Final = re.compile(r"^[A-Za-z0-9]{2,29}$")
_CC: Final = re.compile(r"^[A-Za-z]{2}$")
_ASN: Final = re.compile(r"^\d{1,10}$")
_COLLECTOR: Final = re.compile(r"^n?[A-Za-z0-9]{1,16}$")
_RAND: Final = re.compile(r"^[A-Za-z0-9+/=]{1,64}$")
_EPOCH_STAMP: Final = "19700101T000000Z"


class ReportIdError(ValueError):
    """The report id does not have OONI's shape."""


@dataclass(frozen=True)
class ReportId:
    """The parts of a report id that the collector checks against the measurement."""

    value: str
    timestamp: str
    test_name: str  # without underscores, as in the id
    cc: str  # upper case
    asn: int


def _test_part(test_name: str) -> str:
    return test_name.replace("_", "")


def _report_id(stamp: str, test_name: str, cc: str, asn: int, collector_id: int,
               rand: bytes) -> str:
    suffix = base64.b64encode(rand, altchars=b"oo").decode("ascii")
    return f"{stamp}_{_test_part(test_name)}_{cc.upper()}_{int(asn)}_n{collector_id}_{suffix}"


def new_report_id(
    test_name: str, cc: str, asn: int, now: datetime, collector_id: int = 1
) -> str:
    """A fresh report id for ``test_name`` run in ``cc``/``asn`` at ``now`` (random suffix)."""

    stamp = as_utc(now).strftime("%Y%m%dT%H%M%SZ")
    return _report_id(stamp, test_name, cc, asn, collector_id, os.urandom(12))


def derived_report_id(
    test_name: str, cc: str, asn: int, content: bytes, start_time: object, collector_id: int = 1
) -> str:
    """A report id derived from the measurement itself (for ``submit_measurement`` without one).

    Deterministic, so a probe re-sending the same measurement (its first answer was lost) gets
    the same stored body and hence is recognised as a duplicate. The time part is the
    measurement's ``test_start_time`` (``YYYY-mm-dd HH:MM:SS``), or the epoch if unusable.
    """

    stamp = _EPOCH_STAMP
    if isinstance(start_time, str):
        try:
            stamp = datetime.strptime(start_time, "%Y-%m-%d %H:%M:%S").strftime("%Y%m%dT%H%M%SZ")
        except ValueError:
            pass
    rand = hashlib.sha512(content).digest()[:12]
    return _report_id(stamp, test_name, cc, asn, collector_id, rand)


def parse_report_id(value: str) -> ReportId:
    """Split a report id into its six parts; :class:`ReportIdError` if it is malformed.

    A lower-case country code is accepted (and upper-cased in the result).
    """

    if len(value) > 200:
        raise ReportIdError("report_id is too long")
    parts = value.split("_")
    if len(parts) != 6:
        raise ReportIdError("report_id must have 6 '_'-separated parts")
    ts, test, cc, asn, collector, rand = parts
    if not _TS.match(ts):
        raise ReportIdError("report_id timestamp must be YYYYmmddTHHMMSSZ")
    if not _TEST.match(test):
        raise ReportIdError("report_id test name must be 2-29 alphanumeric characters")
    if not _CC.match(cc):
        raise ReportIdError("report_id country code must be 2 letters")
    if not _ASN.match(asn):
        raise ReportIdError("report_id ASN must be an integer")
    if not _COLLECTOR.match(collector) or not _RAND.match(rand):
        raise ReportIdError("report_id collector or random part is malformed")
    return ReportId(value=value, timestamp=ts, test_name=test, cc=cc.upper(), asn=int(asn))


def body_digest(body: bytes) -> str:
    """The hex SHA-512 of a stored measurement body (``submission_uid`` takes its first 16)."""

    return hashlib.sha512(body).hexdigest()


def submission_uid(received: datetime, cc: str, test_name: str, digest: str) -> str:
    """The uid a collector assigns to a measurement received at ``received`` whose stored
    body has the SHA-512 hex digest ``digest`` (``body_digest``). OONI's backend format."""

    stamp = as_utc(received).strftime("%Y%m%d%H%M%S.%f")
    return f"{stamp}_{cc.upper()}_{_test_part(test_name)}_{digest[:16]}"


def derived_record_uid(msm: dict[str, Any], raw: bytes | None = None) -> str:
    """The stable uid of a file record ``msm`` whose stored bytes are ``raw`` (None: hash
    its canonical JSON). See the module docstring for the format."""

    if raw is None:
        raw = orjson.dumps(msm, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    digest = hashlib.sha1(raw).hexdigest()[:16]
    start = msm.get("measurement_start_time")
    stamp = "00000000000000"
    if isinstance(start, str) and len(start) >= 19:
        digits = "".join(ch for ch in start[:19] if ch.isdigit())
        if len(digits) == 14 and digits.isascii():
            stamp = digits
    cc = msm.get("probe_cc")
    cc = cc.upper() if isinstance(cc, str) and cc else "ZZ"
    test_name = _test_part(str(msm.get("test_name") or "unknown")) or "unknown"
    return f"{stamp}.000000_{cc}_{test_name}_{digest}"


def record_uid(msm: dict[str, Any], raw: bytes | None = None) -> str:
    """The uid of a file record: its own ``measurement_uid`` if it has one (a non-empty
    string), else ``derived_record_uid(msm, raw)``."""

    uid = msm.get("measurement_uid")
    if isinstance(uid, str) and uid:
        return uid
    return derived_record_uid(msm, raw)
