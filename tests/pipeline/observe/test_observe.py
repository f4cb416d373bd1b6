"""Observation rows from real measurements: endpoint merging, DNS answers, control, types."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from censorscope.pipeline.observe import (
    ROW_COLUMNS,
    ObservationRow,
    is_measurement,
    measurement_row,
    observe,
)

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "data" / "ooni-samples"


def _load(rel: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((SAMPLES / rel).read_bytes())
    return data


def _all_samples() -> list[Path]:
    return [p for d in ("fastpath", "webconnectivity-real", "spec-examples")
            for p in sorted((SAMPLES / d).rglob("*.json"))
            if is_measurement(orjson.loads(p.read_bytes()))]


_PY = {"str": str, "int": int, "float": float, "bool": bool}


@pytest.mark.parametrize("path", _all_samples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_sample_gives_typed_rows(path: Path) -> None:
    msm = orjson.loads(path.read_bytes())
    rows = observe(msm, "uid")
    kinds = ROW_COLUMNS["observations"]
    for i, row in enumerate(rows):
        assert row.observation_idx == i and row.measurement_uid == "uid"
        for name, value in row._asdict().items():
            if value is not None:
                assert type(value) is _PY[kinds[name].rstrip("?")], (name, value)
    tk = msm.get("test_keys") or {}
    # every TCP connect and TLS handshake of the probe is in exactly one row
    probe = [r for r in rows if r.origin == "probe"]
    def entries(v: Any) -> list[Any]:
        return v if isinstance(v, list) else [v] if isinstance(v, dict) else []

    tcp = [c for c in entries(tk.get("tcp_connect")) if (c.get("status") or {}).get("success")
           is not None]
    assert sum(r.tcp_success is not None for r in probe) == len(tcp)
    assert sum(r.tls_success is not None for r in probe) == len(entries(tk.get("tls_handshakes")))
    assert sum(r.http_success is not None for r in probe) == len(entries(tk.get("requests")))


def test_endpoint_row_merges_tcp_tls_http() -> None:
    msm = _load("webconnectivity-real/8844/measurement.json")
    rows = observe(msm, "u")
    ep = [r for r in rows if r.origin == "probe" and r.ip == "8.8.4.4" and r.port == 443]
    assert len(ep) == 1
    row = ep[0]
    tk = msm["test_keys"]
    hs = tk["tls_handshakes"][0]
    assert (row.tcp_success, row.tls_server_name, row.tls_version) == (
        True, hs["server_name"], hs["tls_version"])
    assert row.tls_cert_chain_length == len(hs["peer_certificates"])
    req = tk["requests"][0]
    body = base64.b64decode(req["response"]["body"]["data"])
    assert row.http_response_status_code == req["response"]["code"]
    assert row.http_response_body_length == len(body)
    assert row.http_response_body_sha1 == hashlib.sha1(body).hexdigest()


def test_handshake_io_counts_stop_at_handshake_done() -> None:
    """A TLS timeout right after the ClientHello write: one write, no read (the SNI case)."""
    events = [
        {"operation": "connect", "transaction_id": 1},
        {"operation": "tls_handshake_start", "transaction_id": 1},
        {"operation": "write", "num_bytes": 517, "transaction_id": 1},
        {"operation": "read", "num_bytes": 0, "failure": "generic_timeout_error",
         "transaction_id": 1},
        {"operation": "tls_handshake_done", "transaction_id": 1},
        {"operation": "write", "num_bytes": 99, "transaction_id": 1},
        {"operation": "write", "num_bytes": 300, "transaction_id": 2},
    ]
    msm: dict[str, Any] = {"test_name": "web_connectivity", "test_keys": {
        "tcp_connect": [{"ip": "23.45.67.89", "port": 443, "transaction_id": 1,
                         "status": {"success": True, "failure": None}}],
        "tls_handshakes": [{"address": "23.45.67.89:443", "server_name": "www.tiktok.com",
                            "failure": "generic_timeout_error", "transaction_id": 1}],
        "network_events": events}}
    (row,) = observe(msm, "u")
    assert (row.tls_handshake_write_count, row.tls_handshake_write_bytes) == (1, 517)
    assert (row.tls_handshake_read_count, row.tls_handshake_last_operation) == (1, "read")
    assert (row.tls_success, row.tls_failure, row.tcp_success) == (
        False, "generic_timeout_error", True)
    assert row.ip_is_bogon is False


def test_dns_answers_join_their_endpoints_and_control_rows() -> None:
    msm = _load("webconnectivity-real/youtube/measurement.json")
    rows = observe(msm, "u")
    tk = msm["test_keys"]
    answers = [(q, a) for q in tk["queries"] for a in (q.get("answers") or [])]
    with_dns = [r for r in rows if r.origin == "probe" and r.dns_answer is not None]
    assert len(with_dns) == len(answers)
    connected = {c["ip"] for c in tk["tcp_connect"]}
    merged = [r for r in with_dns if r.tcp_t is not None]
    assert merged and all(r.ip in connected and r.dns_answer == r.ip for r in merged)
    control = [r for r in rows if r.origin == "control"]
    ctrl_tcp = tk["control"]["tcp_connect"]
    assert sum(r.tcp_success is not None for r in control) == len(ctrl_tcp)
    assert all(r.hostname == "www.youtube.com" for r in control)


def test_dns_failure_is_one_row() -> None:
    msm: dict[str, Any] = {"test_name": "web_connectivity", "input": "http://x.example/",
                           "test_keys": {"queries": [{
                               "hostname": "x.example", "query_type": "A", "engine": "udp",
                               "resolver_address": "8.8.8.8:53", "failure": "dns_nxdomain_error",
                               "answers": None, "t": 0.1}]}}
    (row,) = observe(msm, "u")
    assert (row.hostname, row.dns_failure, row.dns_answer, row.dns_t) == (
        "x.example", "dns_nxdomain_error", None, 0.1)


def test_odd_types_are_coerced_not_fatal() -> None:
    msm: dict[str, Any] = {"test_name": "t", "test_keys": {
        "tcp_connect": [{"ip": "10.0.0.1", "port": "443", "status": {"failure": False,
                                                                      "success": 1}}],
        "tls_handshakes": [{"address": "10.0.0.1:443", "server_name": 42, "failure": None}]}}
    (row,) = observe(msm, "u")
    assert row.port == 443 and row.tcp_failure is None and row.tcp_success is True
    assert row.tls_server_name == "42" and row.ip_is_bogon is True
    assert isinstance(row, ObservationRow)


def test_measurement_row_from_meek_list_input() -> None:
    msm = _load("fastpath/meek.json")
    row = measurement_row(msm, "u")
    assert row.input == "{" + ",".join(msm["input"]) + "}"
    assert row.domain == msm["input"][0]
    assert row.measurement_start_time == datetime.strptime(msm["measurement_start_time"],
                                                           "%Y-%m-%d %H:%M:%S")
