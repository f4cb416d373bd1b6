"""HTTP and throttling layers: the probe's requests against the control's fetch.

A request counts for HTTP only when its connection and TLS handshake succeeded (else it is the
TCP/TLS layer's business). Failed request: too many / broken redirects → down; a timeout with
data still arriving slowly → throttling; otherwise blocked when the control fetched the page.
Final response: compared with the control (status class, and title with body length); one
that differs or cannot be compared is matched against the fingerprints: a blockpage fingerprint
→ blocked (confirmed per OONI's rule); a CDN bot challenge (Censored Planet's false-positive
signatures, or the challenge page itself) → down; otherwise ``http.diff``. A page matching the
control is ok whatever words it contains (and costs no fingerprint scan).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from censorscope.model.evidence import Evidence
from censorscope.model.rows import ObservationRow
from censorscope.model.verdict import LayerVerdict
from censorscope.pipeline.evidence import say

from .claims import CHALLENGE_TITLES, download_secs, endpoint
from .context import AnalysisContext
from .dns import Scope
from .endpoints import control_fetched, hello_sent, sni_proof
from .mechanisms import http_mechanism, layer_verdict
from .webview import ControlView, WebView

__all__ = ["HttpResult", "ResponseBody", "analyze_http"]

SLOW_MIN_BYTES = 16 * 1024  # a timed-out download that got this much was flowing
_REDIRECT_FAILURES = ("stopped after too many redirects", "redirect")


@dataclass(frozen=True)
class ResponseBody:
    """The final response's body and headers, when the raw measurement is at hand."""

    body: str | None
    headers: Mapping[str, str]


@dataclass
class HttpResult:
    http: LayerVerdict | None = None
    throttling: LayerVerdict | None = None
    fingerprints: list[str] = field(default_factory=list)
    confirmed: bool = False


def _flow_ok(r: ObservationRow) -> bool:
    return r.tcp_failure is None and r.tls_failure is None


def _challenge(title: str | None, status: int | None) -> bool:
    return status in (403, 429, 503) and (title or "").strip().lower() in CHALLENGE_TITLES


def _ep(r: ObservationRow) -> dict[str, Any]:
    return {"ip": r.ip or "", "port": r.port, "endpoint": endpoint(r.ip or "", r.port)}


def _failed(r: ObservationRow) -> Evidence:
    if r.ip:
        return say("http.request_failed", url=r.http_request_url, failure=r.http_failure,
                   observation=r.observation_idx, **_ep(r))
    return say("http.request_failed_noaddr", url=r.http_request_url, failure=r.http_failure,
               observation=r.observation_idx)


def _no_page(ctrl: ControlView) -> list[Evidence]:
    """Why the control gives nothing to compare the page with."""
    c = ctrl.http
    if not ctrl.present:
        return [say("control.absent", source="control")]
    if c is None:
        return [say("control.no_http", source="control")]
    if c.http_failure is not None:
        return [say("control.http_failed", source="control", failure=c.http_failure)]
    return [say("control.http_no_page", source="control", status=c.http_response_status_code)]


def _throttled(r: ObservationRow, view: WebView, ctx: AnalysisContext, scope: Scope
               ) -> LayerVerdict:
    got = r.http_response_body_length or 0
    secs = download_secs(r)
    ev = [say("http.slow_download", url=r.http_request_url, length=got, secs=round(secs, 1),
              rate=round(got / secs / 1000, 1), http_t=r.http_t,
              observation=r.observation_idx, **_ep(r)) if secs else
          say("http.slow_download_untimed", url=r.http_request_url, length=got,
              observation=r.observation_idx, **_ep(r))]
    ctrl = view.control.http
    ctrl_len = ctrl.http_response_body_length if ctrl is not None else None
    ev.append(say("control.http_length", source="control", length=ctrl_len)
              if ctrl_len and ctrl_len > 0 else control_fetched(view.control))
    mechanism = "throttle.ip"
    if r.tls_server_name and r.tls_success and hello_sent(r):
        proof = sni_proof(view, ctx, scope, r.ip or "", r.tls_server_name)
        if proof:
            mechanism = "throttle.sni"
            ev += proof
    return layer_verdict("throttle.slow_download", ev, mechanism)


