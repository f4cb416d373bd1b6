"""Report ids and measurement uids follow OONI's formats (censorscope.model.ids)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from censorscope.model.ids import (
    ReportIdError,
    body_digest,
    derived_record_uid,
    derived_report_id,
    new_report_id,
    parse_report_id,
    record_uid,
    submission_uid,
)

START = datetime(2022, 9, 14, 12, 7, 6, 123456, tzinfo=UTC)


# --- report ids ---------------------------------------------------------------------------------


def test_new_report_id_has_the_backend_format_and_parses_back() -> None:
    rid = new_report_id("web_connectivity", "AZ", 29049, START)
    assert re.fullmatch(r"20220914T120706Z_webconnectivity_AZ_29049_n1_[A-Za-z0-9]{16}", rid)
    assert new_report_id("web_connectivity", "AZ", 29049, START) != rid  # random part
    assert new_report_id("dnscheck", "AM", 44395, START, collector_id=3).split("_")[4] == "n3"
    parsed = parse_report_id(rid)
    assert (parsed.cc, parsed.asn, parsed.test_name) == ("AZ", 29049, "webconnectivity")


def test_new_report_id_upper_cases_the_country() -> None:
    # The probe's copy wrote the country as given ("az"), the collector's upper-cased it:
    # OONI's ids carry it upper case.
    assert new_report_id("web_connectivity", "az", 29049, START).split("_")[2] == "AZ"


def test_new_report_id_time_is_utc() -> None:
    baku = START.astimezone(timezone(timedelta(hours=4)))
    assert new_report_id("web_connectivity", "AZ", 1, baku).startswith("20220914T120706Z_")
    naive = datetime(2022, 9, 14, 12, 7, 6)
    assert new_report_id("web_connectivity", "AZ", 1, naive).startswith("20220914T120706Z_")


def test_real_ooni_report_id_parses() -> None:
    parsed = parse_report_id("20220914T120706Z_webconnectivity_AZ_29049_n1_Cu3koLuoPGns9bSD")
    assert parsed.asn == 29049 and parsed.cc == "AZ"
    assert parse_report_id("20220914T120706Z_webconnectivity_az_29049_n1_abc").cc == "AZ"


@pytest.mark.parametrize("bad", [
    "", "x", "20220914T120706Z_webconnectivity_AZ_29049_n1",
    "20220914T120706Z_webconnectivity_AZ_29049_n1_abc_def",
    "2022-09-14_webconnectivity_AZ_29049_n1_abc", "20220914T120706Z_w_AZ_29049_n1_abc",
    "20220914T120706Z_webconnectivity_AZE_29049_n1_abc",
    "20220914T120706Z_webconnectivity_AZ_AS29049_n1_abc",
    "20220914T120706Z_web-connectivity_AZ_29049_n1_abc",
    "20220914T120706Z_webconnectivity_AZ_29049_n1_" + "a" * 300,
])
def test_malformed_report_ids_are_rejected(bad: str) -> None:
    with pytest.raises(ReportIdError):
        parse_report_id(bad)


def test_derived_report_id_is_deterministic_and_valid() -> None:
    a = derived_report_id("web_connectivity", "it", 1, b"x", "2024-05-01 10:00:00")
    assert a == derived_report_id("web_connectivity", "IT", 1, b"x", "2024-05-01 10:00:00")
    assert a != derived_report_id("web_connectivity", "IT", 1, b"y", "2024-05-01 10:00:00")
    assert a.startswith("20240501T100000Z_webconnectivity_IT_1_n1_")
    parse_report_id(a)
    assert derived_report_id("dnscheck", "IT", 1, b"x", "junk").startswith("19700101T000000Z_")


# --- measurement uids ---------------------------------------------------------------------------


def test_submission_uid_is_oonis_backend_formula() -> None:
    body = b'{"probe_cc":"PK"}'
    when = datetime(2023, 7, 6, 18, 38, 40, 201925, tzinfo=UTC)
    uid = submission_uid(when, "pk", "web_connectivity", body_digest(body))
    digest = hashlib.sha512(body).hexdigest()[:16]
    assert uid == f"20230706183840.201925_PK_webconnectivity_{digest}"
    karachi = when.astimezone(timezone(timedelta(hours=5)))
    assert submission_uid(karachi, "PK", "web_connectivity", body_digest(body)) == uid


def _msm(**extra: object) -> dict[str, object]:
    return {"measurement_start_time": "2024-05-01 10:00:00", "probe_cc": "IT",
            "test_name": "web_connectivity", "test_keys": {}, **extra}


def test_derived_record_uid_has_oonis_shape() -> None:
    raw = b'{"the": "line"}'
    uid = derived_record_uid(_msm(), raw)
    assert uid == f"20240501100000.000000_IT_webconnectivity_{hashlib.sha1(raw).hexdigest()[:16]}"
    # The ingest copy kept underscores and the country's case ("..._it_web_connectivity_...");
    # OONI's uids (and the collector's raw_measurement check) have neither.
    assert derived_record_uid(_msm(probe_cc="it"), raw) == uid
    assert re.fullmatch(r"[0-9]{14}\.[0-9]{6}_[A-Z]{2}_[a-z0-9]{2,40}_[0-9a-f]{16}", uid)


def test_derived_record_uid_is_stable_and_hashes_canonical_json_without_bytes() -> None:
    msm = _msm(b=1, a=2)
    uid = derived_record_uid(msm)
    assert uid == derived_record_uid(dict(reversed(list(msm.items()))))  # key order: same
    canonical = orjson.dumps(msm, option=orjson.OPT_SORT_KEYS)
    assert uid == derived_record_uid(msm, canonical)
    assert uid != derived_record_uid(msm, orjson.dumps(msm))  # other bytes, other uid


def test_derived_record_uid_defaults() -> None:
    uid = derived_record_uid({"test_keys": {}}, b"x")
    assert uid.startswith("00000000000000.000000_ZZ_unknown_")
    assert derived_record_uid(_msm(measurement_start_time="2024-05-01"), b"x").startswith(
        "00000000000000.000000_")


def test_record_uid_prefers_the_measurements_own() -> None:
    own = "20230706183840.201925_PK_webconnectivity_19f5e0d803cbaea7"
    assert record_uid(_msm(measurement_uid=own), b"x") == own
    assert record_uid(_msm(measurement_uid=""), b"x") == derived_record_uid(_msm(), b"x")
    assert record_uid(_msm(), b"x") == derived_record_uid(_msm(), b"x")


def test_the_two_uids_are_told_apart_by_the_fraction() -> None:
    received = datetime(2024, 5, 1, 10, 0, 0, 1, tzinfo=UTC)
    assert submission_uid(received, "IT", "web_connectivity", "0" * 128).split("_")[0] == \
        "20240501100000.000001"
    assert derived_record_uid(_msm(), b"x").split("_")[0] == "20240501100000.000000"
