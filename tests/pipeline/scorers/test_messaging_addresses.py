"""The messaging scorers on data-centre and service addresses they cannot know beforehand: the
Telegram data centres are whatever the test POSTs to (OONI's rule, not a list of Telegram
networks), and a Facebook answer in a range the analysis counts as public (``--lab``,
``--public-range``) is no bogon. Real samples, edited."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import orjson

from censorscope.pipeline.analyze.analyzer import analyze_measurement
from censorscope.pipeline.analyze.context import AnalysisContext

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "data" / "ooni-samples"


def _load(rel: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((SAMPLES / rel).read_bytes())
    return data


def _telegram_moved(connects_fail: bool) -> dict[str, Any]:
    """The real telegram sample with its data centres moved to 198.51.100.N."""
    msm = _load("spec-examples/ts-020-telegram__codeblock03.json")
    tk = msm["test_keys"]
    moved: dict[str, str] = {}

    def move(ip: str) -> str:
        return moved.setdefault(ip, f"198.51.100.{len(moved) + 1}")

    for c in tk["tcp_connect"]:
        if c["ip"] != "149.154.167.99":  # web.telegram.org
            c["ip"] = move(c["ip"])
            if connects_fail:
                c["status"] = {"failure": "generic_timeout_error", "success": False}
    for r in tk["requests"]:
        url = r["request"]["url"]
        if r["request"]["method"] == "POST":
            host = url.split("//", 1)[1].split("/", 1)[0].split(":")[0]
            r["request"]["url"] = url.replace(host, move(host))
            r["address"] = (r.get("address") or "").replace(host, move(host))
            if connects_fail:
                r["failure"], r["response"] = "generic_timeout_error", None
    assert moved and not any(ipaddress.ip_address(ip) in ipaddress.ip_network("149.154.0.0/16")
                             for ip in moved.values())
    return msm


def test_telegram_data_centres_are_the_posts_whatever_their_address() -> None:
    ok = analyze_measurement(_telegram_moved(False), AnalysisContext(), uid="u1")
    assert ok.rule_id == "telegram.ok"
    assert any("TCP connects to Telegram data centres succeeded" in e.text
               for e in ok.evidence)
    blocked = analyze_measurement(_telegram_moved(True), AnalysisContext(), uid="u2")
    assert (blocked.outcome, blocked.layer, blocked.rule_id) == (
        "blocked", "tcp", "telegram.dc.unreachable")
    assert any("198.51.100." in e.text and "generic_timeout_error" in e.text
               for e in blocked.evidence)


def test_facebook_answer_in_a_public_range_is_no_bogon() -> None:
    msm = _load("spec-examples/ts-019-facebook-messenger__codeblock07.json")
    tk = msm["test_keys"]
    for q in tk["queries"]:
        for a in q["answers"]:
            if a.get("ipv4"):
                a.update(ipv4="198.19.64.1", asn=32934)
    for c in tk["tcp_connect"]:
        c["ip"] = "198.19.64.1"
    lab = AnalysisContext(public_ranges=(ipaddress.ip_network("198.18.0.0/15"),))
    assert analyze_measurement(msm, lab, uid="u1").rule_id == "fbm.ok"
    assert analyze_measurement(msm, AnalysisContext(), uid="u2").rule_id == "fbm.dns.bogon"
