"""Scorers of the building-block and performance tests: urlgetter, dnscheck,
stunreachability, browser_web, dash, ndt.

OONI's fastpath marks every urlgetter and dnscheck measurement as a failure ("Unsupported test
name"); here they get a verdict: which operation failed and how, or which resolver worked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from censorscope.model.evidence import Evidence
from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.registry import register
from censorscope.pipeline.analyze.subject import Subject
from censorscope.pipeline.evidence import say
from censorscope.pipeline.rules import PROBES

from .support import (
    Decider,
    Failure,
    answered,
    describe_failure,
    dominant,
    interference,
    key_found,
    operation_layer,
    probe_rows,
    raw_needed,
    row_failure,
    test_keys,
)

if TYPE_CHECKING:
    from censorscope.pipeline.analyze.context import AnalysisContext

__all__ = ["browser_name", "lookup_result", "score_browser_web", "score_dnscheck",
           "score_speed", "score_stun", "score_urlgetter"]

decide = Decider(PROBES)


def _failure_verdict(subject: Subject, ctx: AnalysisContext, prefix: str, failure: Failure,
                     evidence: list[Evidence]) -> Verdict:
    rule = f"{prefix}.interference" if interference(failure[1]) else f"{prefix}.failed_other"
    return decide(subject, ctx, rule, failure=failure, evidence=evidence)


@register("urlgetter")
def score_urlgetter(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """The operation's ``failure`` (a fact, not a verdict) says whether it failed; the row
    of the ``failed_operation``'s layer says how (without the raw measurement: the earliest
    failing row when nothing answered). Timeouts, resets, EOF, NXDOMAIN, bogons and
    forged certificates → blocked; other failures → insufficient (no control to tell a down
    server from a block); no failure → ok."""
    rows = probe_rows(subject)
    fails = [(r, f) for r in rows if (f := row_failure(r)) is not None]
    order = {"dns": 0, "tcp": 1, "tls": 2, "http": 3}
    tk = test_keys(subject)
    if tk is not None:
        failure, layer = tk.get("failure"), operation_layer(tk.get("failed_operation"))
        if failure:
            same = [(r, f) for r, f in fails if f[0] == layer]
            if same:
                r, f = same[0]
                return _failure_verdict(subject, ctx, "urlgetter", f, [describe_failure(r, f)])
            said = say("urlgetter.operation_failed", operation=tk.get("failed_operation"),
                       failure=failure)
            if layer is None:
                return decide(subject, ctx, "test.no_data", evidence=(said,))
            return _failure_verdict(subject, ctx, "urlgetter", (layer, str(failure)), [said])
    elif fails and not any(answered(r) for r in rows):
        r, f = min(fails, key=lambda rf: order[rf[1][0]])
        return _failure_verdict(subject, ctx, "urlgetter", f, [describe_failure(r, f)])
    if not rows and not tk:
        return decide(subject, ctx, "test.no_data", evidence=(say("rows.none"),))
    codes = sorted({r.http_response_status_code or 0 for r in rows if answered(r)})
    return decide(subject, ctx, "urlgetter.ok", evidence=(
        say("urlgetter.answered", input=subject.meta.input, status_codes=codes) if codes
        else say("urlgetter.completed", input=subject.meta.input),))


def lookup_result(keys: Mapping[str, Any]) -> tuple[list[str], Failure | None, str | None]:
    """(answers, failure, failure text) of one dnscheck lookup (urlgetter keys)."""
    answers: list[str] = []
    for q in keys.get("queries") or ():
        if not isinstance(q, dict):
            continue
        for a in q.get("answers") or ():
            if isinstance(a, dict):
                ans = a.get("ipv4") or a.get("ipv6") or a.get("hostname")
                if ans:
                    answers.append(str(ans))
    failure = keys.get("failure")
    if answers or not failure:
        return answers, None, None
    layer = operation_layer(keys.get("failed_operation"))
    for c in keys.get("tcp_connect") or ():
        status = c.get("status") if isinstance(c, dict) else None
        if isinstance(status, dict) and status.get("failure"):
            return answers, ("tcp", str(status["failure"])), str(failure)
    for h in keys.get("tls_handshakes") or ():
        if isinstance(h, dict) and h.get("failure"):
            return answers, ("tls", str(h["failure"])), str(failure)
    return answers, ((layer or "dns"), str(failure)), str(failure)


@register("dnscheck")
def score_dnscheck(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Which resolver transport/address worked: any address that answered the lookup → ok
    (evidence names the working and the failing ones); the resolver's own name failing to
    resolve → blocked/dns; every address failing with a timeout, reset or EOF → blocked at the
    layer of the failure; other failures (no route, refused) → insufficient."""
    tk = test_keys(subject)
    if tk is None:
        return decide(subject, ctx, "test.no_data", evidence=(raw_needed("test_keys.lookups"),))
    lookups = tk.get("lookups")
    boot_failure = tk.get("bootstrap_failure")
    if not isinstance(lookups, dict) or not lookups:
        if boot_failure:
            return decide(subject, ctx, "dnscheck.bootstrap_failed",
                          failure=("dns", str(boot_failure)), evidence=(say(
                              "dnscheck.bootstrap_failed",
                              resolver=subject.meta.input or "the resolver",
                              failure=boot_failure),))
        return decide(subject, ctx, "test.no_data", evidence=(say(
            "keys.not_a", key="test_keys.lookups",
            found=key_found(subject.raw, "test_keys.lookups"), shape="map"),))
    domain = tk.get("domain") or "the test domain"
    working: list[Evidence] = []
    failing: list[tuple[str, Failure, str]] = []
    for url, keys in sorted(lookups.items()):
        if not isinstance(keys, dict):
            continue
        answers, failure, text = lookup_result(keys)
        if failure is None and answers:
            working.append(say("dnscheck.resolved", url=url, domain=domain,
                               answers=answers[:3]))
        elif failure is not None:
            failing.append((url, failure, text or failure[1]))
    evidence = working + [say("dnscheck.lookup_failed", url=url, failure=text)
                          for url, _, text in failing]
    if working:
        return decide(subject, ctx, "dnscheck.ok", evidence=evidence[:8])
    if not failing:
        return decide(subject, ctx, "test.no_data", evidence=(say("dnscheck.no_outcome"),))
    # addresses that fail for local reasons (no IPv6 route …) do not hide the others
    censored = [f for _, f, _ in failing if interference(f[1])]
    if censored:
        return decide(subject, ctx, "dnscheck.all_failed", failure=dominant(censored),
                      evidence=evidence[:8])
    return decide(subject, ctx, "dnscheck.failed_other",
                  failure=dominant(f for _, f, _ in failing), evidence=evidence[:8])


