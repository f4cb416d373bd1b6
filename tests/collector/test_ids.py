"""Report ids and measurement uids follow OONI's formats."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest

from censorscope.collector.ids import (
    ReportIdError,
    derived_report_id,
    generate_report_id,
    measurement_uid,
    parse_report_id,
)


def test_generated_report_id_has_oonis_shape_and_parses_back() -> None:
    now = datetime(2022, 9, 14, 12, 7, 6, tzinfo=UTC)
    rid = generate_report_id("web_connectivity", "az", 29049, now=now)
    assert re.fullmatch(r"20220914T120706Z_webconnectivity_AZ_29049_n1_[A-Za-z0-9+/=]{16}", rid)
    assert generate_report_id("web_connectivity", "AZ", 29049, now=now) != rid  # random part
    parsed = parse_report_id(rid)
    assert (parsed.cc, parsed.asn, parsed.test_name) == ("AZ", 29049, "webconnectivity")


def test_real_ooni_report_id_parses() -> None:
    parsed = parse_report_id("20220914T120706Z_webconnectivity_AZ_29049_n1_Cu3koLuoPGns9bSD")
    assert parsed.asn == 29049 and parsed.cc == "AZ"


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


def test_measurement_uid_formula() -> None:
    body = b'{"probe_cc":"PK"}'
    when = datetime(2023, 7, 6, 18, 38, 40, 201925, tzinfo=UTC)
    uid = measurement_uid(when, "pk", "web_connectivity", body)
    digest = hashlib.sha512(body).hexdigest()[:16]
    assert uid == f"20230706183840.201925_PK_webconnectivity_{digest}"


def test_derived_report_id_is_deterministic_and_valid() -> None:
    a = derived_report_id("web_connectivity", "IT", 1, b"x", "2024-05-01 10:00:00")
    assert a == derived_report_id("web_connectivity", "IT", 1, b"x", "2024-05-01 10:00:00")
    assert a != derived_report_id("web_connectivity", "IT", 1, b"y", "2024-05-01 10:00:00")
    assert a.startswith("20240501T100000Z_webconnectivity_IT_1_n1_")
    parse_report_id(a)
