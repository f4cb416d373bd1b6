"""The probe summary table's two columns for a messaging measurement: ``ok`` or
``anomaly: <what>`` from the test's own verdict keys, and the first failure among its raw
events (lookup, connect, handshake, request, in that order; ``-`` when none)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["first_failure", "summary_for"]

Summary = Callable[[dict[str, Any]], tuple[str, str]]


def first_failure(tk: dict[str, Any]) -> str:
    """``resolve HOST: F`` / ``connect IP:PORT: F`` / ``tls_handshake ADDR SNI NAME: F`` /
    ``METHOD URL: F`` for the first failing record, ``-`` for none."""

    for q in tk.get("queries") or []:
        if q.get("failure"):
            return f"resolve {q.get('hostname')}: {q['failure']}"
    for c in tk.get("tcp_connect") or []:
        failure = (c.get("status") or {}).get("failure")
        if failure:
            return f"connect {c.get('ip')}:{c.get('port')}: {failure}"
    for h in tk.get("tls_handshakes") or []:
        if h.get("failure"):
            return f"tls_handshake {h.get('address')} SNI {h.get('server_name')}: {h['failure']}"
    for r in reversed(tk.get("requests") or []):  # OONI lists the most recent first
        if r.get("failure"):
            request = r.get("request") or {}
            return f"{request.get('method')} {request.get('url')}: {r['failure']}"
    return "-"


def summary_for(flags: tuple[tuple[str, str], ...]) -> Summary:
    """A summary reading ``flags``: (verdict key, label) pairs, flagged when the key is
    ``true`` or ``"blocked"``."""

    def summary(measurement: dict[str, Any]) -> tuple[str, str]:
        tk = measurement.get("test_keys") or {}
        bad = [label for key, label in flags if tk.get(key) in (True, "blocked")]
        if not bad:
            return "ok", "-"
        return "anomaly: " + ", ".join(bad), first_failure(tk)

    return summary
