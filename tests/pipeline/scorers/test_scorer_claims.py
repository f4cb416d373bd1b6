"""The evidence of the scorers of the other tests is data, and true.

Every real sample of a non-Web-Connectivity test (and real samples edited into the blocked
and odd cases) is scored, and ``check_verdict`` finds no false statement and no
``unstructured`` one, with the raw measurement and from the stored rows alone. Then every fact
of every item is tampered with (and the item re-rendered): the checker must report it.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from censorscope.model.evidence import Evidence
from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.analyzer import score
from censorscope.pipeline.analyze.context import AnalysisContext
from censorscope.pipeline.evidence import CLAIMS, Facts, check_verdict, say
from censorscope.pipeline.observe import is_measurement, measurement_row, observe
from censorscope.pipeline.scorers.claims import (
    NEEDS_RAW,
    key_path,
    lookup_key,
    parse_key_path,
)

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "data" / "ooni-samples"

FAMILIES = ("rows.", "keys.", "scorer.", "telegram.", "whatsapp.", "signal.", "fbm.", "tor.",
            "torsf.", "psiphon.", "riseupvpn.", "openvpn.", "meek.", "urlgetter.", "dnscheck.",
            "stun.", "browser_web.", "hhfm.", "hirl.", "fallback.")
# claims checked against the raw test keys: never made without the raw measurement
RAW_CLAIMS = ("keys.", "tor.", "torsf.", "psiphon.", "openvpn.", "urlgetter.operation_failed",
              "dnscheck.", "stun.", "browser_web.", "hhfm.", "hirl.")


def _load(rel: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((SAMPLES / rel).read_bytes())
    return data


def _samples() -> list[str]:
    out = []
    for d in ("fastpath", "spec-examples"):
        for p in sorted((SAMPLES / d).glob("*.json")):  # YAML files are not supported
            obj = orjson.loads(p.read_bytes())
            if is_measurement(obj) and obj["test_name"] != "web_connectivity":
                out.append(f"{d}/{p.name}")
    return out


def _scored(msm: dict[str, Any], *, raw: bool = True) -> tuple[Verdict, Facts]:
    meta, rows = measurement_row(msm, "uid-1"), observe(msm, "uid-1")
    ctx = AnalysisContext()
    ctx.learn(meta, rows)
    verdict = score(meta, rows, ctx, msm if raw else None)
    return verdict, Facts(meta, rows, msm if raw else None)


def _items(v: Verdict) -> list[Evidence]:
    return list(v.evidence) + [e for lv in v.layers for e in lv.evidence]


def _assert_true_data(v: Verdict, facts: Facts) -> None:
    assert check_verdict(v, facts) == []
    assert v.evidence
    for ev in _items(v):
        assert ev.claim in CLAIMS and ev.claim.startswith(FAMILIES), ev
        assert ev.claim != "unstructured"
        assert Evidence.from_json(orjson.loads(orjson.dumps(ev.to_json()))) == ev
        if facts.raw is None:
            assert not ev.claim.startswith(RAW_CLAIMS), ev


# --- real samples edited into the blocked and odd cases --------------------------------------

def _telegram_dc_timeouts() -> dict[str, Any]:
    msm = _load("spec-examples/ts-020-telegram__codeblock03.json")
    for c in msm["test_keys"]["tcp_connect"]:
        c["status"] = {"failure": "generic_timeout_error", "success": False}
    return msm


def _telegram_dc_posts_fail() -> dict[str, Any]:
    msm = _load("spec-examples/ts-020-telegram__codeblock03.json")
    for r in msm["test_keys"]["requests"]:
        if "web.telegram.org" not in r["request"]["url"]:
            r["failure"], r["response"] = "connection_reset", None
    return msm


def _telegram_web_reset() -> dict[str, Any]:
    msm = _load("spec-examples/ts-020-telegram__codeblock03.json")
    for h in msm["test_keys"]["tls_handshakes"]:
        if h.get("server_name") == "web.telegram.org":
            h["failure"] = "connection_reset"
    for r in msm["test_keys"]["requests"]:
        if "web.telegram.org" in r["request"]["url"]:
            r["failure"], r["response"] = "connection_reset", None
    return msm


def _whatsapp_refused() -> dict[str, Any]:
    msm = _load("fastpath/whatsapp.json")
    for c in msm["test_keys"]["tcp_connect"]:
        c["status"] = {"failure": "connection_refused", "success": False}
    return msm


def _signal_reset() -> dict[str, Any]:
    msm = _load("fastpath/signal_022.json")
    for h in msm["test_keys"]["tls_handshakes"]:
        if "storage" in (h.get("server_name") or ""):
            h["failure"] = "connection_reset"
    for r in msm["test_keys"]["requests"]:
        if "storage.signal.org" in r["request"]["url"]:
            r["failure"], r["response"] = "connection_reset", None
    return msm


def _fbm(edit: Callable[[dict[str, Any]], None]) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        msm = _load("spec-examples/ts-019-facebook-messenger__codeblock07.json")
        edit(msm["test_keys"])
        return msm
    return build


def _fbm_answer(tk: dict[str, Any], **values: Any) -> None:
    for q in tk["queries"]:
        if q["hostname"] == "b-api.facebook.com":
            for a in q["answers"]:
                if a.get("answer_type") == "A":
                    a.update(values)


def _fbm_dns_failure(tk: dict[str, Any]) -> None:
    q = next(q for q in tk["queries"] if q["hostname"] == "b-api.facebook.com")
    q["answers"], q["failure"] = None, "dns_nxdomain_error"


def _fbm_tcp_failure(tk: dict[str, Any]) -> None:
    tk["tcp_connect"][0]["status"] = {"failure": "generic_timeout_error", "success": False}


def _dnscheck(edit: Callable[[dict[str, Any]], None]) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        msm = _load("spec-examples/ts-028-dnscheck__codeblock01.json")
        edit(msm["test_keys"])
        return msm
    return build


def _dnscheck_timeouts(tk: dict[str, Any]) -> None:
    for keys in tk["lookups"].values():
        keys["failure"], keys["failed_operation"] = "generic_timeout_error", "tls_handshake"
        for q in keys.get("queries") or ():
            q["answers"], q["failure"] = None, "generic_timeout_error"
        for h in keys.get("tls_handshakes") or ():
            h["failure"] = "generic_timeout_error"


def _dnscheck_bootstrap(tk: dict[str, Any]) -> None:
    tk["lookups"], tk["bootstrap_failure"] = {}, "dns_nxdomain_error"


def _urlgetter(edit: Callable[[dict[str, Any]], None]) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        msm = _load("spec-examples/ts-027-urlgetter__codeblock01.json")
        edit(msm["test_keys"])
        return msm
    return build


def _urlgetter_reset(tk: dict[str, Any]) -> None:
    for h in tk["tls_handshakes"]:
        h["failure"] = "connection_reset"
    for r in tk["requests"]:
        r["failure"], r["response"] = "connection_reset", None
    tk["failure"], tk["failed_operation"] = "connection_reset", "tls_handshake"


def _urlgetter_odd_operation(tk: dict[str, Any]) -> None:
    tk["failure"], tk["failed_operation"] = "unknown_failure: oops", "top_level"


def _urlgetter_quic(tk: dict[str, Any]) -> None:
    tk["failure"], tk["failed_operation"] = "generic_timeout_error", "quic_handshake"


def _tor(edit: Callable[[dict[str, Any]], None], rel: str = "fastpath/tor.json"
         ) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        msm = _load(rel)
        edit(msm["test_keys"])
        return msm
    return build


def _tor_all_fail(tk: dict[str, Any]) -> None:
    for t in tk["targets"].values():
        t["failure"] = "generic_timeout_error"
        for c in t.get("tcp_connect") or ():
            c["status"] = {"failure": "generic_timeout_error", "success": False}


def _tor_obfs4_fail(tk: dict[str, Any]) -> None:
    for t in tk["targets"].values():
        if t.get("target_protocol") == "obfs4":
            t["failure"] = "connection_reset"


def _tor_none_run(tk: dict[str, Any]) -> None:
    for t in tk["targets"].values():
        t["failure"] = False


def _keys(rel: str, **values: Any) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        msm = _load(rel)
        msm["test_keys"].update(values)
        return msm
    return build


def _hhfm(edit: Callable[[dict[str, Any]], None]) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        msm = _load("spec-examples/ts-006-header-field-manipulation__codeblock03.json")
        edit(msm["test_keys"]["requests"][0]["response"])
        return msm
    return build


def _hhfm_changed(resp: dict[str, Any]) -> None:
    resp["body"] = resp["body"].replace('"HOSt"', '"Host"')


def _hhfm_not_echo(resp: dict[str, Any]) -> None:
    resp["body"], resp["code"] = "<html>blocked</html>", 403


def _hirl_echoed() -> dict[str, Any]:
    msm = _load("fastpath/mbx-1.json")
    msm["test_keys"]["received"] = list(msm["test_keys"]["sent"])
    return msm


def _meek_reset() -> dict[str, Any]:
    msm = _load("fastpath/meek2.json")
    r = msm["test_keys"]["requests"][0]
    r["failure"], r["response"] = "connection_reset", None
    return msm


def _openvpn_tcp() -> dict[str, Any]:
    msm = _load("fastpath/openvpn.json")
    tk = msm["test_keys"]
    tk["success"], tk["failure"] = False, "connection_refused"
    tk["tcp_connect"] = [{"ip": "198.252.153.109", "port": 443,
                          "status": {"failure": "connection_refused", "success": False}}]
    return msm


def _riseup_ok() -> dict[str, Any]:
    msm = _load("fastpath/riseupvpn.json")
    tk = msm["test_keys"]
    tk["tls_handshakes"][0]["failure"] = None
    tk["requests"][0].update(failure=None, response={"code": 200, "body": "ca", "headers": {}})
    tk["tcp_connect"].append({"ip": "198.252.153.200", "port": 1194,
                              "status": {"failure": None, "success": True}})
    return msm


def _telegram_web_tls_only() -> dict[str, Any]:
    msm = _load("spec-examples/ts-020-telegram__codeblock03.json")
    tk = msm["test_keys"]
    tk["requests"] = [r for r in tk["requests"] if "web.telegram.org" not in r["request"]["url"]]
    return msm


def _fbm_nxdomain_via(tk: dict[str, Any]) -> None:
    _fbm_dns_failure(tk)
    for q in tk["queries"]:
        q["resolver_address"] = "8.8.8.8:53"


def _emptied(rel: str, *keys: str) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        msm = _load(rel)
        for key in keys:
            msm["test_keys"][key] = []
        return msm
    return build


# case → a claim it must show (so that each kind of statement is exercised)
EDITED: dict[str, tuple[Callable[[], dict[str, Any]], str]] = {
    "telegram-dc-timeouts": (_telegram_dc_timeouts, "rows.tcp_failed"),
    "telegram-dc-posts": (_telegram_dc_posts_fail, "rows.http_failed"),
    "telegram-web-reset": (_telegram_web_reset, "rows.tls_failed"),
    "whatsapp-refused": (_whatsapp_refused, "whatsapp.endpoints_tcp"),
    "signal-reset": (_signal_reset, "rows.tls_failed"),
    "fbm-foreign": (_fbm(lambda tk: _fbm_answer(tk, ipv4="5.1.2.3", asn=64500)),
                    "fbm.outside_as"),
    "fbm-bogon": (_fbm(lambda tk: _fbm_answer(tk, ipv4="10.1.2.3")), "fbm.bogon"),
    "fbm-nxdomain": (_fbm(_fbm_dns_failure), "rows.dns_failed"),
    "fbm-tcp": (_fbm(_fbm_tcp_failure), "rows.tcp_failed"),
    "dnscheck-timeouts": (_dnscheck(_dnscheck_timeouts), "dnscheck.lookup_failed"),
    "dnscheck-bootstrap": (_dnscheck(_dnscheck_bootstrap), "dnscheck.bootstrap_failed"),
    "dnscheck-nothing": (_dnscheck(lambda tk: tk.update(lookups={})), "keys.not_a"),
    "dnscheck-no-outcome": (_dnscheck(lambda tk: tk.update(lookups={"x": {}})),
                            "dnscheck.no_outcome"),
    "urlgetter-reset": (_urlgetter(_urlgetter_reset), "rows.tls_failed"),
    "urlgetter-odd": (_urlgetter(_urlgetter_odd_operation), "urlgetter.operation_failed"),
    "urlgetter-quic": (_urlgetter(_urlgetter_quic), "urlgetter.operation_failed"),
    "tor-all-fail": (_tor(_tor_all_fail), "tor.target_failed"),
    "tor-obfs4": (_tor(_tor_obfs4_fail, "spec-examples/ts-023-tor__codeblock12.json"),
                  "tor.kind_failed"),
    "tor-none-run": (_tor(_tor_none_run), "tor.none_run"),
    "vanilla-tor-no-outcome": (_keys("fastpath/vanilla_tor.json", failure=None,
                                     tor_logs=[], bootstrap_time=0, success=None),
                               "tor.no_outcome"),
    "vanilla-tor-no-progress": (_keys("fastpath/vanilla_tor.json", tor_progress=None),
                                "tor.bootstrap_failed"),
    "torsf-bootstrapped-no-time": (_keys("fastpath/torsf_2.json", bootstrap_time=0,
                                         success=True), "tor.bootstrapped"),
    "psiphon-failed": (_keys("spec-examples/ts-015-psiphon__codeblock00.json",
                             failure="generic_timeout_error"), "keys.test_failed"),
    "psiphon-no-outcome": (_keys("spec-examples/ts-015-psiphon__codeblock00.json",
                                 bootstrap_time=0), "psiphon.no_outcome"),
    "openvpn-tcp": (_openvpn_tcp, "rows.tcp_failed"),
    "openvpn-failed": (_keys("fastpath/openvpn.json", success=False, failure="eof_error"),
                       "openvpn.failed"),
    "openvpn-no-outcome": (_keys("fastpath/openvpn.json", success=None, failure=None),
                           "openvpn.no_outcome"),
    "stun-failed": (_keys("spec-examples/ts-025-stun-reachability__codeblock01.json",
                          failure="generic_timeout_error"), "stun.failed"),
    "dash-failed": (_keys("spec-examples/ts-021-dash__codeblock04.json",
                          failure="connection_reset"), "keys.test_failed"),
    "browser-odd-result": (_keys("fastpath/browser_web.json", result="maybe"), "keys.value"),
    "hhfm-changed": (_hhfm(_hhfm_changed), "hhfm.header_changed"),
    "hhfm-not-echo": (_hhfm(_hhfm_not_echo), "hhfm.not_echo"),
    "hirl-echoed": (_hirl_echoed, "hirl.unchanged"),
    "meek-reset": (_meek_reset, "rows.http_failed"),
    "meek-none": (_emptied("fastpath/meek2.json", "requests"), "meek.none"),
    "riseupvpn-ok": (_riseup_ok, "riseupvpn.gateways"),
    "riseupvpn-none": (_emptied("fastpath/riseupvpn.json", "requests", "tcp_connect",
                                "tls_handshakes", "queries"), "riseupvpn.none"),
    "telegram-web-tls-only": (_telegram_web_tls_only, "telegram.web_connected"),
    "fbm-nxdomain-via": (_fbm(_fbm_nxdomain_via), "rows.dns_failed_via"),
    "fbm-none": (_emptied("spec-examples/ts-019-facebook-messenger__codeblock07.json",
                          "queries", "tcp_connect"), "fbm.none"),
    "signal-none": (_emptied("fastpath/signal_022.json", "requests"), "signal.none"),
    "whatsapp-tls-only": (_emptied("fastpath/whatsapp.json", "requests", "tcp_connect",
                                   "queries"), "whatsapp.connected"),
    "whatsapp-none": (_emptied("fastpath/whatsapp.json", "requests", "tcp_connect", "queries",
                               "tls_handshakes"), "whatsapp.none"),
    "urlgetter-no-keys": (lambda: {**_load("spec-examples/ts-027-urlgetter__codeblock01.json"),
                                   "test_keys": {}}, "rows.none"),
    "urlgetter-no-request": (_urlgetter(lambda tk: tk.update(requests=[])),
                             "urlgetter.completed"),
}


def _cases() -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    return [(rel, lambda rel=rel: _load(rel)) for rel in _samples()] + [
        (name, build) for name, (build, _) in EDITED.items()]


CASES = _cases()


@pytest.mark.parametrize(("name", "build"), CASES, ids=[c[0] for c in CASES])
def test_evidence_is_true_data(name: str, build: Callable[[], dict[str, Any]]) -> None:
    v, facts = _scored(build())
    _assert_true_data(v, facts)
    if name in EDITED:
        assert EDITED[name][1] in {e.claim for e in _items(v)}, [e.text for e in _items(v)]


@pytest.mark.parametrize(("name", "build"), CASES, ids=[c[0] for c in CASES])
def test_evidence_from_stored_rows_is_true_data(name: str,
                                                build: Callable[[], dict[str, Any]]) -> None:
    """Re-scoring stored rows (no raw measurement): claims on raw test keys are not made."""
    v, facts = _scored(build(), raw=False)
    _assert_true_data(v, facts)


def _tampered(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 1.5
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, list):
        return [*value, "x"]
    if value is None:
        return "x"
    raise AssertionError(f"facts hold JSON scalars and lists, not {value!r}")


# facts no measurement can refute: which raw keys a scorer needed
UNCHECKED: frozenset[tuple[str, str]] = frozenset({("scorer.raw_needed", "keys")})


def _with_item(v: Verdict, old: Evidence, new: Evidence) -> Verdict:
    return dataclasses.replace(
        v, evidence=tuple(new if e is old else e for e in v.evidence),
        layers=tuple(dataclasses.replace(lv, evidence=tuple(new if e is old else e
                                                             for e in lv.evidence))
                     for lv in v.layers))


@pytest.mark.parametrize("raw", [True, False], ids=["raw", "rows"])
@pytest.mark.parametrize(("name", "build"), CASES, ids=[c[0] for c in CASES])
def test_every_tampered_fact_is_reported(name: str, build: Callable[[], dict[str, Any]],
                                         raw: bool) -> None:
    v, facts = _scored(build(), raw=raw)
    for ev in _items(v):
        for key, value in ev.facts.items():
            if (ev.claim, key) in UNCHECKED or (
                    ev.claim == "keys.not_a" and key == "key" and ev.facts["found"] == "missing"):
                continue  # (any other missing key is missing too)
            # another row may state the same (an A and an AAAA lookup failing alike)
            wrong = value + 100_000 if key == "observation" else _tampered(value)
            forged = say(ev.claim, source=ev.source, **{**ev.facts, key: wrong})
            problems = check_verdict(_with_item(v, ev, forged), facts)
            assert problems and all(p.startswith(ev.claim) for p in problems), \
                (ev.claim, key, forged.text)
        # the sentence alone changed: not the rendering of its facts
        reworded = dataclasses.replace(ev, text=ev.text + " (and more)")
        problems = check_verdict(_with_item(v, ev, reworded), facts)
        assert problems and set(problems) == {
            f"{ev.claim}: the sentence is not the rendering of its facts: {reworded.text}"}


# --- targeted tampering ---------------------------------------------------------------------

def _forge(v: Verdict, claim_id: str, **changes: Any) -> list[str]:
    ev = next(e for e in _items(v) if e.claim == claim_id)
    forged = say(claim_id, source=ev.source, **{**ev.facts, **changes})
    return check_verdict(_with_item(v, ev, forged), _FACTS[id(v)])


_FACTS: dict[int, Facts] = {}


def _scored_kept(msm: dict[str, Any], *, raw: bool = True) -> Verdict:
    v, facts = _scored(msm, raw=raw)
    _FACTS[id(v)] = facts
    return v


def test_changed_address_of_a_failed_connect_is_reported() -> None:
    v = _scored_kept(_telegram_dc_timeouts())
    ev = next(e for e in v.evidence if e.claim == "rows.tcp_failed")
    assert ev.text.startswith("TCP connect to 149.154.")
    assert ev.facts["failure"] == "generic_timeout_error"
    problems = _forge(v, "rows.tcp_failed", ip="149.154.167.99",
                      endpoint=f"149.154.167.99:{ev.facts['port']}")
    assert problems and "149.154.167.99" in problems[0]
    assert _forge(v, "rows.tcp_failed", ip="149.154.167.99")[0].startswith(
        f"rows.tcp_failed: ip is {ev.facts['ip']!r}, not '149.154.167.99'")
    assert _forge(v, "rows.tcp_failed", failure="connection_reset")
    assert _forge(v, "rows.tcp_failed", observation=10_000)[0].startswith(
        "rows.tcp_failed: the probe has no observation 10000")


def test_changed_key_value_is_reported() -> None:
    v = _scored_kept(EDITED["browser-odd-result"][0]())
    assert [e.text for e in v.evidence] == ["test_keys.result is 'maybe'"]
    assert _forge(v, "keys.value", value="ok") == [
        "keys.value: value is 'maybe', not 'ok': test_keys.result is 'ok'"]
    assert _forge(v, "keys.value", key="test_keys.load_time_ms")


def test_changed_tor_target_failure_is_reported() -> None:
    v = _scored_kept(_load("spec-examples/ts-023-tor__codeblock12.json"))
    ev = next(e for e in v.evidence if e.claim == "tor.target_failed")
    assert ev.facts["failure"].endswith("eof_error")
    assert _forge(v, "tor.target_failed", failure="connection_reset")
    assert _forge(v, "tor.targets", reachable=34)


def test_changed_dns_answers_are_reported() -> None:
    v = _scored_kept(_load("spec-examples/ts-028-dnscheck__codeblock01.json"))
    ev = next(e for e in v.evidence if e.claim == "dnscheck.resolved")
    assert _forge(v, "dnscheck.resolved", answers=["10.10.34.36"])
    assert _forge(v, "dnscheck.resolved", url="dot://1.1.1.1:853")
    assert ev.facts["domain"] == "example.org"


def test_changed_count_is_reported() -> None:
    v = _scored_kept(_load("fastpath/whatsapp.json"))
    assert _forge(v, "whatsapp.endpoints_tcp", ok=31) == [
        "whatsapp.endpoints_tcp: ok is 32, not 31: "
        "31 of 32 TCP connects to WhatsApp endpoints succeeded"]


def test_raw_claims_need_the_raw_measurement_and_raw_needed_needs_its_absence() -> None:
    msm = _load("fastpath/tor.json")
    with_raw, facts = _scored(msm)
    without_raw, rows_only = _scored(msm, raw=False)
    assert [e.claim for e in without_raw.evidence] == ["scorer.raw_needed"]
    assert check_verdict(with_raw, rows_only) == [
        f"tor.targets: {NEEDS_RAW}: 3 of 3 Tor targets reachable"]
    assert check_verdict(without_raw, facts) == [
        "scorer.raw_needed: the raw measurement was at hand: the raw measurement is needed: "
        "test_keys.targets are not in the observation rows"]


def test_key_paths() -> None:
    path = key_path("test_keys", "lookups", "dot://8.8.8.8:853", "queries", 0, "answers")
    assert path == 'test_keys.lookups["dot://8.8.8.8:853"].queries[0].answers'
    assert parse_key_path(path) == ["test_keys", "lookups", "dot://8.8.8.8:853", "queries", 0,
                                    "answers"]
    raw = {"test_keys": {"lookups": {"dot://8.8.8.8:853": {"queries": [{"answers": [1]}]}}}}
    assert lookup_key(raw, path) == [1]
    assert lookup_key(raw, "test_keys.nothing") is not None  # the missing marker, not a value
    with pytest.raises(ValueError):
        parse_key_path("test_keys..x")


def test_the_originals_are_not_edited_in_place() -> None:
    before = copy.deepcopy(_load("fastpath/tor.json"))
    _scored(before)
    assert before == _load("fastpath/tor.json")
