"""Scorers of the middlebox tests: http_header_field_manipulation (HHFM) and
http_invalid_request_line (HIRL).

Both talk to an echo server; a difference between what was sent and what came back means
something on the path rewrote or answered the request. That is interference with the traffic
but not the blocking of a site, so it is ``impaired`` at the HTTP layer (``http.diff``). The
probe's own ``tampering`` flag is not read (it is wrong in known versions, probe#1278).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.registry import register
from censorscope.pipeline.analyze.subject import Subject
from censorscope.pipeline.fingerprints import body_text

from .common import decide, test_keys

if TYPE_CHECKING:
    from censorscope.pipeline.analyze.context import AnalysisContext

__all__ = ["score_hhfm", "score_hirl"]


def _sent_headers(request: dict[str, Any]) -> dict[str, str]:
    headers = request.get("headers")
    out: dict[str, str] = {}
    if isinstance(headers, dict):
        for k, v in headers.items():
            out[str(k)] = str(v[0] if isinstance(v, list) and v else v)
    elif isinstance(headers, list):
        for item in headers:
            if isinstance(item, list | tuple) and len(item) == 2:
                v = item[1]
                out[str(item[0])] = str(v[0] if isinstance(v, list) and v else v)
    return out


@register("http_header_field_manipulation")
def score_hhfm(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Compare the headers sent (names are case-scrambled on purpose) with the echoed
    ``headers_dict``, ignoring ``Connection: close`` which the client adds: any header
    missing, renamed (case) or changed → impaired/http.diff; an empty or non-JSON echo
    body → impaired too (the answer did not come from the echo server)."""
    tk = test_keys(subject)
    if tk is None:
        return decide(subject, ctx, "test.no_data", evidence=("the raw measurement is needed",))
    requests = tk.get("requests")
    if not isinstance(requests, list) or not requests or not isinstance(requests[0], dict):
        return decide(subject, ctx, "test.no_data", evidence=("no request was made",))
    tx = requests[0]
    request, response = tx.get("request") or {}, tx.get("response")
    if not isinstance(response, dict):
        return decide(subject, ctx, "test.no_data", evidence=(
            f"no response from the echo server ({tx.get('failure')})",))
    sent = {k: v for k, v in _sent_headers(request).items() if k.lower() != "connection"}
    body = body_text(response.get("body"))
    try:
        echo = json.loads(body) if body else None
    except ValueError:
        echo = None
    if not isinstance(echo, dict) or not isinstance(echo.get("headers_dict"), dict):
        return decide(subject, ctx, "hhfm.tampering", evidence=(
            f"the echo server's answer is not its JSON echo ({len(body)} bytes, HTTP "
            f"{response.get('code')}): something else answered",))
    got = {str(k): str(v[0] if isinstance(v, list) and v else v)
           for k, v in echo["headers_dict"].items() if str(k).lower() != "connection"}
    changes = [f"{k}: {v!r} → {got.get(k)!r}" for k, v in sent.items() if got.get(k) != v]
    changes += [f"added {k}: {v!r}" for k, v in got.items() if k not in sent]
    if changes:
        return decide(subject, ctx, "hhfm.tampering", evidence=(
            f"{len(changes)} header change(s) between the probe and the echo server",
            *changes[:6]))
    return decide(subject, ctx, "hhfm.ok", evidence=(
        f"the {len(sent)} headers sent came back unchanged",))


@register("http_invalid_request_line")
def score_hirl(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Each invalid request line sent must come back byte for byte; any difference →
    impaired/http.diff (e.g. a proxy answered ``400 Bad request`` itself)."""
    tk = test_keys(subject)
    if tk is None:
        return decide(subject, ctx, "test.no_data", evidence=("the raw measurement is needed",))
    sent, received = tk.get("sent"), tk.get("received")
    if not isinstance(sent, list) or not isinstance(received, list) or not (sent or received):
        return decide(subject, ctx, "test.no_data", evidence=("nothing was sent or received",))
    diffs = []
    for i, s in enumerate(sent):
        r = received[i] if i < len(received) else None
        if r != s:
            first = str(r).split("\r\n", 1)[0][:80] if r else repr(r)
            diffs.append(f"request line {i + 1} ({str(s)[:40]!r}…) came back as {first!r}")
    if diffs:
        return decide(subject, ctx, "hirl.tampering", evidence=(
            f"{len(diffs)} of {len(sent)} request lines were not echoed unchanged", *diffs[:4]))
    return decide(subject, ctx, "hirl.ok", evidence=(
        f"all {len(sent)} invalid request lines were echoed unchanged",))
