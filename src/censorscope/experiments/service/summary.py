"""The service's overall status from its endpoints' results (pure functions).

``available``: every endpoint reachable; ``unavailable``: every endpoint failed;
``restricted``: some failed. The share of failing endpoints, the count per failing step and the
median RTTs of the endpoints that have one go into the test keys next to the status.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any, Final

from .check import STEPS, EndpointResult

__all__ = ["STATUSES", "service_status", "summarise", "summary_row"]

STATUSES: Final = ("available", "restricted", "unavailable")


def service_status(ok: Sequence[bool]) -> str:
    """``available`` / ``restricted`` / ``unavailable`` for the endpoints' ok flags (an empty
    set is ``unavailable``: nothing was reachable)."""
    if ok and all(ok):
        return "available"
    if any(ok):
        return "restricted"
    return "unavailable"


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 6) if present else None


def summarise(results: Sequence[EndpointResult]) -> dict[str, Any]:
    """The summary keys: status, counts, failing share, failing steps, median RTTs."""
    failing = [r for r in results if not r.ok]
    steps = Counter(r.failed_step for r in failing)
    total = len(results)
    return {
        "status": service_status([r.ok for r in results]),
        "endpoints_total": total,
        "endpoints_failing": len(failing),
        "failing_share": round(len(failing) / total, 4) if total else None,
        "failing_steps": {s: steps[s] for s in STEPS if steps[s]},
        "median_connect_rtt": _median([r.connect_rtt for r in results]),
        "median_tls_rtt": _median([r.tls_rtt for r in results]),
        "median_ttfb": _median([r.ttfb for r in results]),
    }


def summary_row(measurement: dict[str, Any]) -> tuple[str, str]:
    """The probe summary table's two columns: ``available`` / ``restricted 15/25`` /
    ``unavailable 25/25``, and the first failing endpoint (``tls www.tiktok.com:443:
    generic_timeout_error (+14 more)``; ``-`` when none)."""
    tk = measurement.get("test_keys") or {}
    status = str(tk.get("status") or "unknown")
    failing = [e for e in tk.get("endpoints") or [] if e.get("status") == "failed"]
    if status != "available" and tk.get("endpoints_total"):
        status = f"{status} {len(failing)}/{tk['endpoints_total']}"
    if not failing:
        return status, "-"
    first = failing[0]
    more = f" (+{len(failing) - 1} more)" if len(failing) > 1 else ""
    return status, (f"{first.get('failed_step')} {first.get('host')}:{first.get('port')}: "
                    f"{first.get('failure')}{more}")
