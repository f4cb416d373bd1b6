"""The probe summary table's two columns for one ``dns_consistency`` measurement: the
overall ``dns_consistency`` with the resolvers tampered with, and the first of them in
words (its class and answers, or its failure)."""

from __future__ import annotations

from typing import Any

from censorscope.model.dns_consistency import FAILED_CLASSES, TAMPERED_CLASSES

__all__ = ["summary_row"]


def summary_row(measurement: dict[str, Any]) -> tuple[str, str]:
    """``consistent`` / ``inconsistent: system, udp 198.19.8.8:53`` / ``unknown``, and
    ``system: lie 198.19.17.228`` / ``system: nxdomain`` … (``-`` when nothing is wrong)."""
    tk = measurement.get("test_keys") or {}
    verdict = str(tk.get("dns_consistency") or "unknown")
    if tk.get("inconsistent"):
        verdict = f"{verdict}: {', '.join(tk['inconsistent'])}"
    for wanted in (TAMPERED_CLASSES, FAILED_CLASSES):
        for r in tk.get("resolvers") or []:
            if r.get("classification") in wanted:
                name = f"{r.get('resolver')} {r.get('address') or ''}".strip()
                what = " ".join(a.get("ip", "") for a in r.get("answers") or []) or \
                    r.get("failure") or ""
                return verdict, f"{name}: {r['classification']} {what}".strip()
    return verdict, "-"