@register("stunreachability")
@register("stun_reachability")
def score_stun(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """STUN over UDP: a failed lookup of the server → blocked/dns; any other failure →
    blocked (no layer of ours names UDP); none → ok."""
    rows = probe_rows(subject)
    dns_fail = [r for r in rows if r.dns_failure]
    tk = test_keys(subject)
    endpoint = (tk or {}).get("endpoint") or subject.meta.input
    if dns_fail:
        r = dns_fail[0]
        f: Failure = ("dns", r.dns_failure or "")
        return decide(subject, ctx, "urlgetter.interference" if interference(f[1])
                      else "urlgetter.failed_other", failure=f,
                      evidence=(describe_failure(r, f),))
    if tk is None:
        return decide(subject, ctx, "test.no_data",
                      evidence=(raw_needed("test_keys.failure, endpoint"),))
    failure = tk.get("failure")
    if failure:
        return decide(subject, ctx, "stun.failed", evidence=(
            say("stun.failed", endpoint=endpoint, failure=failure),))
    return decide(subject, ctx, "stun.ok", evidence=(say("stun.answered", endpoint=endpoint),))


@register("browser_web")
def score_browser_web(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """The browser's ``result``: ``ok`` → ok; ``error`` → insufficient (no failure detail and
    no control: a down site looks the same)."""
    tk = test_keys(subject)
    if tk is None:
        return decide(subject, ctx, "test.no_data",
                      evidence=(raw_needed("test_keys.result, load_time_ms"),))
    facts = {"browser": browser_name(tk), "input": subject.meta.input,
             "load_time_ms": tk.get("load_time_ms")}
    if tk.get("result") == "ok":
        return decide(subject, ctx, "browser_web.ok",
                      evidence=(say("browser_web.loaded", **facts),))
    if tk.get("result") == "error":
        return decide(subject, ctx, "browser_web.error",
                      evidence=(say("browser_web.failed", **facts),))
    return decide(subject, ctx, "test.no_data", evidence=(
        say("keys.value", key="test_keys.result", value=tk.get("result")),))


def browser_name(tk: Mapping[str, Any]) -> Any:
    """The browser as the test keys name it (``browser_name`` or ``browser``)."""
    return tk.get("browser_name") or tk.get("browser") or "the browser"


_SPEED: Final = ("dash", "ndt")


@register("dash")
@register("ndt")
def score_speed(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Performance tests have no blocking verdict: no failure → ok; a failure →
    insufficient."""
    tk = test_keys(subject)
    if tk is None:
        return decide(subject, ctx, "test.no_data", evidence=(raw_needed("test_keys.failure"),))
    failure = tk.get("failure")
    name = subject.meta.test_name
    if failure:
        return decide(subject, ctx, "speed.failed",
                      evidence=(say("keys.test_failed", test_name=name, failure=failure),))
    return decide(subject, ctx, "speed.ok", evidence=(say("keys.test_completed", test_name=name),))
