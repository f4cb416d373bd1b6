"""The probe summary table's two columns for one ``tls_sni`` measurement (its verdict hint
and the first failing step), read from the measurement's own ``summary`` and ``results``."""

from __future__ import annotations

from typing import Any

__all__ = ["summary_row"]


def summary_row(measurement: dict[str, Any]) -> tuple[str, str]:
    """``ok`` / ``sni_triggered 2/2`` / ``ip_blocked 1/2`` / ``inconclusive``, and the first
    failing target handshake (``tls_handshake 198.19.1.10:443 SNI www.example.com:
    generic_timeout_error``; ``-`` when none)."""
    tk = measurement.get("test_keys") or {}
    summary = tk.get("summary") or {}
    verdict = str(summary.get("verdict") or "unknown")
    ips = summary.get("ips") or 0
    if verdict in ("sni_triggered", "ip_blocked") and ips:
        verdict = f"{verdict} {len(summary.get(verdict) or [])}/{ips}"
    elif not ips and tk.get("failure"):
        return verdict, f"resolve {tk.get('server_name')}: {tk['failure']}"
    for result in tk.get("results") or []:
        target = result.get("target") or {}
        if target.get("failure"):
            return verdict, (f"{target.get('failed_operation')} {result.get('ip')}:"
                             f"{result.get('port')} SNI {target.get('server_name')}: "
                             f"{target['failure']}")
    return verdict, "-"