def analyze_http(view: WebView, ctx: AnalysisContext, scope: Scope,
                 response: ResponseBody | Callable[[], ResponseBody | None] | None
                 ) -> HttpResult:
    """The HTTP (and throttling) verdicts of the measurement. ``response`` may be a function
    returning it: it is then called only when the response is to be fingerprinted."""
    out = HttpResult()
    reqs = [r for r in view.requests if _flow_ok(r)]
    if not reqs:
        return out
    ctrl = view.control
    failed = [r for r in reqs if r.http_failure is not None]
    if failed:
        r = failed[-1]
        failure = r.http_failure or ""
        said = _failed(r)
        if any(word in failure for word in _REDIRECT_FAILURES):
            out.http = layer_verdict("http.redirect_loop", [said])
            return out
        if (failure == "generic_timeout_error" and ctrl.http_ok
                and (r.http_response_body_length or 0) >= SLOW_MIN_BYTES):
            out.throttling = _throttled(r, view, ctx, scope)
            return out
        if ctrl.http_ok and ctrl.http is not None:
            out.http = layer_verdict("http.failure_ctrl_ok", [said, control_fetched(ctrl)],
                                     http_mechanism(failure))
        elif ctrl.http is not None:
            out.http = layer_verdict("http.failure_ctrl_also_failing", [said, *_no_page(ctrl)])
        else:
            out.http = layer_verdict("http.failure_no_ctrl", [said, *_no_page(ctrl)])
        return out

    final = reqs[-1]
    status = final.http_response_status_code
    url = final.http_request_url
    c = ctrl.http
    diffs = _diff(final, c) if ctrl.http_ok and c is not None else None
    # a page that matches the control's is not a blockpage, whatever words it contains: only
    # responses that differ (or cannot be compared) are matched against the fingerprints
    body = (response() if callable(response) else response) \
        if ctx.fingerprints is not None and diffs != [] else None
    hits = (ctx.fingerprints.match_http(body.body, body.headers, scope.cc)
            if body is not None and ctx.fingerprints is not None else [])
    false_positives = list(dict.fromkeys(h.id for h in hits if h.scope == "fp"))
    blocks = [h for h in hits if h.scope != "fp"]
    got = say("http.status", url=url, status=status)
    if blocks and not false_positives:
        out.fingerprints.extend(dict.fromkeys(h.id for h in blocks))
        out.confirmed = any(h.confirmed for h in blocks)
        out.http = layer_verdict("http.blockpage", [got, *(
            say("http.blockpage_fp", source="rules", url=url, fingerprint=fp)
            for fp in dict.fromkeys(h.id for h in blocks))])
        return out
    if diffs is None:
        out.http = layer_verdict("http.ok_no_ctrl", [got, *_no_page(ctrl)])
        return out
    if diffs and (false_positives or _challenge(final.http_response_title, status)):
        why = ([say("http.false_positive_fp", source="rules", url=url, fingerprint=fp)
                for fp in false_positives] if false_positives else
               [say("http.challenge", url=url, status=status,
                    title=final.http_response_title or "")])
        out.http = layer_verdict("http.cdn_challenge", why)
        return out
    if diffs:
        out.http = layer_verdict("http.diff", diffs)
        return out
    out.http = layer_verdict("http.matches_ctrl", [say("http.matches_control", source="rules",
                                                       url=url, status=status)])
    return out


def _diff(final: ObservationRow, c: ObservationRow) -> list[Evidence]:
    """How the probe's final response differs from the control's (empty: it does not)."""
    diffs: list[Evidence] = []
    url = final.http_request_url
    status = final.http_response_status_code
    cstatus = c.http_response_status_code or 0
    if status is None or status // 100 != cstatus // 100:
        diffs.append(say("http.status_differs", source="rules", url=url, status=status,
                         control_status=cstatus))
    plen, clen = final.http_response_body_length, c.http_response_body_length
    truncated = bool(final.http_response_body_is_truncated)
    ptitle = (final.http_response_title or "").strip().lower()
    ctitle = (c.http_response_title or "").strip().lower()
    if not truncated and plen is not None and clen and clen > 0:
        ratio = min(plen, clen) / max(plen, clen, 1)
        if ratio < 0.7 and ptitle != ctitle:
            diffs.append(say("http.page_differs", source="rules", url=url,
                             title=final.http_response_title or "", length=plen,
                             control_title=c.http_response_title or "",
                             control_length=clen))
    return diffs
