"""The df-000 envelope and IP scrubbing (censorscope.model.measurement)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from censorscope.model.measurement import (
    format_time,
    make_measurement,
    scrub_ip,
)

START = datetime(2022, 9, 14, 12, 7, 6, 123456, tzinfo=UTC)


def test_format_time_is_utc_without_fraction() -> None:
    assert format_time(START) == "2022-09-14 12:07:06"
    baku = timezone(timedelta(hours=4))
    assert format_time(START.astimezone(baku)) == "2022-09-14 12:07:06"


def _measurement() -> dict[str, object]:
    return make_measurement(
        test_name="web_connectivity",
        test_version="0.5.28",
        input="https://www.tiktok.com/",
        test_keys={"queries": [], "client_resolver": "10.20.30.40"},
        probe_asn="AS29049",
        probe_cc="AZ",
        probe_network_name="Delta Telecom Ltd",
        resolver_asn="AS29049",
        resolver_ip="10.20.30.40",
        resolver_network_name="Delta Telecom Ltd",
        report_id="20220914T120706Z_webconnectivity_AZ_29049_n1_Cu3koLuoPGns9bSD",
        software_name="censorscope",
        software_version="0.1.0",
        measurement_start_time=START,
        test_start_time=START - timedelta(seconds=30),
        test_runtime=1.25,
        test_helpers={"backend": {"address": "https://th.example", "type": "https"}},
        annotations={"platform": "linux"},
    )


def test_envelope_fields() -> None:
    m = _measurement()
    assert m["data_format_version"] == "0.2.0"
    assert m["probe_ip"] == "127.0.0.1"
    assert m["measurement_start_time"] == "2022-09-14 12:07:06"
    assert m["test_start_time"] == "2022-09-14 12:06:36"
    assert m["extensions"] == {
        "dnst": 0, "httpt": 0, "netevents": 0, "tcpconnect": 0, "tlshandshake": 0
    }
    assert m["input_hashes"] == [] and m["options"] == []
    assert uuid.UUID(str(m["id"])).version == 4
    assert m["input"] == "https://www.tiktok.com/" and m["test_runtime"] == 1.25
    assert m["annotations"] == {"platform": "linux"}


def test_scrub_ip_replaces_the_probe_ip_everywhere_but_not_lookalikes() -> None:
    m = {
        "test_keys": {
            "requests": [{"response": {"body": "your IP is 198.51.100.23!"}}],
            "client_resolver": "198.51.100.230",
            "198.51.100.23": ["x 198.51.100.23:443", "1198.51.100.23", 5],
        }
    }
    out = scrub_ip(m, "198.51.100.23")
    keys = out["test_keys"]
    assert keys["requests"][0]["response"]["body"] == "your IP is [scrubbed]!"
    assert keys["client_resolver"] == "198.51.100.230"
    assert keys["[scrubbed]"] == ["x [scrubbed]:443", "1198.51.100.23", 5]
    assert m["test_keys"]["client_resolver"] == "198.51.100.230"  # input untouched
    assert "198.51.100.23" in m["test_keys"]


def test_scrub_ipv6() -> None:
    out = scrub_ip({"a": "from 2001:db8::1 and 2001:db8::10"}, "2001:db8::1")
    assert out == {"a": "from [scrubbed] and 2001:db8::10"}
