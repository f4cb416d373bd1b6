"""The Web Connectivity scorer: layer verdicts (DNS, TCP, TLS, HTTP, throttling) → one verdict.

The first layer, in flow order, that is blocked decides (its rule id is the verdict's); then
throttling; then a layer that failed for the control too (down); then the page
matching the control (``web.ok``); else ``web.insufficient``. ``layer`` and ``mechanism`` name
interference only: a ``down`` verdict has neither (its rule and evidence say where the site
fails). Only the recorded facts are read
(observation rows, and the raw response body/headers for fingerprints when at hand), never the
probe's own verdict keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from censorscope.model.rows import ObservationRow
from censorscope.model.verdict import LayerVerdict, Outcome, Verdict
from censorscope.pipeline.evidence import say

from .claims import endpoint
from .context import AnalysisContext, learnt_facts
from .dns import Scope, analyze_dns
from .endpoints import analyze_tcp, analyze_tls
from .http import ResponseBody, analyze_http
from .mechanisms import layer_verdict
from .registry import register
from .subject import Subject
from .webview import build_view

__all__ = ["final_response", "score_web_connectivity", "stored_response"]


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("format") == "base64":
        import base64

        try:
            return base64.b64decode(str(value.get("data", ""))).decode("utf-8", "replace")
        except ValueError:
            return None
    return str(value)


def final_response(raw: Mapping[str, Any] | None) -> ResponseBody | None:
    """Body and headers of the last response in ``test_keys.requests`` (OONI lists the
    redirect chain last hop first), or None."""
    tk = raw.get("test_keys") if raw is not None else None
    requests = tk.get("requests") if isinstance(tk, dict) else None
    if not isinstance(requests, list) or not requests:
        return None
    first = requests[0]
    resp = first.get("response") if isinstance(first, dict) else None
    if not isinstance(resp, dict):
        return None
    headers: dict[str, str] = {}
    raw_headers = resp.get("headers")
    if isinstance(raw_headers, dict):
        for k, v in raw_headers.items():
            text = _text(v)
            if text is not None:
                headers[str(k)] = text
    return ResponseBody(_text(resp.get("body")), headers)


def stored_response(row: ObservationRow | None) -> ResponseBody | None:
    """Body (when small enough to be kept) and headers of a stored response row."""
    if row is None or (row.http_response_body is None and row.http_response_headers is None):
        return None
    headers: dict[str, str] = {}
    if row.http_response_headers:
        try:
            parsed = orjson.loads(row.http_response_headers)
        except orjson.JSONDecodeError:
            parsed = {}
        if isinstance(parsed, dict):
            headers = {str(k): str(v) for k, v in parsed.items() if v is not None}
    return ResponseBody(row.http_response_body, headers)


def _pick(layers: list[LayerVerdict], plain_http: bool) -> tuple[str, LayerVerdict | None]:
    if plain_http:  # an http:// page: HTTP is on the page's path, the 443 probing is not
        order = {"dns": 0, "tcp": 1, "http": 2, "tls": 3, "throttling": 4}
        layers = sorted(layers, key=lambda lv: order[lv.layer])
    for outcome in ("blocked", "impaired", "down"):
        for lv in layers:
            if lv.outcome == outcome:
                return lv.rule_id, lv
    if any(lv.layer == "http" and lv.outcome == "ok" for lv in layers):
        return "web.ok", None
    if layers and all(lv.outcome == "ok" for lv in layers):
        return "web.ok", None
    unsure = next((lv for lv in layers if lv.outcome == "insufficient"), None)
    return (unsure.rule_id if unsure else "web.insufficient"), None


@register("web_connectivity")
def score_web_connectivity(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Score one Web Connectivity measurement."""
    meta = subject.meta
    if not subject.observations:
        return subject.verdict("insufficient", rule_id="web.no_data",
                               evidence=[say("web.no_steps")],
                               fingerprints_version=ctx.fingerprints_version)
    scope = Scope(meta.measurement_uid, meta.probe_asn, meta.report_id, meta.probe_cc,
                  learnt_facts(subject.observations))
    view = build_view(meta.domain, subject.observations)
    dns = analyze_dns(view, ctx, scope)
    tcp = analyze_tcp(view, dns.untrusted)
    tls = analyze_tls(view, ctx, scope, dns.untrusted)
    raw = subject.raw

    def response() -> ResponseBody | None:  # built only if the response is fingerprinted
        return final_response(raw) if raw is not None else stored_response(view.final_request)

    http = analyze_http(view, ctx, scope, response)
    final = view.final_request
    if (http.http is not None and http.http.outcome == "blocked" and final is not None
            and final.ip in dns.tls_only):
        # an answer the control and other resolvers did not return, consistent only by its
        # TLS (a transparent proxy), served a blocked or different page over HTTP
        ip = final.ip
        why = dns.tls_only[ip]
        dns.verdict = layer_verdict("dns.proxy_blockpage", [
            say("dns.answer", hostname=why.hostname, engine=why.engine, addresses=[ip]),
            say("dns.not_reference", source="rules", hostname=why.hostname,
                reference=list(why.reference), addresses=[ip]),
            *why.validity,
            say("http.sent_to", url=final.http_request_url, ip=ip, port=final.port,
                endpoint=endpoint(ip, final.port), observation=final.observation_idx),
            *http.http.evidence])
    layers = [lv for lv in (dns.verdict, tcp, tls, http.http, http.throttling) if lv is not None]
    plain_http = bool(final and (final.http_request_url or "").startswith("http://")
                      and http.http is not None and http.http.outcome == "blocked")
    rule_id, decisive = _pick(layers, plain_http)
    fingerprints = list(dict.fromkeys(dns.fingerprints + http.fingerprints))
    confirmed = dns.confirmed or http.confirmed
    if decisive is not None:
        interfered = decisive.outcome != "down"  # down: the site's failure, not interference
        return subject.verdict(
            decisive.outcome, rule_id=decisive.rule_id,
            layer=decisive.layer if interfered else None,
            mechanism=decisive.mechanism if interfered else None,
            evidence=decisive.evidence, layers=layers,
            fingerprints=fingerprints, confirmed=confirmed,
            fingerprints_version=ctx.fingerprints_version)
    evidence = [e for lv in layers for e in lv.evidence][:6]
    outcome: Outcome = "ok" if rule_id == "web.ok" else "insufficient"
    if rule_id == "web.insufficient":
        evidence = evidence or [say("web.undecided", source="rules")]
    return subject.verdict(outcome, rule_id=rule_id, evidence=evidence, layers=layers,
                           fingerprints_version=ctx.fingerprints_version)
