"""The consistency rules of cs-wc-2, one test each: mechanisms follow from the events, DNS
consensus uses what the control returned for the name anywhere from the same network (cited),
lies do not vote, a name the control never resolved is not judged on absence, and context is
compact, order-free, mergeable and picklable."""

from __future__ import annotations

import pickle
from typing import Any

from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze import AnalysisContext, analyze_batch, analyze_measurement
from censorscope.pipeline.analyze.context import UIDS_PER_FACT, Support
from tests.pipeline.analyze.labmix import problems
from tests.pipeline.analyze.msmkit import PAGE, Msm

IP, CDN = "93.184.216.34", "23.45.67.89"
HOST, OTHER = "www.example.com", "www.example.org"
SURL = f"https://{HOST}/"
CTRL_OK = {"tcp": {f"{IP}:443": (True, None)}, "tls": {f"{IP}:443": (True, None, HOST)}}


def claims(v: Verdict) -> list[str]:
    return [e.claim for e in v.evidence]


def layer(v: Verdict, name: str) -> Any:
    return next(lv for lv in v.layers if lv.layer == name)


def blocked_with_proof(events: Any) -> Msm:
    """A reset with SNI HOST at IP, while OTHER completes at IP in the same measurement."""
    m = (Msm(SURL).dns(HOST, [IP]).connect(IP, 443, sni=HOST, tls_failure="connection_reset")
         .connect(IP, 443, sni=OTHER).ctrl(addrs=[IP], **CTRL_OK))
    if events == "none":
        m.events = []
    elif events == "before":  # the reset came right after the connect: no write at all
        m.events = [e for e in m.events if not (e["operation"] == "write"
                                                and e["transaction_id"] == 3)]
    return m


def test_sni_needs_the_clienthello_written() -> None:
    after = analyze_measurement(blocked_with_proof("after").build())
    assert (after.mechanism, after.rule_id) == ("tls.reset.sni", "tls.failure_sni")
    assert claims(after)[:2] == ["tls.failed_after_hello", "tls.ok_here"]


def test_a_failure_before_the_clienthello_is_not_sni() -> None:
    v = analyze_measurement(blocked_with_proof("before").build())
    assert (v.mechanism, v.rule_id) == ("tls.reset", "tls.failure_ctrl_ok")
    assert claims(v)[0] == "tls.failed_before_hello"
    assert "no server name had been sent" in v.evidence[0].text
    assert not any("ClientHello write" in e.text for e in v.evidence)


def test_without_network_events_there_is_no_sni_and_no_timing() -> None:
    """``tls_handshake_write_count`` None (no events recorded) is not a write count: it must
    not pass ``!= 0``."""
    v = analyze_measurement(blocked_with_proof("none").build())
    assert (v.mechanism, v.rule_id) == ("tls.reset", "tls.failure_ctrl_ok")
    assert claims(v)[0] == "tls.failed"
    assert not any("ClientHello" in e.text for e in v.evidence)


def test_sni_proof_from_another_session_of_the_network_does_not_count() -> None:
    blocked = (Msm(SURL, uid="a", report="r1").dns(HOST, [IP])
               .connect(IP, 443, sni=HOST, tls_failure="generic_timeout_error")
               .ctrl(addrs=[IP], **CTRL_OK))
    same_session = (Msm(f"https://{OTHER}/", uid="b", report="r1").dns(OTHER, [IP])
                    .connect(IP, 443, sni=OTHER, http={"url": f"https://{OTHER}/",
                                                       "body": PAGE}))
    later = (Msm(f"https://{OTHER}/", uid="c", report="r2").dns(OTHER, [IP])
             .connect(IP, 443, sni=OTHER, http={"url": f"https://{OTHER}/", "body": PAGE}))
    v = analyze_batch([(blocked.build(), None), (later.build(), None)])[0]
    assert v.mechanism == "tls.timeout"
    batch = [(blocked.build(), None), (same_session.build(), None), (later.build(), None)]
    v = analyze_batch(batch)[0]
    assert v.mechanism == "tls.timeout.sni"
    proof = next(e for e in v.evidence if e.claim == "tls.ok_in_report")
    assert (proof.context_uids, proof.context_count, proof.facts["server_name"]) == (
        ("b",), 1, OTHER)
    assert problems(batch, analyze_batch(batch)) == []


def test_throttle_sni_needs_the_clienthello_written() -> None:
    def run(events: bool) -> Verdict:
        m = (Msm("https://largefile.com/").dns("largefile.com", [IP])
             .connect(IP, 443, sni="largefile.com", http={
                 "url": "https://largefile.com/", "body": "x" * 100_000,
                 "failure": "generic_timeout_error", "t": 5.0})
             .connect(IP, 443, sni=OTHER)
             .ctrl(addrs=[IP], tcp={f"{IP}:443": (True, None)},
                   tls={f"{IP}:443": (True, None, "largefile.com")},
                   http={"body_length": 16_777_216, "title": ""}))
        if not events:
            m.events = []
        return analyze_measurement(m.build())

    assert run(True).mechanism == "throttle.sni"
    assert run(False).mechanism == "throttle.ip"


