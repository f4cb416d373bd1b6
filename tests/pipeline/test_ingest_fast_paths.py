"""The ingest hot paths give the same answers as the plain definitions they replace.

Fingerprints: one literal pass for both lists equals the two separate matches. Observation
merging: transaction-id / address joins pick the first free row in order. Body facts: title
search without lower-casing, the kept body text reusing the encoded bytes. MAT flags copied
into the measurement row. Arrow tables built from struct arrays keep types and reject rows of
the wrong length.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest

from censorscope.pipeline.analyze.web import final_response
from censorscope.pipeline.fingerprints import default_db, match_http
from censorscope.pipeline.observe import (
    MeasurementRow,
    VerdictRow,
    measurement_row,
    observe,
    with_verdict,
)
from censorscope.pipeline.observe.probe_observations import (
    BODY_KEEP_BYTES,
    body_facts,
    body_text,
    probe_observations,
)
from censorscope.store import schema
from censorscope.store.duckdb_store import arrow_table

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "ooni-samples"


def _responses() -> list[tuple[Any, dict[str, str]]]:
    """(body, headers) of real responses and of bodies carrying fingerprint patterns."""
    out: list[tuple[Any, dict[str, str]]] = []
    for path in sorted(SAMPLES.rglob("*.json")):
        msm = orjson.loads(path.read_bytes())
        resp = final_response(msm) if isinstance(msm, dict) else None
        if resp is not None:
            out.append((resp.body, dict(resp.headers)))
    db = default_db()
    for fp in (*db.http, *db.false_positives):
        if fp.pattern_type == "contains" and fp.location in ("body", "headers_or_body"):
            out.append((f"<html><body>x {fp.pattern} y</body></html>", {"Server": "nginx"}))
        elif fp.location == "headers" and fp.pattern_type == "contains":
            out.append(("<html></html>", {"X-Thing": fp.pattern}))
    return out


def test_one_pass_fingerprints_equal_two_passes() -> None:
    db = default_db()
    responses = _responses()
    hits = 0
    for body, headers in responses:
        for cc in ("IT", "RU", "ZZ"):
            both = db.blockpage_and_false_positive(body, headers, cc)
            apart = db.match_http(body, headers, cc) + db.false_positive(body, headers, cc)
            assert both == apart
            assert match_http(body, headers, cc) == apart
            hits += bool(both)
    assert len(responses) > 100 and hits > 100  # the patterns really matched


def _tk(**keys: Any) -> dict[str, Any]:
    return keys


def test_tls_and_http_join_the_first_free_row_in_order() -> None:
    tk = _tk(
        tcp_connect=[
            {"ip": "192.0.2.1", "port": 443, "status": {"success": True}, "t": 1.0},
            {"ip": "192.0.2.1", "port": 443, "status": {"success": True}, "t": 2.0},
            {"ip": "192.0.2.2", "port": 443, "status": {"success": True}, "t": 3.0,
             "transaction_id": 7},
        ],
        tls_handshakes=[  # two by address (first, then second row), one by id, one new
            {"address": "192.0.2.1:443", "server_name": "a.example", "t": 1.5},
            {"address": "192.0.2.1:443", "server_name": "b.example", "t": 2.5},
            {"address": "192.0.2.9:443", "server_name": "c.example", "t": 3.5,
             "transaction_id": 7},
            {"address": "192.0.2.1:443", "server_name": "d.example", "t": 4.5},
        ],
        requests=[  # by id, by id again (the row is taken: a new row), without id
            {"transaction_id": 7, "request": {"url": "https://c.example/"},
             "response": {"code": 200, "body": "<title>C</title>"}, "t": 5.0},
            {"transaction_id": 7, "request": {"url": "https://c.example/2"},
             "response": {"code": 301}, "t": 6.0, "address": "192.0.2.2:443"},
            {"request": {"url": "http://e.example/"}, "failure": "eof_error", "t": 7.0},
        ],
    )
    rows = probe_observations("u", tk)
    assert [(r.ip, r.port, r.tcp_t, r.tls_server_name, r.http_request_url) for r in rows] == [
        ("192.0.2.1", 443, 1.0, "a.example", None),
        ("192.0.2.1", 443, 2.0, "b.example", None),
        ("192.0.2.2", 443, 3.0, "c.example", "https://c.example/"),
        ("192.0.2.1", 443, None, "d.example", None),
        ("192.0.2.2", 443, None, None, "https://c.example/2"),
        (None, None, None, None, "http://e.example/"),
    ]
    assert rows[2].http_response_title == "C" and rows[2].tls_t == 3.5
    assert rows[5].hostname == "e.example" and rows[5].http_failure == "eof_error"


def test_dns_answers_fill_endpoint_rows_once_each() -> None:
    tk = _tk(
        tcp_connect=[{"ip": "192.0.2.1", "port": 80, "transaction_id": 3,
                      "status": {"success": True}},
                     {"ip": "192.0.2.1", "port": 443, "transaction_id": 4,
                      "status": {"success": True}}],
        queries=[
            {"hostname": "a.example", "query_type": "A", "engine": "system",
             "transaction_id": 1, "answers": [{"answer_type": "A", "ipv4": "192.0.2.1"}]},
            {"hostname": "a.example", "query_type": "A", "engine": "udp",
             "transaction_id": 2, "answers": [{"answer_type": "A", "ipv4": "192.0.2.1"},
                                              {"answer_type": "A", "ipv4": "192.0.2.1"},
                                              {"answer_type": "CNAME", "hostname": "b."},
                                              "junk"]},
            {"hostname": "a.example", "query_type": "AAAA", "failure": "dns_no_answer"},
        ])
    rows = probe_observations("u", tk)
    assert [(r.ip, r.port, r.transaction_id, r.dns_engine, r.dns_answer) for r in rows] == [
        ("192.0.2.1", 80, 3, "system", "192.0.2.1"),  # the endpoint keeps its own id
        ("192.0.2.1", 443, 4, "udp", "192.0.2.1"),
        ("192.0.2.1", None, 2, "udp", "192.0.2.1"),  # no free endpoint left: a row
        (None, None, 2, "udp", "b."),
        (None, None, None, None, None),
    ]
    assert rows[2].ip_is_bogon is True and rows[3].dns_answer_type == "CNAME"
    assert rows[4].dns_failure == "dns_no_answer" and rows[4].dns_query_type == "AAAA"


@pytest.mark.parametrize("body, title", [  # model.http.page_title, OONI's regex
    ("<html><TITLE>Upper</TITLE></html>", "Upper"),
    ("<html><Title x=1> Mixed </Title>", None),  # no attributes in OONI's regex
    ("<title>first</title><TITLE>second</TITLE>", "first"),
    ("<TITLE>upper first</TITLE><title>lower later</title>", "upper first"),
    ("x" * 70000 + "<title>far</title>", "far"),
    ("İİ<TITLE>after dotted I</TITLE>", "after dotted I"),
    ("no title at all", None),
    ({"format": "base64", "data": base64.b64encode(b"<TiTlE>b64</TiTlE>").decode()}, "b64"),
    ({"format": "base64", "data": base64.b64encode("<title>Тест</title>".encode()).decode()},
     "Тест"),
])
def test_body_title(body: Any, title: str | None) -> None:
    assert body_facts(body)[2] == title


@pytest.mark.parametrize("chars, char", [
    (BODY_KEEP_BYTES // 4, "é"), (BODY_KEEP_BYTES // 4 + 1, "é"), (BODY_KEEP_BYTES // 2, "é"),
    (BODY_KEEP_BYTES // 2 + 1, "é"), (BODY_KEEP_BYTES, "a"), (BODY_KEEP_BYTES + 1, "a"),
])
def test_kept_body_and_sha1_from_one_encoding(chars: int, char: str) -> None:
    body = char * chars
    raw = body.encode()
    tk = _tk(requests=[{"request": {"url": "http://a.example/"},
                        "response": {"code": 200, "body": body}}])
    row = probe_observations("u", tk)[0]
    assert row.http_response_body_sha1 == hashlib.sha1(raw).hexdigest()
    assert row.http_response_body_length == len(raw)
    kept = body if len(raw) <= BODY_KEEP_BYTES else None
    assert row.http_response_body == kept == body_text(body)


def test_base64_body_kept_as_utf8() -> None:
    raw = "блок".encode() + b"\xff"
    body = {"format": "base64", "data": base64.b64encode(raw).decode()}
    tk = _tk(requests=[{"request": {"url": "http://a.example/"},
                        "response": {"code": 200, "body": body}}])
    row = probe_observations("u", tk)[0]
    assert row.http_response_body == raw.decode("utf-8", "replace") == body_text(body)
    assert row.http_response_body_sha1 == hashlib.sha1(raw).hexdigest()


def test_with_verdict_sets_only_the_mat_fields() -> None:
    msm = orjson.loads(next(SAMPLES.rglob("*webconnectivity*.json")).read_bytes())
    row = measurement_row(msm, "u1", archive_file="f", archive_offset=3, archive_length=9)
    for blocking, expect in (("dns", "dns"), ("false", None), (None, None)):
        v = VerdictRow("u1", "r1", "blocked", "dns", None, blocking, True, False, True,
                       "x", [], [])
        new = with_verdict(row, v)
        assert type(new) is MeasurementRow
        assert new == row._replace(anomaly=True, confirmed=False, failure=True,
                                   blocking_type=expect)


def test_arrow_tables_keep_types_and_reject_bad_rows() -> None:
    msm = orjson.loads(next(SAMPLES.rglob("*webconnectivity*.json")).read_bytes())
    observations = observe(msm, "u1")
    table = arrow_table("observations", observations)
    assert table.column_names == schema.columns("observations")
    assert table.num_rows == len(observations) > 5
    assert [tuple(d.values()) for d in table.to_pylist()] == [tuple(o) for o in observations]
    assert table.schema.field("port").type == pa.int64()
    assert table.schema.field("tcp_success").type == pa.bool_()
    verdicts = arrow_table("verdicts", [VerdictRow("u1", "r", "ok", None, None, "false",
                                                   False, False, False, "web.ok", ["a"],
                                                   ["e1", "e2"])])
    assert verdicts.schema.field("evidence").type == pa.list_(pa.string())
    assert verdicts.to_pylist()[0]["evidence"] == ["e1", "e2"]
    assert arrow_table("measurements", []).num_rows == 0
    with pytest.raises(ValueError):
        arrow_table("observations", [tuple(observations[0])[:-1]])


def test_make_observation_fast_and_fallback_paths_agree() -> None:
    from censorscope.model.rows import ObservationRow, make_observation

    row = make_observation("u", 3, "probe", {"ip": "192.0.2.1", "port": 443, "tls_t": 1.5})
    assert row == ObservationRow("u", 3, "probe", ip="192.0.2.1", port=443, tls_t=1.5)
    # keys that are not fact fields: ignored; uid/idx/origin given in facts: the arguments win
    odd = make_observation("u", 4, "control", {"ip": "192.0.2.2", "not_a_field": 1,
                                               "origin": "probe", "observation_idx": 9})
    assert odd == ObservationRow("u", 4, "control", ip="192.0.2.2")
    assert type(odd) is ObservationRow and type(row) is ObservationRow
