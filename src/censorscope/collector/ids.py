"""OONI identifiers: report ids (generated and parsed) and server-side measurement uids.

``report_id = {UTC %Y%m%dT%H%M%SZ}_{test_name without '_'}_{CC}_{ASN int}_n{collector}_{rand}``
(``rand`` = base64 of 12 random bytes with ``oo`` as the altchars, 16 characters) and
``measurement_uid = {recv UTC %Y%m%d%H%M%S.%f}_{CC}_{test_name without '_'}_{sha512(body)[:16]}``,
as OONI's ``ooniprobe`` service makes them (ooni-backend.md §0, ooni-probe.md §3.9).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "ReportId",
    "ReportIdError",
    "body_digest",
    "derived_report_id",
    "generate_report_id",
    "measurement_uid",
    "parse_report_id",
    "uid_from_digest",
]

_TS = re.compile(r"^\d{8}T\d{6}Z$")
_TEST = re.compile(r"^[A-Za-z0-9]{2,29}$")
_CC = re.compile(r"^[A-Za-z]{2}$")
_ASN = re.compile(r"^\d{1,10}$")
_COLLECTOR = re.compile(r"^n?[A-Za-z0-9]{1,16}$")
_RAND = re.compile(r"^[A-Za-z0-9+/=]{1,64}$")


class ReportIdError(ValueError):
    """The report id does not have OONI's shape."""


@dataclass(frozen=True)
class ReportId:
    """The parts of a report id that the collector checks against the measurement."""

    value: str
    timestamp: str
    test_name: str  # without underscores, as in the id
    cc: str
    asn: int


def generate_report_id(
    test_name: str, cc: str, asn: int, *, collector_id: int = 1, now: datetime | None = None
) -> str:
    """A fresh report id for ``test_name`` run in ``cc``/``asn``."""

    when = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    rand = base64.b64encode(os.urandom(12), altchars=b"oo").decode("ascii")
    return f"{when}_{test_name.replace('_', '')}_{cc.upper()}_{int(asn)}_n{collector_id}_{rand}"


def derived_report_id(
    test_name: str, cc: str, asn: int, content: bytes, start_time: object, collector_id: int = 1
) -> str:
    """A report id derived from the measurement itself (for ``submit_measurement`` without one).

    Deterministic, so a probe re-sending the same measurement (its first answer was lost) gets
    the same stored body and hence is recognised as a duplicate. The time part is the
    measurement's ``test_start_time`` (``YYYY-mm-dd HH:MM:SS``), or the epoch if unusable.
    """

    when = "19700101T000000Z"
    if isinstance(start_time, str):
        try:
            when = datetime.strptime(start_time, "%Y-%m-%d %H:%M:%S").strftime("%Y%m%dT%H%M%SZ")
        except ValueError:
            pass
    rand = base64.b64encode(hashlib.sha512(content).digest()[:12], altchars=b"oo").decode()
    return f"{when}_{test_name.replace('_', '')}_{cc.upper()}_{int(asn)}_n{collector_id}_{rand}"


def parse_report_id(value: str) -> ReportId:
    """Split a report id into its six parts; :class:`ReportIdError` if it is malformed."""

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
    """The hex SHA-512 of a stored measurement body (the uid carries its first 16 digits)."""

    return hashlib.sha512(body).hexdigest()


def uid_from_digest(received: datetime, cc: str, test_name: str, digest: str) -> str:
    """The measurement uid of a body whose SHA-512 hex digest is ``digest``."""

    stamp = received.astimezone(UTC).strftime("%Y%m%d%H%M%S.%f")
    return f"{stamp}_{cc.upper()}_{test_name.replace('_', '')}_{digest[:16]}"


def measurement_uid(received: datetime, cc: str, test_name: str, body: bytes) -> str:
    """OONI's measurement uid: receive time, country, test name and a hash of the body."""

    return uid_from_digest(received, cc, test_name, body_digest(body))
