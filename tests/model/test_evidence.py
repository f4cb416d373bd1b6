"""Evidence items as data: validation, JSON round trip, and how a verdict prints them."""

from __future__ import annotations

import pytest

from censorscope.model.evidence import Evidence
from censorscope.model.verdict import LayerVerdict, Verdict


def test_context_evidence_needs_a_count_covering_its_uids() -> None:
    with pytest.raises(ValueError):
        Evidence("c", "t", {}, "context", ("a", "b"), 1)
    with pytest.raises(ValueError):
        Evidence("c", "t", {}, "elsewhere")  # type: ignore[arg-type]
    ok = Evidence("c", "t", {"count": 3}, "context", ("a", "b"), 3)
    assert Evidence.from_json(ok.to_json()) == ok
    plain = Evidence("c", "t", {"ip": "192.0.2.1", "ports": [80, 443]})
    assert "context_uids" not in plain.to_json()
    assert Evidence.from_json(plain.to_json()) == plain
    assert str(plain) == "t"


def test_verdict_json_has_the_texts_and_the_data() -> None:
    ev = Evidence("tcp.connect_failed", "TCP connect to 192.0.2.1:443 failed with x.",
                  {"ip": "192.0.2.1", "port": 443, "failure": "x"})
    v = Verdict(measurement_uid="u", report_id="r", input=None, test_name="web_connectivity",
                probe_cc="IT", probe_asn=1, outcome="blocked", layer="tcp",
                mechanism="tcp.timeout", blocking="tcp_ip", anomaly=True, confirmed=False,
                failure=False, rule_id="tcp.failure_ctrl_ok", rules_version="x",
                evidence=(ev,), layers=(LayerVerdict("tcp", "blocked", "tcp.timeout",
                                                     "tcp.failure_ctrl_ok", (ev,)),))
    out = v.to_json()
    assert out["evidence"] == [ev.text]
    assert out["evidence_data"] == [ev.to_json()]
    assert out["layers"][0]["evidence"] == [ev.text]
    assert out["layers"][0]["evidence_data"][0]["facts"]["port"] == 443
