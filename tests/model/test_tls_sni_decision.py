"""The per-IP decision of the TLS SNI A/B test (``censorscope.model.tls_sni.decide``).

Each case is a set of attempts as the probe records them (or as the pipeline reads them back
from observation rows, where a failed connect has no role); the verdict and its reason must
follow from the events alone.
"""

from __future__ import annotations

import pytest

from censorscope.model.tls_sni import REASONS, Attempt, decide, summary_verdict

HELLO = 517  # bytes of a ClientHello
ANSWER = 4096  # bytes of a server's first flight


def ok(role: str) -> Attempt:
    return Attempt(role, None, True, None, HELLO, ANSWER)  # type: ignore[arg-type]


def failed(role: str, failure: str, *, hello: int = HELLO, answer: int = 0) -> Attempt:
    return Attempt(role, None, True, failure, hello, answer)  # type: ignore[arg-type]


def no_connect(failure: str, role: str | None = None) -> Attempt:
    return Attempt(role, failure, False)  # type: ignore[arg-type]


@pytest.mark.parametrize("failure", ["generic_timeout_error", "connection_reset", "eof_error"])
def test_target_fails_after_hello_while_control_completes_is_sni_triggered(failure: str) -> None:
    d = decide([ok("control"), ok("no_sni"), failed("target", failure)])
    assert (d.verdict, d.reason) == ("sni_triggered", "name_triggered")
    assert d.decisive is not None and d.decisive.tls_failure == failure


def test_an_alert_from_the_control_is_an_answer_too() -> None:
    alert = failed("control", "ssl_failed_handshake", answer=7)
    d = decide([alert, failed("no_sni", "ssl_failed_handshake", answer=7),
                failed("target", "generic_timeout_error")])
    assert d.verdict == "sni_triggered"


def test_no_sni_answering_is_enough_when_the_control_name_is_blocked_too() -> None:
    d = decide([failed("control", "generic_timeout_error"), ok("no_sni"),
                failed("target", "generic_timeout_error")])
    assert d.verdict == "sni_triggered"


def test_a_failure_before_the_client_hello_is_never_name_triggered() -> None:
    d = decide([ok("control"), ok("no_sni"),
                failed("target", "connection_reset", hello=0)])
    assert (d.verdict, d.reason) == ("inconclusive", "hello_not_written")


def test_every_connect_failing_is_ip_blocked() -> None:
    d = decide([no_connect("generic_timeout_error")] * 3)
    assert (d.verdict, d.reason) == ("ip_blocked", "connect_failed")
    assert decide([no_connect("connection_reset")] * 3).verdict == "ip_blocked"


@pytest.mark.parametrize("failure", ["connection_refused", "network_unreachable"])
def test_connects_failing_as_a_down_server_or_missing_route_would_are_inconclusive(
        failure: str) -> None:
    d = decide([no_connect(failure)] * 3)
    assert (d.verdict, d.reason) == ("inconclusive", "connect_failed_other")


def test_all_handshakes_failing_alike_before_any_answer_is_ip_blocked() -> None:
    d = decide([failed(r, "generic_timeout_error") for r in ("control", "no_sni", "target")])
    assert (d.verdict, d.reason) == ("ip_blocked", "all_handshakes_failed")


def test_handshakes_failing_differently_without_answers_are_inconclusive() -> None:
    d = decide([failed("control", "connection_reset"), failed("no_sni", "generic_timeout_error"),
                failed("target", "generic_timeout_error")])
    assert (d.verdict, d.reason) == ("inconclusive", "no_comparison")


def test_target_completing_is_ok_whatever_the_others_did() -> None:
    d = decide([failed("control", "generic_timeout_error"), no_connect("generic_timeout_error"),
                ok("target")])
    assert (d.verdict, d.reason) == ("ok", "target_completed")


@pytest.mark.parametrize("failure", ["ssl_invalid_hostname", "ssl_unknown_authority",
                                     "ssl_invalid_certificate"])
def test_certificate_problems_only_are_inconclusive(failure: str) -> None:
    d = decide([ok("control"), ok("no_sni"), failed("target", failure, answer=3000)])
    assert (d.verdict, d.reason) == ("inconclusive", "certificate")


def test_target_connect_failing_alone_is_inconclusive() -> None:
    d = decide([ok("control"), ok("no_sni"), no_connect("generic_timeout_error")])
    assert (d.verdict, d.reason) == ("inconclusive", "target_connect_failed")


def test_other_target_failures_are_inconclusive() -> None:
    d = decide([ok("control"), ok("no_sni"), failed("target", "ssl_failed_handshake", answer=7)])
    assert (d.verdict, d.reason) == ("inconclusive", "other")
    assert decide([]).verdict == "inconclusive"


def test_every_reason_has_a_sentence_and_the_summary_ranks_verdicts() -> None:
    assert decide([ok("target")]).explanation == REASONS["target_completed"]
    assert summary_verdict(["ok", "sni_triggered", "ip_blocked"]) == "sni_triggered"
    assert summary_verdict(["ok", "ip_blocked", "inconclusive"]) == "ip_blocked"
    assert summary_verdict(["inconclusive", "ok"]) == "ok"
    assert summary_verdict([]) == "inconclusive"
