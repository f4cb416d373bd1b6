"""Receive-time validation of submissions, as OONI's ``receive_measurement`` does it.

Every function raises :class:`CollectorError` (a 4xx) for bad input and never anything else
for any byte string: content type, ``Content-Encoding`` (gzip, zstd) with a cap on the
decompressed size, JSON well-formedness, the report id's shape, a known test name, and the
report id's CC/ASN/test name against the measurement's own metadata ("Inconsistent
measurement"). ASN 0 or CC ``ZZ`` gives ``None``: OONI silently discards those (HTTP 200 ``{}``).
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass
from typing import Any

import orjson

from censorscope.collector.errors import CollectorError
from censorscope.collector.testnames import canonical_test_name
from censorscope.model.ids import ReportIdError, derived_report_id, parse_report_id

try:  # optional: OONI probes may send zstd bodies
    import zstandard
except ImportError:  # pragma: no cover - depends on the installation
    zstandard = None  # type: ignore[assignment]

__all__ = [
    "OpenReport",
    "Submission",
    "decode_body",
    "parse_json_object",
    "require_json",
    "validate_open_report",
    "validate_report_submission",
    "validate_submit_measurement",
]

_CC = re.compile(r"^[A-Z]{2}$")
_PROBE_ASN = re.compile(r"^AS(\d{1,10})$")


@dataclass(frozen=True)
class Submission:
    """A measurement accepted for storage: its serialized ``body`` is what is archived."""

    body: bytes
    cc: str
    asn: int
    test_name: str
    report_id: str


@dataclass(frozen=True)
class OpenReport:
    """The metadata of ``POST /report``."""

    test_name: str
    cc: str
    asn: int


def _bad(message: str, code: str = "incorrect_format") -> CollectorError:
    return CollectorError(400, code, message)


def require_json(content_type: str | None) -> None:
    """415 unless the media type is ``application/json`` (parameters such as charset allowed)."""

    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise CollectorError(
            415, "unsupported_media_type", "Content-Type must be application/json"
        )


def decode_body(raw: bytes, content_encoding: str | None, max_size: int) -> bytes:
    """The body after ``Content-Encoding`` (identity, gzip, zstd), at most ``max_size`` bytes."""

    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return raw
    too_big = CollectorError(413, "payload_too_large", f"decoded body exceeds {max_size} bytes")
    if encoding in ("gzip", "x-gzip"):
        try:
            inflater = zlib.decompressobj(wbits=31)
            out = inflater.decompress(raw, max_size + 1)
            if len(out) > max_size or inflater.unconsumed_tail:
                raise too_big
            if not inflater.eof:
                raise _bad("truncated gzip body", "bad_encoding")
            return out
        except zlib.error as exc:
            raise _bad(f"invalid gzip body: {exc}", "bad_encoding") from None
    if encoding == "zstd":
        if zstandard is None:
            raise CollectorError(415, "unsupported_encoding", "zstd is not supported here")
        try:
            reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw))
            with reader:
                out = reader.read(max_size + 1)
        except zstandard.ZstdError as exc:
            raise _bad(f"invalid zstd body: {exc}", "bad_encoding") from None
        if len(out) > max_size:
            raise too_big
        return out
    raise CollectorError(415, "unsupported_encoding", f"unsupported Content-Encoding {encoding!r}")


def parse_json_object(data: bytes) -> dict[str, Any]:
    """The JSON object in ``data``; 400 ``invalid_json`` otherwise."""

    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _bad(f"malformed JSON: {exc}", "invalid_json") from None
    if not isinstance(value, dict):
        raise _bad("the JSON body must be an object", "invalid_json")
    return value


def _cc(value: Any) -> str:
    if not isinstance(value, str) or not _CC.match(value.upper()) or len(value) != 2:
        raise _bad("probe_cc must be a 2-letter country code")
    return value.upper()


def _asn(value: Any) -> int:
    match = _PROBE_ASN.match(value) if isinstance(value, str) else None
    if match is None:
        raise _bad("probe_asn must look like 'AS1234'")
    return int(match.group(1))


def _test_name(value: Any) -> str:
    if not isinstance(value, str) or not 2 <= len(value) <= 40:
        raise _bad("test_name must be a string")
    name = canonical_test_name(value)
    if name is None:
        raise _bad(f"unknown test name {value[:40]!r}", "unknown_test_name")
    return name


def _stored_body(content: dict[str, Any]) -> bytes:
    """The bytes archived: the content without any client-supplied ``measurement_uid`` (the
    collector assigns it, and the archive adds it back in front of each can line)."""

    if "measurement_uid" in content:
        content = {k: v for k, v in content.items() if k != "measurement_uid"}
    return orjson.dumps(content)


def validate_open_report(payload: dict[str, Any]) -> OpenReport:
    """Check the body of ``POST /report``."""

    fmt = payload.get("format", "json")
    if fmt != "json":
        raise _bad("only the 'json' format is supported", "unsupported_format")
    return OpenReport(
        test_name=_test_name(payload.get("test_name")),
        cc=_cc(payload.get("probe_cc")),
        asn=_asn(payload.get("probe_asn")),
    )


def _content_metadata(content: dict[str, Any]) -> tuple[str, int, str]:
    return _cc(content.get("probe_cc")), _asn(content.get("probe_asn")), _test_name(
        content.get("test_name")
    )


def validate_report_submission(report_id: str, payload: dict[str, Any]) -> Submission | None:
    """Check ``POST /report/{report_id}`` (``{"format": "json", "content": {…}}``)."""

    try:
        rid = parse_report_id(report_id)
    except ReportIdError as exc:
        raise _bad(str(exc), "bad_report_id") from None
    if rid.asn == 0 or rid.cc == "ZZ":
        return None
    if payload.get("format", "json") != "json":
        raise _bad("only the 'json' format is supported", "unsupported_format")
    content = payload.get("content")
    if not isinstance(content, dict):
        raise _bad("'content' must be the measurement object")
    cc, asn, test_name = _content_metadata(content)
    if rid.cc != cc or rid.asn != asn or rid.test_name.lower() != test_name.replace("_", ""):
        raise _bad("Inconsistent measurement", "inconsistent_measurement")
    return Submission(_stored_body(content), cc, asn, test_name, report_id)


def validate_submit_measurement(payload: dict[str, Any]) -> Submission | None:
    """Check ``POST /api/v1/submit_measurement`` (``content`` a JSON string or an object)."""

    if payload.get("format", "json") != "json":
        raise _bad("only the 'json' format is supported", "unsupported_format")
    content = payload.get("content")
    if isinstance(content, str):
        content = parse_json_object(content.encode("utf-8", "surrogatepass"))
    if not isinstance(content, dict):
        raise _bad("'content' must be the measurement (a JSON string or object)")
    if content.get("probe_cc") == "ZZ" or content.get("probe_asn") == "AS0":
        return None
    cc, asn, test_name = _content_metadata(content)
    report_id = content.get("report_id")
    if isinstance(report_id, str) and report_id:
        try:
            rid = parse_report_id(report_id)
        except ReportIdError as exc:
            raise _bad(str(exc), "bad_report_id") from None
        if rid.cc != cc or rid.asn != asn or rid.test_name.lower() != test_name.replace("_", ""):
            raise _bad("Inconsistent measurement", "inconsistent_measurement")
    else:
        start = content.get("test_start_time") or content.get("measurement_start_time")
        report_id = derived_report_id(test_name, cc, asn, _stored_body(content), start)
        content = {**content, "report_id": report_id}
    return Submission(_stored_body(content), cc, asn, test_name, report_id)
