"""One synthetic measurement per Web Connectivity rule: the rule fires, with the outcome,
layer and mechanism of the rule table, and the evidence names the concrete facts.

The measurements carry misleading probe verdict keys (``msmkit``), so a rule reading them fails.
Every rule id of ``rules.WEB_CONNECTIVITY`` must be exercised here (the coverage test at the end).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze import AnalysisContext, analyze_batch, analyze_measurement
from censorscope.pipeline.rules import RULES_BY_ID, WEB_CONNECTIVITY
from tests.pipeline.analyze.msmkit import LAB, PAGE, Msm

IP, IP2, CDN = "93.184.216.34", "93.184.216.35", "23.45.67.89"
URL, SURL = "http://www.example.com/", "https://www.example.com/"
HOST = "www.example.com"
CTRL_OK = {"tcp": {f"{IP}:443": (True, None), f"{IP}:80": (True, None)},
           "tls": {f"{IP}:443": (True, None, HOST)}}


def ok_page(url: str = URL) -> dict[str, Any]:
    return {"url": url, "body": PAGE}


def verdict_of(m: Msm, ctx: AnalysisContext | None = None) -> Verdict:
    return analyze_measurement(m.build(), ctx or AnalysisContext.create())


CASES: dict[str, tuple[Callable[[], Msm], str, str | None, str | None, list[str]]] = {
    # rule id: (measurement, outcome, layer, mechanism, words the evidence must contain)
    "dns.blockpage_ip": (lambda: Msm(URL, cc="IR").dns(HOST, ["10.10.34.35"])
                         .ctrl(addrs=[IP], **CTRL_OK),
                         "blocked", "dns", "dns.injection.blockpage", ["10.10.34.35"]),
    "dns.bogon_not_in_ctrl": (lambda: Msm(URL).dns(HOST, ["10.0.0.7"]).ctrl(addrs=[IP]),
                              "blocked", "dns", "dns.injection.bogon", ["10.0.0.7", IP]),
    "dns.bogon_in_ctrl": (lambda: Msm(URL).dns(HOST, ["10.0.0.7"]).ctrl(addrs=["10.0.0.7"]),
                          "down", None, None, ["10.0.0.7"]),
    "dns.failure_ctrl_ok": (lambda: Msm(URL).dns(HOST, failure="dns_nxdomain_error")
                            .ctrl(addrs=[IP]), "blocked", "dns", "dns.nxdomain",
                            ["dns_nxdomain_error", IP]),
    "dns.failure_ctrl_also_failing": (
        lambda: Msm(URL).dns(HOST, failure="dns_nxdomain_error")
        .ctrl(dns_failure="dns_name_error", http={"failure": "dns_lookup_error",
                                                  "status_code": -1}),
        "down", None, None, ["dns_nxdomain_error"]),
    "dns.failure_no_ctrl": (lambda: Msm(URL).dns(HOST, failure="dns_refused_error"),
                            "insufficient", None, None, ["dns_refused_error"]),
    "dns.tls_consistent": (
        lambda: Msm(SURL).dns(HOST, [CDN]).connect(CDN, 443, sni=HOST, http=ok_page(SURL))
        .ctrl(addrs=[IP], **CTRL_OK), "ok", None, None, [CDN, "valid certificate"]),
    "dns.proxy_blockpage": (
        lambda: Msm(URL).dns(HOST, [CDN]).connect(CDN, 443, sni=HOST)
        .connect(CDN, 80, http={"url": URL, "body": "<title>Stop</title>denied"})
        .ctrl(addrs=[IP], **CTRL_OK), "blocked", "dns", "dns.injection.other",
        [CDN, "valid certificate", "went to"]),
    "dns.answer_matches_ctrl": (
        lambda: Msm(URL).dns(HOST, [IP]).ctrl(addrs=[IP]), "ok", None, None, [IP]),
    "dns.answer_asn_matches_ctrl": (
        lambda: Msm(URL).dns(HOST, [IP2], asn=15133).dns(HOST, [IP], engine="doh", qtype="A",
                                                         asn=15133).ctrl(addrs=[]),
        "ok", None, None, [IP2]),
    "dns.answer_ctrl_nxdomain": (
        lambda: Msm(URL).dns(HOST, [IP2]).ctrl(dns_failure="dns_name_error"),
        "blocked", "dns", "dns.injection.other", [IP2, "does not exist"]),
    "dns.answer_unmatched_no_ctrl": (lambda: Msm(URL).dns(HOST, [IP2]), "insufficient", None,
                                     None, [IP2]),
    "dns.answer_unmatched": (
        lambda: Msm(URL).dns(HOST, ["172.217.17.228"]).ctrl(addrs=[IP]),
        "blocked", "dns", "dns.injection.other", ["172.217.17.228", IP]),
    "tcp.connect_ok": (lambda: Msm(URL).dns(HOST, [IP]).connect(IP, 80, http=ok_page())
                       .ctrl(addrs=[IP], **CTRL_OK), "ok", None, None, []),
    "tcp.ipv6_unreachable": (
        lambda: Msm(URL).dns(HOST, [IP, "2606:2800::1"]).connect(IP, 80, http=ok_page())
        .connect("2606:2800::1", 80, "host_unreachable").ctrl(addrs=[IP], **CTRL_OK),
        "ok", None, None, []),
    "tcp.failure_ctrl_ok": (
        lambda: Msm(SURL).dns(HOST, [IP]).connect(IP, 443, "generic_timeout_error")
        .ctrl(addrs=[IP], **CTRL_OK), "blocked", "tcp", "tcp.timeout",
        [f"{IP}:443", "generic_timeout_error"]),
    "tcp.failure_ctrl_also_failing": (
        lambda: Msm(SURL).dns(HOST, [IP]).connect(IP, 443, "connection_refused")
        .ctrl(addrs=[IP], tcp={f"{IP}:443": (False, "connection_refused_error")},
              http={"failure": "connection_refused_error", "status_code": -1}),
        "down", None, None, ["connection_refused"]),
    "tcp.failure_no_ctrl": (
        lambda: Msm(SURL).dns(HOST, [IP]).dns(HOST, [IP], engine="doh", qtype="A")
        .connect(IP, 443, "connection_reset"),
        "insufficient", None, None, ["connection_reset"]),
    "tls.handshake_ok": (
        lambda: Msm(SURL).dns(HOST, [IP]).connect(IP, 443, sni=HOST, http=ok_page(SURL))
        .ctrl(addrs=[IP], **CTRL_OK), "ok", None, None, []),
    "tls.failure_sni": (
        lambda: Msm(SURL).dns(HOST, [IP]).connect(IP, 443, sni=HOST,
                                                  tls_failure="generic_timeout_error")
        .connect(IP, 443, sni="www.example.org").ctrl(addrs=[IP], **CTRL_OK),
        "blocked", "tls", "tls.timeout.sni",
        [f"{IP}:443", f"SNI {HOST}", "2.0 s after the ClientHello write (517 bytes)",
         "www.example.org"]),
    "tls.failure_ctrl_ok": (
        lambda: Msm(SURL).dns(HOST, [IP]).connect(IP, 443, sni=HOST,
                                                  tls_failure="connection_reset")
        .ctrl(addrs=[IP], **CTRL_OK), "blocked", "tls", "tls.reset", ["was reset"]),
    "tls.failure_ctrl_also_failing": (
        lambda: Msm(SURL).dns(HOST, [IP]).connect(IP, 443, sni=HOST,
                                                  tls_failure="ssl_invalid_certificate")
        .ctrl(addrs=[IP], tcp={f"{IP}:443": (True, None)},
              tls={f"{IP}:443": (False, "ssl_invalid_certificate", HOST)},
              http={"failure": "ssl_invalid_certificate", "status_code": -1}),
        "down", None, None, ["ssl_invalid_certificate"]),
    "tls.failure_no_ctrl": (
        lambda: Msm(SURL).dns(HOST, [IP]).dns(HOST, [IP], engine="doh", qtype="A")
        .connect(IP, 443, sni=HOST, tls_failure="eof_error"),
        "insufficient", None, None, ["was closed (EOF)", "no control"]),
    "http.blockpage": (
        lambda: Msm(URL, cc="AF").dns(HOST, [IP]).connect(IP, 80, http={
            "url": URL, "body": '<meta content="Access Denied - Afghan Wireless Communication '
                                'Company">'}).ctrl(addrs=[IP], **CTRL_OK),
        "blocked", "http", "http.blockpage", ["ooni.af_0"]),
    "http.cdn_challenge": (
        lambda: Msm(URL).dns(HOST, [IP]).connect(IP, 80, http={
            "url": URL, "code": 503, "body": "<title>Just a moment...</title>Checking your "
            "browser before accessing"}).ctrl(addrs=[IP], **CTRL_OK),
        "down", None, None, ["not a blockpage"]),
    "http.redirect_loop": (
        lambda: Msm(URL).dns(HOST, [IP]).connect(IP, 80, http={
            "url": URL, "code": 302, "failure": "unknown_failure: stopped after too many "
            "redirects"}).ctrl(addrs=[IP], **CTRL_OK), "down", None, None, ["redirects"]),
    "http.failure_ctrl_ok": (
        lambda: Msm(URL).dns(HOST, [IP]).connect(IP, 80, http={
            "url": URL, "code": 0, "body": None, "failure": "connection_reset"})
        .ctrl(addrs=[IP], **CTRL_OK), "blocked", "http", "http.reset",
        ["connection_reset", f"{IP}:80"]),
    "http.failure_ctrl_also_failing": (
        lambda: Msm(URL).dns(HOST, [IP]).connect(IP, 80, http={
            "url": URL, "code": 0, "body": None, "failure": "eof_error"})
        .ctrl(addrs=[IP], **CTRL_OK, http={"failure": "eof_error", "status_code": -1}),
        "down", None, None, ["eof_error"]),
    "http.failure_no_ctrl": (
        lambda: Msm(URL).dns(HOST, [IP]).dns(HOST, [IP], engine="doh", qtype="A")
        .connect(IP, 80, http={"url": URL, "code": 0, "body": None,
                               "failure": "generic_timeout_error"}),
        "insufficient", None, None, ["generic_timeout_error"]),
    "http.diff": (
        lambda: Msm(URL).dns(HOST, [IP]).connect(IP, 80, http={
            "url": URL, "body": "<title>Forbidden</title>no"}).ctrl(addrs=[IP], **CTRL_OK),
        "blocked", "http", "http.diff", ["Forbidden", "Example Domain"]),
    "http.ok_no_ctrl": (
        lambda: Msm(URL).dns(HOST, [IP]).dns(HOST, [IP], engine="doh", qtype="A")
        .connect(IP, 80, http=ok_page()), "ok", None, None, ["no control"]),
    "http.matches_ctrl": (
        lambda: Msm(URL).dns(HOST, [IP]).connect(IP, 80, http=ok_page())
        .ctrl(addrs=[IP], **CTRL_OK), "ok", None, None, ["matches the control"]),
    "throttle.slow_download": (
        lambda: Msm("http://largefile.com/").dns("largefile.com", [IP])
        .connect(IP, 80, http={"url": "http://largefile.com/", "body": "x" * 100_000,
                               "failure": "generic_timeout_error", "t": 5.0})
        .ctrl(addrs=[IP], **CTRL_OK, http={"body_length": 16_777_216, "title": ""}),
        "impaired", "throttling", "throttle.ip", ["100000 bytes", "16777216", "kB/s"]),
    "web.no_data": (lambda: Msm(URL), "insufficient", None, None, []),
    "web.ok": (lambda: Msm(URL).dns(HOST, [IP]).connect(IP, 80, http=ok_page())
               .ctrl(addrs=[IP], **CTRL_OK), "ok", None, None, []),
    "web.insufficient": (lambda: Msm(URL).dns(HOST, failure="dns_no_answer", qtype="AAAA"),
                         "insufficient", None, None, ["AAAA"]),
}
# rules that fire as layer verdicts inside an ok measurement: checked on the layer
LAYER_ONLY = {"dns.tls_consistent", "dns.answer_matches_ctrl", "dns.answer_asn_matches_ctrl",
              "tcp.connect_ok", "tcp.ipv6_unreachable", "tls.handshake_ok", "http.ok_no_ctrl",
              "http.matches_ctrl"}
NO_VERDICT = {"dns.no_data", "tcp.no_data", "tls.no_data", "http.no_data",
              "registry.no_scorer"}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule(rule_id: str) -> None:
    build, outcome, layer, mechanism, words = CASES[rule_id]
    v = verdict_of(build())
    assert (v.outcome, v.layer, v.mechanism) == (outcome, layer, mechanism), v
    fired = {lv.rule_id for lv in v.layers} | {v.rule_id}
    assert rule_id in fired, (rule_id, fired)
    if rule_id not in LAYER_ONLY:
        assert v.rule_id == rule_id
    text = " ".join(e.text for e in v.evidence + tuple(e for lv in v.layers
                                                         for e in lv.evidence))
    for word in words:
        assert word in text, (word, text)
    rule = RULES_BY_ID[rule_id]
    if rule.outcome is not None and v.rule_id == rule_id:
        assert v.outcome == rule.outcome
        if rule.mechanism not in (None, "*"):
            assert v.mechanism == rule.mechanism


def test_every_rule_is_exercised() -> None:
    assert WEB_CONNECTIVITY.rule_ids - NO_VERDICT == set(CASES)


def test_mat_flags_and_blocking_follow_the_outcome() -> None:
    blocked = verdict_of(CASES["tls.failure_ctrl_ok"][0]())
    assert (blocked.blocking, blocked.anomaly, blocked.confirmed, blocked.failure) == (
        "tls", True, False, False)
    confirmed = verdict_of(CASES["dns.blockpage_ip"][0]())
    assert confirmed.confirmed and confirmed.fingerprints and confirmed.blocking == "dns"
    down = verdict_of(CASES["tcp.failure_ctrl_also_failing"][0]())
    assert (down.blocking, down.anomaly) == (False, False)
    unsure = verdict_of(CASES["web.no_data"][0]())
    assert (unsure.blocking, unsure.failure) == (None, True)


def test_cdn_answers_with_valid_tls_elsewhere_are_not_dns_blocking() -> None:
    """The AZ false positive: the probe's answer is a CDN cache the control did not return,
    and the probe's own handshake there times out (SNI). A valid handshake at that IP for the
    name in another measurement from the same network (cited as context) makes the answer
    consistent once the failure here is shown SNI-triggered (another name completed at the IP
    in the same probe session): the verdict is TLS, not DNS. From another network it is no
    evidence."""
    tiktok, url = "www.tiktok.com", "https://www.tiktok.com/"
    blocked = (Msm(url, uid="blocked").dns(tiktok, [CDN])
               .connect(CDN, 443, sni=tiktok, tls_failure="generic_timeout_error")
               .ctrl(addrs=[IP], tcp={f"{IP}:443": (True, None)},
                     tls={f"{IP}:443": (True, None, tiktok)}))
    alone = analyze_measurement(blocked.build(), AnalysisContext.create())
    assert (alone.layer, alone.mechanism) == ("dns", "dns.injection.other")

    elsewhere = (Msm(url, uid="earlier", report="r0").dns(tiktok, [CDN])
                 .connect(CDN, 443, sni=tiktok, http=ok_page(url)))
    aztel = (Msm(url, asn=28787, uid="aztel").dns(tiktok, [CDN])
             .connect(CDN, 443, sni=tiktok, http=ok_page(url)))
    other_name = (Msm("https://www.example.org/", uid="other").dns("www.example.org", [CDN])
                  .connect(CDN, 443, sni="www.example.org", http=ok_page()))
    verdicts = analyze_batch([(m.build(), None) for m in (blocked, elsewhere, other_name)],
                             AnalysisContext.create())
    v = verdicts[0]
    assert (v.outcome, v.layer, v.mechanism) == ("blocked", "tls", "tls.timeout.sni")
    dns = next(lv for lv in v.layers if lv.layer == "dns")
    assert dns.outcome == "ok" and dns.rule_id == "dns.tls_consistent"
    text = " ".join(e.text for e in v.evidence)
    assert f"TLS handshake to {CDN}:443 with SNI {tiktok} timed out" in v.evidence[0].text
    assert "www.example.org" in text and "AS29049" in text
    proof = next(e for e in v.evidence if e.claim == "tls.ok_in_report")
    assert (proof.source, proof.context_uids, proof.context_count) == ("context", ("other",), 1)
    valid = next(e for e in dns.evidence if e.claim == "dns.tls_valid_elsewhere")
    assert (valid.context_uids, valid.context_count) == (("earlier",), 1)

    other_network = analyze_batch([(m.build(), None) for m in (blocked, aztel, other_name)],
                                  AnalysisContext.create())[0]
    assert (other_network.layer, other_network.rule_id) == ("dns", "dns.answer_unmatched")


def test_sni_needs_the_same_network() -> None:
    """A handshake with another name at the IP from another network is no SNI evidence."""
    blocked = (Msm(SURL, uid="a").dns(HOST, [IP])
               .connect(IP, 443, sni=HOST, tls_failure="connection_reset")
               .ctrl(addrs=[IP], **CTRL_OK))
    other = Msm("https://www.example.org/", asn=1, uid="b").dns("www.example.org", [IP]) \
        .connect(IP, 443, sni="www.example.org", http=ok_page())
    v = analyze_batch([(blocked.build(), None), (other.build(), None)])[0]
    assert v.mechanism == "tls.reset"


def test_lab_ranges_are_public_only_when_asked() -> None:
    m = Msm(URL).dns(HOST, ["198.19.216.40"]).connect("198.19.216.40", 80, http=ok_page()) \
        .ctrl(addrs=["198.19.216.34"], **CTRL_OK)
    strict = analyze_measurement(m.build(), AnalysisContext.create())
    assert strict.mechanism == "dns.injection.bogon"
    lab = analyze_measurement(m.build(), AnalysisContext.create(public_ranges=LAB))
    assert lab.mechanism == "dns.injection.other"


def test_stored_rows_alone_match_http_fingerprints() -> None:
    """``reprocess`` has no raw file: the small body kept in the observation row is enough."""
    from censorscope.pipeline.analyze import score
    from censorscope.pipeline.observe import measurement_row, observe

    msm = CASES["http.blockpage"][0]().build()
    meta, rows = measurement_row(msm, "m1"), observe(msm, "m1")
    ctx = AnalysisContext.create()
    ctx.learn(meta, rows)
    from_rows = score(meta, rows, ctx)
    from_raw = score(meta, rows, ctx, msm)
    assert from_rows == from_raw
    assert from_rows.mechanism == "http.blockpage" and from_rows.confirmed
