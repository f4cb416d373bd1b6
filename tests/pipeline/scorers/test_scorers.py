"""Scorers of the non-Web-Connectivity tests on the real samples, and on real samples whose
facts were edited into the blocked cases (a timeout, a reset, a foreign DNS answer …)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from censorscope.model.evidence import Evidence
from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.analyzer import analyze_measurement
from censorscope.pipeline.analyze.context import AnalysisContext
from censorscope.pipeline.analyze.registry import scorer_for
from censorscope.pipeline.analyze.subject import Subject
from censorscope.pipeline.fingerprints import FINGERPRINTS_VERSION
from censorscope.pipeline.observe import is_measurement, measurement_row, observe
from censorscope.pipeline.rules import RULES_BY_ID
from censorscope.pipeline.scorers import SCORERS
from tests.pipeline.test_rules import family_of_test

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "data" / "ooni-samples"


def _load(rel: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((SAMPLES / rel).read_bytes())
    return data


def _score(msm: dict[str, Any], ctx: AnalysisContext | None = None) -> Verdict:
    return analyze_measurement(msm, ctx or AnalysisContext(), uid="uid-1")


def _texts(v: Verdict) -> list[str]:
    return [e.text for e in v.evidence]


def _non_web_samples() -> list[Path]:
    out = []
    for d in ("fastpath", "spec-examples"):
        for p in sorted((SAMPLES / d).glob("*.json")):
            obj = orjson.loads(p.read_bytes())
            if is_measurement(obj) and obj["test_name"] != "web_connectivity":
                out.append(p)
    return out


@pytest.mark.parametrize("path", _non_web_samples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_non_web_sample_gets_a_verdict(path: Path) -> None:
    msm = orjson.loads(path.read_bytes())
    v = _score(msm)
    assert v.test_name == msm["test_name"]
    family = family_of_test(msm["test_name"])
    assert family.emits(v.rule_id)
    assert v.rules_version == family.version
    assert v.fingerprints_version == FINGERPRINTS_VERSION
    assert v.evidence and all(isinstance(e, Evidence) and e.text for e in v.evidence)
    rule = RULES_BY_ID[v.rule_id]
    assert v.outcome == rule.outcome
    if rule.layer not in ("*", None):
        assert v.layer == rule.layer


# fixture → (outcome, rule_id); cross-checked with fastpath_expected_scores.json in
# test_fastpath_comparison.py and explained in docs/analysis.md
EXPECTED = {
    "fastpath/telegram_nourl.json": ("ok", "telegram.ok"),
    "spec-examples/ts-020-telegram__codeblock03.json": ("ok", "telegram.ok"),
    "fastpath/whatsapp.json": ("ok", "whatsapp.ok"),
    "fastpath/signal_022.json": ("ok", "signal.ok"),
    "fastpath/signal_2627.json": ("insufficient", "signal.old_probe_ca"),
    "fastpath/signal_679.json": ("insufficient", "signal.android_dns_no_data"),
    "spec-examples/ts-019-facebook-messenger__codeblock07.json": ("ok", "fbm.ok"),
    "fastpath/tor.json": ("ok", "tor.ok"),
    "fastpath/tor_list.json": ("insufficient", "test.no_data"),
    "fastpath/vanilla_tor.json": ("blocked", "tor.bootstrap_failed"),
    "fastpath/vanilla_tor_ok.json": ("ok", "tor.bootstrap_ok"),
    "fastpath/torsf_1.json": ("blocked", "tor.bootstrap_failed"),
    "fastpath/torsf_2.json": ("ok", "tor.bootstrap_ok"),
    "fastpath/torsf_383.json": ("insufficient", "torsf.known_bug"),
    "spec-examples/ts-015-psiphon__codeblock00.json": ("ok", "psiphon.ok"),
    "fastpath/riseupvpn.json": ("insufficient", "riseupvpn.api_cert"),
    "fastpath/openvpn.json": ("ok", "openvpn.ok"),
    "fastpath/meek.json": ("down", "meek.not_served"),
    "fastpath/meek2.json": ("ok", "meek.ok"),
    "fastpath/browser_web.json": ("ok", "browser_web.ok"),
    "fastpath/browser_web_error.json": ("insufficient", "browser_web.error"),
    "fastpath/mbx-1.json": ("impaired", "hirl.tampering"),
    "spec-examples/ts-006-header-field-manipulation__codeblock03.json": ("ok", "hhfm.ok"),
    "spec-examples/ts-027-urlgetter__codeblock01.json": ("ok", "urlgetter.ok"),
    "spec-examples/ts-028-dnscheck__codeblock01.json": ("ok", "dnscheck.ok"),
    "spec-examples/ts-025-stun-reachability__codeblock01.json": ("ok", "stun.ok"),
    "spec-examples/ts-021-dash__codeblock04.json": ("ok", "speed.ok"),
    "fastpath/yaml17_0.json": ("insufficient", "test.unsupported"),
}


@pytest.mark.parametrize(("rel", "expected"), sorted(EXPECTED.items()))
def test_known_sample_outcomes(rel: str, expected: tuple[str, str]) -> None:
    v = _score(_load(rel))
    assert (v.outcome, v.rule_id) == expected, v.evidence


def test_registry_dispatches_to_these_scorers() -> None:
    for name, fn in SCORERS.items():
        assert scorer_for(name) is fn, name


# --- the blocked cases, made from real measurements by editing their facts -------------------

def test_telegram_all_dc_timeouts_is_tcp_timeout() -> None:
    msm = _load("spec-examples/ts-020-telegram__codeblock03.json")
    tk = msm["test_keys"]
    for c in tk["tcp_connect"]:
        c["status"] = {"failure": "generic_timeout_error", "success": False}
    for r in tk["requests"]:
        if "web.telegram.org" not in r["request"]["url"]:
            r["failure"], r["response"] = "generic_timeout_error", None
    v = _score(msm)
    assert (v.outcome, v.layer, v.mechanism, v.rule_id) == (
        "blocked", "tcp", "tcp.timeout", "telegram.dc.unreachable")
    assert v.blocking == "tcp_ip" and v.anomaly and not v.confirmed
    assert any(re.search(r"TCP connect to 149\.154\.\d+\.\d+:(80|443) failed: "
                         r"generic_timeout_error", e) for e in _texts(v))


def test_telegram_web_tls_reset() -> None:
    msm = _load("spec-examples/ts-020-telegram__codeblock03.json")
    tk = msm["test_keys"]
    for h in tk["tls_handshakes"]:
        if h.get("server_name") == "web.telegram.org":
            h["failure"] = "connection_reset"
    for r in tk["requests"]:
        if "web.telegram.org" in r["request"]["url"]:
            r["failure"], r["response"] = "connection_reset", None
    v = _score(msm)
    assert (v.outcome, v.layer, v.mechanism, v.rule_id) == (
        "blocked", "tls", "tls.reset", "telegram.web.failed")
    assert any("web.telegram.org" in e and "connection_reset" in e for e in _texts(v))


def test_whatsapp_endpoints_refused() -> None:
    msm = _load("fastpath/whatsapp.json")
    for c in msm["test_keys"]["tcp_connect"]:
        if c["port"] == 5222 or not c["ip"].startswith("31.13."):
            c["status"] = {"failure": "connection_refused", "success": False}
    v = _score(msm)
    assert (v.outcome, v.layer, v.mechanism, v.rule_id) == (
        "blocked", "tcp", "tcp.refused", "whatsapp.endpoints.unreachable")
    assert "0 of 32 TCP connects to WhatsApp endpoints succeeded" in _texts(v)


def test_signal_tls_reset() -> None:
    msm = _load("fastpath/signal_022.json")
    tk = msm["test_keys"]
    for h in tk["tls_handshakes"]:
        if "storage" in (h.get("server_name") or ""):
            h["failure"] = "connection_reset"
    for r in tk["requests"]:
        if "storage.signal.org" in r["request"]["url"]:
            r["failure"], r["response"] = "connection_reset", None
    v = _score(msm)
    assert (v.outcome, v.layer, v.mechanism, v.rule_id) == (
        "blocked", "tls", "tls.reset", "signal.failed")
    assert v.blocking == "tls"
    assert any("storage.signal.org" in e and "connection_reset" in e for e in _texts(v))


def _fbm_with_foreign_answer() -> tuple[dict[str, Any], str]:
    msm = _load("spec-examples/ts-019-facebook-messenger__codeblock07.json")
    for q in msm["test_keys"]["queries"]:
        if q["hostname"] == "b-api.facebook.com":
            for a in q["answers"]:
                if a.get("answer_type") == "A":
                    a.update(ipv4="5.1.2.3", asn=64500, as_org_name="Example ISP")
    return msm, "5.1.2.3"


def test_facebook_messenger_foreign_answer_is_injection() -> None:
    msm, ip = _fbm_with_foreign_answer()
    v = _score(msm)
    assert (v.outcome, v.layer, v.mechanism, v.rule_id) == (
        "blocked", "dns", "dns.injection.other", "fbm.dns.outside_as32934")
    assert any(ip in e and "AS64500" in e and "b-api.facebook.com" in e for e in _texts(v))


def test_facebook_messenger_foreign_answer_with_valid_tls_is_consistent() -> None:
    msm, ip = _fbm_with_foreign_answer()
    ctx = AnalysisContext()
    # another measurement completed a verified handshake for the name at that IP
    other = _load("fastpath/signal_022.json")
    other["test_keys"]["tls_handshakes"] = [{
        "address": f"{ip}:443", "server_name": "b-api.facebook.com", "failure": None,
        "no_tls_verify": False, "t": 0.1}]
    other["test_keys"]["tcp_connect"] = [{"ip": ip, "port": 443,
                                          "status": {"failure": None, "success": True}}]
    ctx.learn(measurement_row(other, "o"), observe(other, "o"))
    v = _score(msm, ctx)
    assert (v.outcome, v.rule_id) == ("ok", "fbm.ok"), v.evidence


def test_dnscheck_all_resolvers_timing_out_is_blocked() -> None:
    msm = _load("spec-examples/ts-028-dnscheck__codeblock01.json")
    for keys in msm["test_keys"]["lookups"].values():
        keys["failure"], keys["failed_operation"] = "generic_timeout_error", "tls_handshake"
        for q in keys.get("queries") or ():
            q["answers"], q["failure"] = None, "generic_timeout_error"
        for h in keys.get("tls_handshakes") or ():
            h["failure"] = "generic_timeout_error"
    v = _score(msm)
    assert (v.outcome, v.layer, v.mechanism, v.rule_id) == (
        "blocked", "tls", "tls.timeout", "dnscheck.all_failed")
    assert any(e.startswith("dot://8.8.8.8:853 failed") for e in _texts(v))


def test_dnscheck_names_the_working_resolver() -> None:
    v = _score(_load("spec-examples/ts-028-dnscheck__codeblock01.json"))
    assert v.outcome == "ok" and not v.failure
    assert any(e.startswith("dot://8.8.8.8:853 resolved example.org to 93.184.216.34")
               for e in _texts(v))
    assert any("[2001:4860:4860::8888]:853 failed" in e for e in _texts(v))


def test_urlgetter_tls_reset_is_blocked_and_refused_is_insufficient() -> None:
    msm = _load("spec-examples/ts-027-urlgetter__codeblock01.json")
    tk = msm["test_keys"]
    reset = copy.deepcopy(msm)
    for h in reset["test_keys"]["tls_handshakes"]:
        h["failure"] = "connection_reset"
    for r in reset["test_keys"]["requests"]:
        r["failure"], r["response"] = "connection_reset", None
    reset["test_keys"]["failure"] = "connection_reset"
    reset["test_keys"]["failed_operation"] = "tls_handshake"
    v = _score(reset)
    assert (v.outcome, v.layer, v.mechanism, v.rule_id) == (
        "blocked", "tls", "tls.reset", "urlgetter.interference")
    refused = copy.deepcopy(msm)
    for c in refused["test_keys"]["tcp_connect"]:
        c["status"] = {"failure": "connection_refused", "success": False}
    refused["test_keys"]["tls_handshakes"] = []
    refused["test_keys"]["requests"] = []
    refused["test_keys"]["failure"] = "connection_refused"
    refused["test_keys"]["failed_operation"] = "connect"
    v = _score(refused)
    assert (v.outcome, v.layer, v.mechanism, v.rule_id) == (
        "insufficient", "tcp", "tcp.refused", "urlgetter.failed_other")
    assert tk  # the original is untouched
    assert _score(msm).outcome == "ok"


def test_tor_all_targets_failing_is_tcp() -> None:
    msm = _load("fastpath/tor.json")
    for t in msm["test_keys"]["targets"].values():
        t["failure"] = "generic_timeout_error"
        for c in t.get("tcp_connect") or ():
            c["status"] = {"failure": "generic_timeout_error", "success": False}
    v = _score(msm)
    assert (v.outcome, v.layer, v.mechanism, v.rule_id) == (
        "blocked", "tcp", "tcp.timeout", "tor.all_failed")


def test_hhfm_changed_header_is_tampering() -> None:
    msm = _load("spec-examples/ts-006-header-field-manipulation__codeblock03.json")
    resp = msm["test_keys"]["requests"][0]["response"]
    resp["body"] = resp["body"].replace('"HOSt"', '"Host"')
    v = _score(msm)
    assert (v.outcome, v.layer, v.mechanism, v.rule_id) == (
        "impaired", "http", "http.diff", "hhfm.tampering")
    assert any("HOSt" in e for e in _texts(v))


# the probe's own verdict keys of these tests; deleting them must not change our verdict
_PROBE_VERDICT = re.compile(
    r"(_blocking|_status|_accessible|_dns_consistent|_reachable|_inconsistent|_blocked|"
    r"^tampering.*|^accessible$|^blocking$|_failure$|^success.*|^failing_gateways$)")


def _strip(msm: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(msm)
    tk = out.get("test_keys")
    if isinstance(tk, dict):
        for key in list(tk):
            if _PROBE_VERDICT.search(key) and key not in ("failure", "bootstrap_failure"):
                del tk[key]
    return out


_VERDICT_INDEPENDENT = [p for p in _non_web_samples()
                        if orjson.loads(p.read_bytes())["test_name"] in (
                            "telegram", "whatsapp", "signal", "facebook_messenger",
                            "riseupvpn", "urlgetter", "dnscheck",
                            "http_invalid_request_line", "http_header_field_manipulation")]


@pytest.mark.parametrize("path", _VERDICT_INDEPENDENT, ids=lambda p: p.name)
def test_probe_verdict_keys_do_not_matter(path: Path) -> None:
    msm = orjson.loads(path.read_bytes())
    a, b = _score(msm), _score(_strip(msm))
    assert (a.outcome, a.layer, a.mechanism, a.rule_id, a.evidence) == (
        b.outcome, b.layer, b.mechanism, b.rule_id, b.evidence)


def test_scorers_work_from_stored_rows_where_they_can() -> None:
    msm = _load("fastpath/whatsapp.json")
    meta, rows = measurement_row(msm, "u"), observe(msm, "u")
    v = SCORERS["whatsapp"](Subject(meta, rows, None), AnalysisContext())
    assert (v.outcome, v.rule_id) == ("ok", "whatsapp.ok")
    tor = _load("fastpath/tor.json")
    v = SCORERS["tor"](Subject(measurement_row(tor, "t"), observe(tor, "t"), None),
                       AnalysisContext())
    assert (v.outcome, v.rule_id) == ("insufficient", "test.no_data")
