"""The human summary of a run: per URL, a verdict hint and the step that failed.

The hint comes from OONI's compatibility keys (``blocking``/``accessible``); it is a hint,
not the analysis pipeline's verdict. The failing step is the first failure a reader should
look at: DNS, then TCP, TLS, HTTP, with the OONI failure string.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["SummaryRow", "failing_step", "format_table", "summarize", "verdict_hint"]


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary table."""

    url: str
    verdict: str
    step: str


def verdict_hint(test_keys: dict[str, Any]) -> str:
    """``ok``, ``anomaly: dns|tcp_ip|http-failure|http-diff``, ``down`` or ``unknown…``."""

    blocking = test_keys.get("blocking")
    accessible = test_keys.get("accessible")
    if isinstance(blocking, str):
        return f"anomaly: {blocking}"
    if blocking is False:
        return "ok" if accessible else "down (control fails too)"
    if test_keys.get("control_failure"):
        return "unknown (no control)"
    return "unknown"


def _fetch_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if "fetch_body=true" in (r.get("tags") or [])] or records


def failing_step(test_keys: dict[str, Any]) -> str:
    """The first failing step, e.g. ``tls 198.18.0.5:443: generic_timeout_error``."""

    dns_failure = test_keys.get("dns_experiment_failure")
    if dns_failure:
        return f"dns: {dns_failure}"
    if test_keys.get("blocking") == "dns" or test_keys.get("dns_consistency") == "inconsistent":
        return "dns: answers inconsistent with the control"
    connects = _fetch_records(test_keys.get("tcp_connect") or [])
    if connects and all((c.get("status") or {}).get("failure") for c in connects):
        c = connects[0]
        return f"tcp {c.get('ip')}:{c.get('port')}: {c['status']['failure']}"
    handshakes = _fetch_records(test_keys.get("tls_handshakes") or [])
    if handshakes and all(h.get("failure") for h in handshakes):
        h = handshakes[0]
        return f"tls {h.get('address')} (sni {h.get('server_name')}): {h.get('failure')}"
    requests = test_keys.get("requests") or []
    http_failure = test_keys.get("http_experiment_failure") or (
        requests[0].get("failure") if requests else None
    )
    if http_failure:
        return f"http: {http_failure}"
    if test_keys.get("blocking") == "http-diff":
        return "http: response differs from the control's"
    if not requests and not connects and not test_keys.get("queries"):
        return "no address to connect to"
    return "-"


def summarize(measurement: dict[str, Any],
              hint: Callable[[dict[str, Any]], tuple[str, str]] | None = None) -> SummaryRow:
    """The summary row of ``measurement``: ``hint`` (the experiment's own ``summary``) gives
    the verdict and failing step, else Web Connectivity's reading of the test keys."""
    tk = measurement.get("test_keys") or {}
    if hint is not None:
        try:
            verdict, step = hint(measurement)
        except Exception as exc:  # a summary must never cost the measurement
            verdict, step = "unknown", f"(summary failed: {exc!r})"
    else:
        verdict = verdict_hint(tk)
        step = failing_step(tk) if verdict != "ok" else "-"
    control_failure = tk.get("control_failure")
    if control_failure:
        note = f"control: {control_failure}"
        step = f"{step}; {note}" if step != "-" else note
    label = measurement.get("input")
    return SummaryRow("(no input)" if label is None else str(label), verdict, step)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


def format_table(rows: list[SummaryRow], *, width: int | None = None) -> str:
    """A plain-text table ``URL | VERDICT | FAILING STEP`` fitting ``width`` columns."""

    if width is None:
        width = shutil.get_terminal_size((120, 24)).columns
    header = SummaryRow("URL", "VERDICT", "FAILING STEP")
    all_rows = [header, *rows]
    verdict_w = max(len(r.verdict) for r in all_rows)
    url_w = min(max(len(r.url) for r in all_rows), max(20, (width - verdict_w - 6) // 2))
    step_w = max(width - url_w - verdict_w - 6, 20)
    lines = []
    for i, row in enumerate(all_rows):
        lines.append(
            f"{_clip(row.url, url_w):<{url_w}}  {row.verdict:<{verdict_w}}  "
            f"{_clip(row.step, step_w)}".rstrip()
        )
        if i == 0:
            lines.append(f"{'-' * url_w}  {'-' * verdict_w}  {'-' * min(step_w, 12)}")
    return "\n".join(lines)