def test_the_controls_answer_for_the_name_elsewhere_counts_and_is_cited() -> None:
    """The control returned CDN for HOST in another measurement from the same network: the
    probe's CDN answer is consistent, citing it; from another network it is not."""
    probe = (Msm(SURL, uid="p").dns(HOST, [CDN])
             .connect(CDN, 443, sni=HOST, tls_failure="connection_reset")
             .ctrl(addrs=[IP], **CTRL_OK))
    seen = Msm(SURL, uid="q", report="r9").dns(HOST, [CDN]).ctrl(addrs=[CDN])
    far = Msm(SURL, uid="z", asn=1, report="r9").dns(HOST, [CDN]).ctrl(addrs=[CDN])
    alone = analyze_measurement(probe.build())
    assert alone.rule_id == "dns.answer_unmatched"
    batch = [(probe.build(), None), (seen.build(), None), (far.build(), None)]
    v = analyze_batch(batch)[0]
    dns = layer(v, "dns")
    assert dns.rule_id == "dns.answer_matches_ctrl" and v.layer == "tls"
    cited = next(e for e in dns.evidence if e.claim == "control.dns_answer_elsewhere")
    assert (cited.source, cited.context_uids, cited.context_count) == ("context", ("q",), 1)
    assert problems(batch, analyze_batch(batch)) == []
    v = analyze_batch([(probe.build(), None), (far.build(), None)])[0]
    assert v.rule_id == "dns.answer_unmatched"


def test_lies_do_not_vote() -> None:
    """A bogon or a blockpage address the control returned for the name elsewhere, and an
    other resolver's answer that failed certificate validation here, are no reference."""
    for lie, cc in (("10.10.34.35", "IR"), ("127.0.0.1", "IT")):
        probe = Msm(SURL, uid="p", cc=cc).dns(HOST, [lie]).ctrl(addrs=[IP], **CTRL_OK)
        seen = Msm(SURL, uid="q", cc=cc, report="r9").dns(HOST, [lie]).ctrl(addrs=[lie])
        v = analyze_batch([(probe.build(), None), (seen.build(), None)])[0]
        assert v.outcome == "blocked" and v.layer == "dns", (lie, v.rule_id)
    m = (Msm(SURL).dns(HOST, [CDN]).dns(HOST, [CDN], engine="doh", qtype="A")
         .connect(CDN, 443, sni=HOST, tls_failure="ssl_unknown_authority")
         .ctrl(addrs=[IP], **CTRL_OK))
    v = analyze_measurement(m.build())
    assert (v.layer, v.rule_id) == ("dns", "dns.answer_unmatched")
    assert "dns.reference_vetoed" in claims(v)
    assert problems([(m.build(), None)], [v]) == []


def test_a_name_the_control_never_resolved_is_not_judged_on_absence() -> None:
    """A redirect target: no control answer for it, no other resolver. Alone it is
    insufficient at DNS (never "the control did not return"), and HTTP decides; a valid
    handshake for it does not make its blocked page a DNS lie."""
    m = (Msm("https://bit.ly/1").dns("bit.ly", [CDN]).dns(HOST, [IP])
         .connect(CDN, 443, sni="bit.ly", http={"url": "https://bit.ly/1", "code": 302,
                                                 "t": 1.1})
         .connect(IP, 443, sni=HOST)
         .connect(IP, 80, http={"url": f"http://{HOST}/", "body": "<title>No</title>x",
                                "t": 1.5})
         .ctrl(addrs=[CDN], tcp={f"{CDN}:443": (True, None)},
               tls={f"{CDN}:443": (True, None, "bit.ly")}))
    v = analyze_measurement(m.build())
    assert (v.outcome, v.layer) == ("blocked", "http")
    texts = [e.text for lv in v.layers for e in lv.evidence]
    assert not any("did not return" in t or "not among" in t for t in texts), texts
    assert problems([(m.build(), None)], [v]) == []


def test_context_keeps_few_uids_counts_all_and_is_order_free() -> None:
    ms = [Msm(SURL, uid=f"u{i:02d}", report=f"r{i}").dns(HOST, [IP]).ctrl(addrs=[IP])
          .connect(IP, 443, sni=HOST).build() for i in range(12)]
    from censorscope.pipeline.observe import measurement_row, observe

    rows = [(measurement_row(m, m["measurement_uid"]), observe(m, m["measurement_uid"]))
            for m in ms]
    forward, backward = AnalysisContext.create(), AnalysisContext.create()
    for meta, obs in rows:
        forward.learn(meta, obs)
    for meta, obs in reversed(rows):
        backward.learn(meta, obs)
    s = forward.ctrl_answers[(29049, HOST)][IP]
    assert s == Support(12, tuple(f"u{i:02d}" for i in range(UIDS_PER_FACT)))
    assert forward.valid_tls(29049, IP, HOST) == s
    for attr in ("tls_valid", "tls_from_report", "ctrl_answers"):
        assert getattr(forward, attr) == getattr(backward, attr)
    again = pickle.loads(pickle.dumps(forward.facts_only()))
    merged = AnalysisContext.create()
    merged.merge(again)
    assert merged.ctrl_answers == forward.ctrl_answers
    # the measurement itself is never cited as "another" one
    v = analyze_batch([(m, None) for m in ms])[0]
    for e in [e for lv in v.layers for e in lv.evidence] + list(v.evidence):
        assert "u00" not in e.context_uids
