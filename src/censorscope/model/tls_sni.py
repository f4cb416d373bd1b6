"""The TLS SNI A/B decision for one IP: does a server name trigger the failure, or the IP?

The ``tls_sni`` experiment dials each IP three times (the target's server name, a control
name, no SNI) and records every connect, handshake and read/write. This module decides, from
those facts alone, what happened at one IP; the probe writes the result as a hint
(``test_keys.results[].verdict``) and the pipeline's ``tls_sni`` scorer re-decides from the
observation rows with this same function, so both apply one definition.

One :class:`Attempt` is one connect (+ handshake). Its ``role`` is ``"target"``,
``"control"``, ``"no_sni"``, or None when a failed connect left no handshake record to tell
which it was (the rows of a stored measurement cannot). :func:`decide` answers, in order:

1. the target's handshake completed → ``ok`` (``target_completed``);
2. every connect failed: with a timeout, reset or unreachable host → ``ip_blocked``
   (``connect_failed``); otherwise (refused: a server that does not listen explains it;
   network unreachable: a probe without a route, e.g. IPv6) → ``inconclusive``
   (``connect_failed_other``);
3. the target's own connect failed while another connected → ``inconclusive``
   (``target_connect_failed``);
4. the target's handshake failed on its certificate (``ssl_invalid_hostname`` …) →
   ``inconclusive`` (``certificate``): the server answered;
5. the target's handshake failed with a timeout, reset or EOF *after* its ClientHello (which
   carries the name) was written, and a control or no-SNI handshake at the same IP got an
   answer (completed, or at least read bytes: a ServerHello or an alert) → ``sni_triggered``
   (``name_triggered``);
6. the same, but every handshake at the IP connected, wrote its ClientHello and failed with
   that same failure before reading anything → ``ip_blocked`` (``all_handshakes_failed``):
   the name made no difference;
7. anything else → ``inconclusive``: the ClientHello was never written
   (``hello_not_written``), no other handshake answered to compare with (``no_comparison``),
   or another failure (``other``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "BLOCKING_CONNECT_FAILURES",
    "CERTIFICATE_FAILURES",
    "REASONS",
    "ROLES",
    "SNI_FAILURES",
    "VERDICTS",
    "Attempt",
    "IPDecision",
    "Role",
    "decide",
    "summary_verdict",
]

Verdict = Literal["sni_triggered", "ip_blocked", "ok", "inconclusive"]
Role = Literal["target", "control", "no_sni"]

VERDICTS: Final[tuple[Verdict, ...]] = ("sni_triggered", "ip_blocked", "ok", "inconclusive")
ROLES: Final[tuple[Role, ...]] = ("target", "control", "no_sni")

# handshake failures a censor's DROP / RST / injected FIN produce after the ClientHello
SNI_FAILURES: Final = frozenset({"generic_timeout_error", "connection_reset", "eof_error"})
# connect failures a censor dropping or resetting everything to the IP produces
# (not ``network_unreachable``: a probe without an IPv6 route gets it for every AAAA answer)
BLOCKING_CONNECT_FAILURES: Final = frozenset({
    "generic_timeout_error", "timed_out", "connection_reset", "host_unreachable"})
# the server answered, with a certificate that does not validate for the name
CERTIFICATE_FAILURES: Final = frozenset({
    "ssl_invalid_hostname", "ssl_unknown_authority", "ssl_invalid_certificate"})

# reason code → the sentence the probe writes and the scorer's evidence repeats
REASONS: Final[dict[str, str]] = {
    "no_attempt": "nothing was tried at this IP",
    "target_completed": "the handshake with the target name completed",
    "connect_failed": "every TCP connect to the IP failed, whatever the name",
    "connect_failed_other": "every TCP connect failed, in a way a server that does not "
                            "listen also explains",
    "target_connect_failed": "the target's TCP connect failed while another connected",
    "certificate": "the server answered the target name with a certificate that does not "
                   "validate",
    "name_triggered": "the handshake with the target name failed after its ClientHello was "
                      "written, while another handshake at the same IP got an answer",
    "all_handshakes_failed": "every handshake at the IP failed alike after its ClientHello, "
                             "before any answer, whatever the name",
    "hello_not_written": "the target's ClientHello was never written",
    "no_comparison": "the target's handshake failed after its ClientHello, but no other "
                     "handshake at the IP got an answer to compare with",
    "other": "the target's handshake failed in a way that points at neither the name nor "
             "the IP",
}


@dataclass(frozen=True)
class Attempt:
    """One connect (+ TLS handshake) to the IP: the connect's failure (None: connected),
    whether a handshake ran and its failure (None: completed), and the bytes written
    (the ClientHello) and read (the server's answer) during the handshake."""

    role: Role | None
    connect_failure: str | None
    tls_attempted: bool
    tls_failure: str | None = None
    hello_bytes: int = 0
    answer_bytes: int = 0

    @property
    def connected(self) -> bool:
        return self.connect_failure is None

    @property
    def completed(self) -> bool:
        return self.tls_attempted and self.tls_failure is None

    @property
    def answered(self) -> bool:
        """The server sent something back: the handshake completed or bytes were read."""
        return self.completed or (self.tls_attempted and self.answer_bytes > 0)

    @property
    def hello_written(self) -> bool:
        return self.tls_attempted and self.hello_bytes > 0


@dataclass(frozen=True)
class IPDecision:
    """The verdict for one IP, its reason code (a key of :data:`REASONS`) and the attempt
    that decided it (the target's handshake, or the first failed connect; None without one)."""

    verdict: Verdict
    reason: str
    decisive: Attempt | None = None

    @property
    def explanation(self) -> str:
        return REASONS[self.reason]


def decide(attempts: Sequence[Attempt]) -> IPDecision:
    """The verdict for one IP from all its attempts (see the module docstring)."""
    if not attempts:
        return IPDecision("inconclusive", "no_attempt")
    target = next((a for a in attempts if a.role == "target" and a.tls_attempted), None)
    if target is not None and target.completed:
        return IPDecision("ok", "target_completed", target)
    failed_connects = [a for a in attempts if not a.connected]
    if len(failed_connects) == len(attempts):
        first = failed_connects[0]
        if all(a.connect_failure in BLOCKING_CONNECT_FAILURES for a in failed_connects):
            return IPDecision("ip_blocked", "connect_failed", first)
        return IPDecision("inconclusive", "connect_failed_other", first)
    if target is None:
        return IPDecision("inconclusive", "target_connect_failed", failed_connects[0]
                          if failed_connects else None)
    if target.tls_failure in CERTIFICATE_FAILURES:
        return IPDecision("inconclusive", "certificate", target)
    if not target.hello_written:
        return IPDecision("inconclusive", "hello_not_written", target)
    if target.tls_failure not in SNI_FAILURES:
        return IPDecision("inconclusive", "other", target)
    others = [a for a in attempts if a is not target]
    if any(a.role in ("control", "no_sni") and a.answered for a in others):
        return IPDecision("sni_triggered", "name_triggered", target)
    if others and all(a.tls_attempted and a.hello_written and not a.answered
                      and a.tls_failure == target.tls_failure for a in others) \
            and target.answer_bytes == 0:
        return IPDecision("ip_blocked", "all_handshakes_failed", target)
    return IPDecision("inconclusive", "no_comparison", target)


def summary_verdict(verdicts: Sequence[str]) -> Verdict:
    """The measurement's verdict from its IPs': any ``sni_triggered``, else any
    ``ip_blocked``, else any ``ok``, else ``inconclusive`` (also for no IP at all)."""
    ranked: tuple[Verdict, ...] = ("sni_triggered", "ip_blocked", "ok")
    for v in ranked:
        if v in verdicts:
            return v
    return "inconclusive"
