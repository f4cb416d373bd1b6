"""Receive-time validation: every bad input is a 4xx CollectorError, never anything else."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import orjson
import pytest

from censorscope.collector.errors import CollectorError
from censorscope.collector.validation import (
    decode_body,
    parse_json_object,
    require_json,
    validate_report_submission,
    validate_submit_measurement,
)
from censorscope.model.ids import new_report_id
from tests.collector.helpers import measurement

RID = new_report_id("web_connectivity", "IT", 30722, datetime.now(UTC))


def _status(fn, *args):  # type: ignore[no-untyped-def]
    with pytest.raises(CollectorError) as info:
        fn(*args)
    return info.value.status, info.value.code


def test_consistent_submission_is_accepted_and_body_is_the_content() -> None:
    content = measurement(1)
    sub = validate_report_submission(RID, {"format": "json", "content": content})
    assert sub is not None
    assert (sub.cc, sub.asn, sub.test_name) == ("IT", 30722, "web_connectivity")
    assert orjson.loads(sub.body) == content


@pytest.mark.parametrize("field,value", [
    ("probe_cc", "DE"), ("probe_asn", "AS1"), ("test_name", "telegram"),
])
def test_report_id_mismatch_is_inconsistent(field: str, value: str) -> None:
    content = {**measurement(1), field: value}
    status, code = _status(validate_report_submission, RID, {"content": content})
    assert (status, code) == (400, "inconsistent_measurement")


def test_client_supplied_uid_is_dropped() -> None:
    sub = validate_report_submission(RID, {"content": {**measurement(1), "measurement_uid": "x"}})
    assert sub is not None and "measurement_uid" not in orjson.loads(sub.body)


def test_unknown_test_name_and_bad_metadata() -> None:
    rid = "20240101T000000Z_nosuchtest_IT_30722_n1_abcdefghijklmnop"
    assert _status(validate_report_submission, rid,
                   {"content": measurement(1, test_name="nosuch_test")}) == (
        400, "unknown_test_name")
    assert _status(validate_report_submission, RID,
                   {"content": {**measurement(1), "probe_asn": 30722}})[0] == 400
    assert _status(validate_report_submission, RID, {"content": "nope"})[0] == 400
    assert _status(validate_report_submission, "bad_id", {"content": measurement(1)}) == (
        400, "bad_report_id")


def test_asn_zero_or_zz_is_discarded() -> None:
    rid = new_report_id("web_connectivity", "ZZ", 0, datetime.now(UTC))
    assert validate_report_submission(rid, {"content": measurement(1, cc="ZZ", asn=0)}) is None
    payload = {"content": orjson.dumps(measurement(1, asn=0)).decode()}
    assert validate_submit_measurement(payload) is None


def test_submit_measurement_content_string_gets_a_stable_report_id() -> None:
    payload = {"format": "json", "content": orjson.dumps(measurement(7)).decode()}
    first = validate_submit_measurement(payload)
    second = validate_submit_measurement(payload)
    assert first is not None and second is not None
    assert first.body == second.body  # same content → same stored bytes → duplicate detected
    assert orjson.loads(first.body)["report_id"] == first.report_id
    assert _status(validate_submit_measurement, {"content": "{not json"}) [0] == 400


def test_content_type_encoding_and_json() -> None:
    require_json("application/json; charset=utf-8")
    assert _status(require_json, "text/plain")[0] == 415
    assert _status(require_json, None)[0] == 415
    assert decode_body(gzip.compress(b'{"a":1}'), "gzip", 100) == b'{"a":1}'
    assert _status(decode_body, gzip.compress(b"x" * 1000), "gzip", 100)[0] == 413
    assert _status(decode_body, b"not gzip", "gzip", 100)[0] == 400
    assert _status(decode_body, b"x", "br", 100)[0] == 415
    assert _status(parse_json_object, b"[1, 2]")[0] == 400
    assert _status(parse_json_object, b"\xff\xfe")[0] == 400


def test_zstd_bodies() -> None:
    zstandard = pytest.importorskip("zstandard")
    data = orjson.dumps(measurement(3))
    assert decode_body(zstandard.ZstdCompressor().compress(data), "zstd", 1 << 20) == data
    bomb = zstandard.ZstdCompressor().compress(b"\0" * (1 << 20))
    assert _status(decode_body, bomb, "zstd", 4096)[0] == 413
