"""Scorers of the middlebox tests: http_header_field_manipulation (HHFM) and
http_invalid_request_line (HIRL).

Both talk to an echo server; a difference between what was sent and what came back means
something on the path rewrote or answered the request. That is interference with the traffic
but not the blocking of a site, so it is ``impaired`` at the HTTP layer (``http.diff``). The
probe's own ``tampering`` flag is not read (it is wrong in known versions, probe#1278).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.registry import register
from censorscope.pipeline.analyze.subject import Subject
from censorscope.pipeline.evidence import say
from censorscope.pipeline.fingerprints import body_text
from censorscope.pipeline.rules import MIDDLEBOX

from .support import Decider, key_found, raw_needed, test_keys

if TYPE_CHECKING:
    from censorscope.pipeline.analyze.context import AnalysisContext

__all__ = ["HeaderEcho", "first_line", "header_echo", "hirl_differences", "score_hhfm",
           "score_hirl"]

decide = Decider(MIDDLEBOX)


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


@dataclass(frozen=True)
class HeaderEcho:
    """What HHFM's first transaction shows: the headers sent (without ``Connection``), the
    echoed ones (None when the answer is not the echo JSON), the body length and status."""

    sent: dict[str, str]
    echoed: dict[str, str] | None
    body_length: int
    status_code: Any

    def changes(self) -> list[tuple[str, str | None, str | None]]:
        """(header, value sent or None if added, value echoed or None if missing)."""
        got = self.echoed or {}
        out: list[tuple[str, str | None, str | None]] = [
            (k, v, got.get(k)) for k, v in self.sent.items() if got.get(k) != v]
        out += [(k, None, v) for k, v in got.items() if k not in self.sent]
        return out


def header_echo(tx: Mapping[str, Any]) -> HeaderEcho | None:
    """The :class:`HeaderEcho` of one ``requests`` item (None when it has no response)."""
    request, response = tx.get("request") or {}, tx.get("response")
    if not isinstance(response, dict):
        return None
    sent = {k: v for k, v in _sent_headers(request).items() if k.lower() != "connection"}
    body = body_text(response.get("body"))
    try:
        echo = json.loads(body) if body else None
    except ValueError:
        echo = None
    echoed = None
    if isinstance(echo, dict) and isinstance(echo.get("headers_dict"), dict):
        echoed = {str(k): str(v[0] if isinstance(v, list) and v else v)
                  for k, v in echo["headers_dict"].items() if str(k).lower() != "connection"}
    return HeaderEcho(sent, echoed, len(body), response.get("code"))


@register("http_header_field_manipulation")
def score_hhfm(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Compare the headers sent (names are case-scrambled on purpose) with the echoed
    ``headers_dict``, ignoring ``Connection: close`` which the client adds: any header
    missing, renamed (case) or changed → impaired/http.diff; an empty or non-JSON echo
    body → impaired too (the answer did not come from the echo server)."""
    tk = test_keys(subject)
    if tk is None:
        return decide(subject, ctx, "test.no_data", evidence=(raw_needed("test_keys.requests"),))
    requests = tk.get("requests")
    if not isinstance(requests, list) or not requests or not isinstance(requests[0], dict):
        return decide(subject, ctx, "test.no_data", evidence=(
            say("keys.not_a", key="test_keys.requests",
                found=key_found(subject.raw, "test_keys.requests"), shape="list of objects"),))
    tx = requests[0]
    echo = header_echo(tx)
    if echo is None:
        return decide(subject, ctx, "test.no_data", evidence=(
            say("hhfm.no_response", failure=tx.get("failure")),))
    if echo.echoed is None:
        return decide(subject, ctx, "hhfm.tampering", evidence=(say(
            "hhfm.not_echo", body_length=echo.body_length, status_code=echo.status_code),))
    changes = echo.changes()
    if changes:
        return decide(subject, ctx, "hhfm.tampering", evidence=(
            say("hhfm.changes", changes=len(changes)),
            *(say("hhfm.header_changed", header=k, sent=v, received=got) if v is not None
              else say("hhfm.header_added", header=k, received=got)
              for k, v, got in changes[:6])))
    return decide(subject, ctx, "hhfm.ok",
                  evidence=(say("hhfm.unchanged", headers=len(echo.sent)),))


@register("http_invalid_request_line")
def score_hirl(subject: Subject, ctx: AnalysisContext) -> Verdict:
    """Each invalid request line sent must come back byte for byte; any difference →
    impaired/http.diff (e.g. a proxy answered ``400 Bad request`` itself)."""
    tk = test_keys(subject)
    if tk is None:
        return decide(subject, ctx, "test.no_data",
                      evidence=(raw_needed("test_keys.sent, received"),))
    sent, received = tk.get("sent"), tk.get("received")
    if not isinstance(sent, list) or not isinstance(received, list) or not (sent or received):
        return decide(subject, ctx, "test.no_data", evidence=(say("hirl.nothing"),))
    diffs = hirl_differences(sent, received)
    if diffs:
        return decide(subject, ctx, "hirl.tampering", evidence=(
            say("hirl.changes", changed=len(diffs), sent=len(sent)),
            *(say("hirl.line_changed", line=i + 1, sent=str(sent[i])[:40],
                  received=first_line(received[i] if i < len(received) else None))
              for i in diffs[:4])))
    return decide(subject, ctx, "hirl.ok", evidence=(say("hirl.unchanged", sent=len(sent)),))


def hirl_differences(sent: list[Any], received: list[Any]) -> list[int]:
    """Indices of the request lines sent that did not come back byte for byte."""
    return [i for i, s in enumerate(sent) if (received[i] if i < len(received) else None) != s]


def first_line(received: Any) -> str | None:
    """The first line (at most 80 characters) of what came back, None if nothing did."""
    return str(received).split("\r\n", 1)[0][:80] if received else None
