"""The generic scorer: tests without a scorer of their own get ``insufficient`` (never an
error), with what the measurement holds as evidence.

It is registered for the other test names seen in OONI's data (legacy and research tests);
the analysis core can use :func:`score_fallback` for any name with no scorer, and the
``dns_consistency`` scorer does for OONI's legacy test of that name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.registry import register
from censorscope.pipeline.analyze.subject import Subject
from censorscope.pipeline.evidence import say
from censorscope.pipeline.rules import FALLBACK

from .support import Decider, probe_rows, row_failure

if TYPE_CHECKING:
    from censorscope.pipeline.analyze.context import AnalysisContext

__all__ = ["FALLBACK_TEST_NAMES", "score_fallback"]

decide = Decider(FALLBACK)

FALLBACK_TEST_NAMES: Final = (
    "http_requests", "http_host", "multi_protocol_traceroute",
    "openvpn_client_test", "sni_blocking", "tcp_connect", "tcpping", "tlsping", "quicping",
    "simplequicping", "dnsping", "tlsmiddlebox", "portfiltering", "echcheck",
    "bridge_reachability", "lantern", "http_filtering_bypass", "dns_injection",
)


def score_fallback(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """``insufficient``: no rules for this test; the evidence counts the facts present."""
    rows = probe_rows(subject)
    failed = sum(1 for r in rows if row_failure(r) is not None)
    name = subject.meta.test_name
    return decide(subject, ctx, "test.unsupported", evidence=(
        say("fallback.rows", test_name=name, rows=len(rows), failed=failed) if rows
        else say("fallback.no_rows", test_name=name),))


for _name in FALLBACK_TEST_NAMES:
    register(_name)(score_fallback)
