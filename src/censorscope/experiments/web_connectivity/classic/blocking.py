"""The v0.4-compatible verdict keys of LTE's classic analysis (``analysisclassic.go``):
``dns_consistency`` and the linear walk that sets ``blocking`` / ``accessible`` /
``http_experiment_failure``.
"""

from __future__ import annotations

from dataclasses import dataclass

from censorscope.experiments.web_connectivity.classic.analysis import DNS_NO_ANSWER, WebAnalysis
from censorscope.experiments.web_connectivity.classic.observations import (
    TYPE_DNS,
    TYPE_HTTP,
    TYPE_TCP,
    TYPE_TLS,
    WebObservation,
)
from censorscope.model.ipinfo import is_loopback

Blocking = bool | str | None


@dataclass
class Verdict:
    """Result of the walk: ``blocking`` (False / None / a string), ``accessible`` and the
    failure that explains it (``http_experiment_failure``)."""

    blocking: Blocking = None
    accessible: bool | None = None
    http_experiment_failure: str | None = None


def dns_consistency(woa: WebAnalysis) -> str | None:
    """``consistent`` / ``inconsistent`` / None, from the classic analysis sets."""
    if (not woa.dns_lookup_unexpected_failure
            and not woa.dns_lookup_success_with_invalid_addresses_classic
            and (woa.dns_lookup_success_with_valid_address_classic
                 or woa.dns_lookup_expected_failure)):
        return "consistent"
    th_resolved_nothing = woa.control_dns_addresses is not None and not woa.control_dns_addresses
    if (woa.dns_lookup_success_with_invalid_addresses_classic
            or woa.dns_lookup_unexpected_failure
            or (woa.dns_lookup_success and th_resolved_nothing)):
        return "inconsistent"
    return None


class _Walk:
    """The ``setBlocking*`` helpers: any string verdict becomes "dns" when DNS is inconsistent."""

    def __init__(self, consistency: str | None) -> None:
        self.inconsistent = consistency == "inconsistent"
        self.verdict = Verdict()

    def false(self) -> Verdict:
        self.verdict.blocking, self.verdict.accessible = False, True
        return self.verdict

    def nil(self) -> Verdict:
        if self.inconsistent:
            self.verdict.blocking, self.verdict.accessible = "dns", False
        else:
            self.verdict.blocking, self.verdict.accessible = None, None
        return self.verdict

    def string(self, value: str) -> Verdict:
        self.verdict.blocking = "dns" if self.inconsistent else value
        self.verdict.accessible = False
        return self.verdict

    def website_down(self) -> Verdict:
        self.verdict.blocking = "dns" if self.inconsistent else False
        self.verdict.accessible = False
        return self.verdict

    def fail(self, failure: str) -> _Walk:
        self.verdict.http_experiment_failure = failure
        return self


def _only_loopback(addrs: tuple[str, ...] | None) -> bool:
    return bool(addrs) and all(is_loopback(a) for a in addrs or ())


def _step(e: WebObservation, w: _Walk, http_diff: bool) -> Verdict | None:
    """Apply the rules to one observation; None when no rule matches it."""
    if e.http_response_is_final:
        if e.tls_handshake_failure == "":
            return w.false()  # HTTPS success is always "accessible" (ooni/probe#2661)
        if e.control_http_failure is None:
            return w.nil()
        return w.string("http-diff") if http_diff else w.false()
    if e.type == TYPE_HTTP and e.failure:
        w.fail(e.failure)
        if e.control_http_failure is None:
            return w.nil()
        return w.website_down() if e.control_http_failure else w.string("http-failure")
    if e.type in (TYPE_TLS, TYPE_TCP) and e.failure:
        w.fail(e.failure)
        control = (e.control_tls_handshake_failure if e.type == TYPE_TLS
                   else e.control_tcp_connect_failure)
        if control is None:  # no TH data for this endpoint (e.g. after a redirect)
            return w.nil() if e.control_http_failure is None else w.string("http-failure")
        if control:
            return w.website_down()
        return w.string("http-failure" if e.type == TYPE_TLS else "tcp_ip")
    if e.type == TYPE_DNS and e.failure:
        if e.control_dns_lookup_failure is None:  # redirect domain, or no control at all
            w.fail(e.failure)
            return w.false() if e.control_http_failure is None else w.string("dns")
        if e.control_dns_lookup_failure:
            return w.fail(e.failure).website_down()
        if e.failure == DNS_NO_ANSWER and not e.control_dns_resolved_addrs:
            return w.website_down()
        return w.fail(e.failure).string("dns")
    if (e.type == TYPE_DNS and not e.failure and e.control_dns_lookup_failure == ""
            and _only_loopback(e.dns_resolved_addrs)):
        # the probe never connects to loopback: blocked unless the TH also got loopback only
        if _only_loopback(e.control_dns_resolved_addrs):
            return w.website_down()
        return w.string("dns")
    return None


def classic_blocking(woa: WebAnalysis, consistency: str | None, http_diff: bool) -> Verdict:
    """Walk ``woa.linear``; the first observation a rule matches decides."""
    walk = _Walk(consistency)
    for entry in woa.linear:
        verdict = _step(entry, walk, http_diff)
        if verdict is not None:
            return verdict
    return walk.verdict
