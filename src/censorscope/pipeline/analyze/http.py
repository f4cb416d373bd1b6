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

from censorscope.model.verdict import LayerVerdict
from censorscope.model.rows import ObservationRow

from .context import AnalysisContext
from .endpoints import endpoint
from .mechanisms import http_mechanism, layer_verdict
from .webview import WebView

__all__ = ["HttpResult", "ResponseBody", "analyze_http"]

SLOW_MIN_BYTES = 16 * 1024  # a timed-out download that got this much was flowing
_REDIRECT_FAILURES = ("stopped after too many redirects", "redirect")
_CHALLENGE_TITLES = ("just a moment...", "attention required! | cloudflare",
                     "ddos-guard", "checking your browser")


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
    return status in (403, 429, 503) and (title or "").strip().lower() in _CHALLENGE_TITLES


def _throttled(r: ObservationRow, view: WebView, ctx: AnalysisContext, probe_asn: int
               ) -> LayerVerdict:
    got = r.http_response_body_length or 0
    start = r.tls_t if r.tls_t is not None else r.tcp_t
    secs = (r.http_t - start) if r.http_t is not None and start is not None else None
    rate = f", {got / secs / 1000:.1f} kB/s" if secs else ""
    took = f" after {secs:.1f} s" if secs else ""
    ctrl = view.control.http
    ctrl_len = ctrl.http_response_body_length if ctrl is not None else None
    where = endpoint(r.ip or "", r.port)
    ev = [f"The download of {r.http_request_url} from {where} timed out{took} having received "
          f"{got} bytes{rate}; the control received "
          f"{ctrl_len if ctrl_len and ctrl_len > 0 else 'the whole page'}."]
    mechanism = "throttle.ip"
    if r.tls_server_name:
        others = ctx.other_names_ok(probe_asn, r.ip or "", r.tls_server_name)
        if others:
            mechanism = "throttle.sni"
            ev.append(f"Other server names ({', '.join(others[:3])}) work at the same IP.")
    return layer_verdict("throttle.slow_download", ev, mechanism)


def analyze_http(view: WebView, ctx: AnalysisContext, probe_asn: int, cc: str,
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
        said = f"The request for {r.http_request_url} failed with {failure}"
        if any(word in failure for word in _REDIRECT_FAILURES):
            out.http = layer_verdict("http.redirect_loop", [f"{said}: a site error."])
            return out
        if (failure == "generic_timeout_error" and ctrl.http_ok
                and (r.http_response_body_length or 0) >= SLOW_MIN_BYTES):
            out.throttling = _throttled(r, view, ctx, probe_asn)
            return out
        if ctrl.http_ok and ctrl.http is not None:
            out.http = layer_verdict("http.failure_ctrl_ok", [
                f"{said} after connecting to {endpoint(r.ip or '', r.port)}; the control "
                f"fetched it (status {ctrl.http.http_response_status_code})."],
                http_mechanism(failure))
        elif ctrl.http is not None:
            out.http = layer_verdict("http.failure_ctrl_also_failing", [
                f"{said}; the control failed too ({ctrl.http.http_failure})."])
        else:
            out.http = layer_verdict("http.failure_no_ctrl", [f"{said}; no control."])
        return out

    final = reqs[-1]
    status = final.http_response_status_code
    c = ctrl.http
    diffs = _diff(final, c) if ctrl.http_ok and c is not None else None
    # a page that matches the control's is not a blockpage, whatever words it contains: only
    # responses that differ (or cannot be compared) are matched against the fingerprints
    body = (response() if callable(response) else response) \
        if ctx.fingerprints is not None and diffs != [] else None
    hits = (ctx.fingerprints.match_http(body.body, body.headers, cc)
            if body is not None and ctx.fingerprints is not None else [])
    false_positives = [h.id for h in hits if h.scope == "fp"]
    blocks = [h for h in hits if h.scope != "fp"]
    if blocks and not false_positives:
        out.fingerprints.extend(h.id for h in blocks)
        out.confirmed = any(h.confirmed for h in blocks)
        out.http = layer_verdict("http.blockpage", [
            f"The response for {final.http_request_url} (status {status}) matches the "
            f"blockpage fingerprint {', '.join(h.id for h in blocks)}."])
        return out
    if diffs is None:
        out.http = layer_verdict("http.ok_no_ctrl", [
            f"The request for {final.http_request_url} got status {status}; the control "
            f"could not fetch the page ({c.http_failure if c else 'no control'})."])
        return out
    if diffs and (false_positives or _challenge(final.http_response_title, status)):
        what = (f"matches the false-positive signature {', '.join(false_positives)}"
                if false_positives else
                f"is a {status} bot challenge ({final.http_response_title!r})")
        out.http = layer_verdict("http.cdn_challenge", [
            f"The response for {final.http_request_url} {what}: a CDN refusing this client, "
            "not a blockpage."])
        return out
    if diffs:
        out.http = layer_verdict("http.diff", [
            f"The page at {final.http_request_url} differs from the control's: "
            f"{'; '.join(diffs)}."])
        return out
    out.http = layer_verdict("http.matches_ctrl", [
        f"The page at {final.http_request_url} (status {status}) matches the control's."])
    return out


def _diff(final: ObservationRow, c: ObservationRow) -> list[str]:
    """How the probe's final response differs from the control's (empty: it does not)."""
    diffs: list[str] = []
    status = final.http_response_status_code
    cstatus = c.http_response_status_code or 0
    if status is None or status // 100 != cstatus // 100:
        diffs.append(f"status {status} vs {cstatus}")
    plen, clen = final.http_response_body_length, c.http_response_body_length
    truncated = bool(final.http_response_body_is_truncated)
    ptitle = (final.http_response_title or "").strip().lower()
    ctitle = (c.http_response_title or "").strip().lower()
    if not truncated and plen is not None and clen and clen > 0:
        ratio = min(plen, clen) / max(plen, clen, 1)
        if ratio < 0.7 and ptitle != ctitle:
            diffs.append(f"title {final.http_response_title!r} vs {c.http_response_title!r}, "
                         f"body {plen} vs {clen} bytes")
    return diffs
