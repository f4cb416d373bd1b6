"""What is blocked where, for the country, network and domain pages, from the MAT's counts
(``Store.query_aggregate``: one grouped scan of the measurements, milliseconds on a store of
ten million) and a few bounded searches — not from a pass over the verdicts, which takes
seconds on a big store.

The MAT flags of a measurement are its latest verdict's (``ingest`` writes them with the
verdict, ``reprocess`` updates them): ``anomaly`` is an outcome of ``blocked`` or ``impaired``,
``confirmed`` a blocked one a fingerprint confirms, ``failure`` ``insufficient``. So a group's
**blocked** count — its MAT ``anomaly_count + confirmed_count`` — is the number of its
measurements whose latest verdict is blocked or impaired, and ``blocking_type`` (OONI's dns,
tcp_ip, http-failure, http-diff …) the kind of blocking.

:func:`blocked_refs` finds a group's first and last blocked and its latest measurement with
three one-row searches, each with its latest verdict's outcome and mechanism.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from censorscope.model.rows import MeasurementRow
from censorscope.report.digest import BLOCKING_OUTCOMES
from censorscope.report.proof import latest_verdict
from censorscope.store.base import COUNT_KEYS, Store
from censorscope.store.search import SearchFilter

from .paths import measurement_ref

__all__ = ["BLOCKING_OUTCOMES", "Blocking", "blocked_refs", "blocking_by"]

K = TypeVar("K", bound=Hashable)


@dataclass
class Blocking:
    """A group's MAT counts and the blocking types of its blocked measurements."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    types: Counter[str] = field(default_factory=Counter)

    @property
    def blocked(self) -> int:
        return self.counts["anomaly_count"] + self.counts["confirmed_count"]

    @property
    def measured(self) -> int:
        return self.counts["measurement_count"]

    def add(self, cell: Mapping[str, Any]) -> None:
        for k in COUNT_KEYS:
            self.counts[k] += int(cell[k])
        blocked = int(cell["anomaly_count"]) + int(cell["confirmed_count"])
        if blocked:
            self.types[cell.get("blocking_type") or "(none)"] += blocked

    def to_json(self) -> dict[str, Any]:
        return {"measured": self.measured, "blocked": self.blocked, **self.counts,
                "blocking_types": dict(sorted(self.types.items(),
                                              key=lambda kv: (-kv[1], kv[0])))}


def blocking_by(cells: Iterable[Mapping[str, Any]], key: Callable[[Mapping[str, Any]], K | None]
                ) -> dict[K, Blocking]:
    """MAT cells summed per ``key(cell)`` (cells whose key is None are left out)."""
    out: dict[K, Blocking] = {}
    for cell in cells:
        k = key(cell)
        if k is None:
            continue
        group = out.get(k)
        if group is None:
            group = out[k] = Blocking()
        group.add(cell)
    return out


def _ref(store: Store, row: MeasurementRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    verdict = latest_verdict(store, row.measurement_uid)
    return measurement_ref(row.measurement_uid, row.measurement_start_time,
                           outcome=verdict.outcome if verdict else None,
                           mechanism=verdict.mechanism if verdict else None,
                           blocking_type=row.blocking_type,
                           probe_network_name=row.probe_network_name)


def blocked_refs(store: Store, where: SearchFilter, *, blocked: bool = True
                 ) -> dict[str, dict[str, Any] | None]:
    """``{"first_blocked", "last_blocked", "latest"}`` of the measurements matching
    ``where`` (the blocked ones: MAT anomaly, not failure; only ``latest`` when ``blocked`` is
    False, i.e. the group has none)."""
    def one(w: SearchFilter, order: str) -> MeasurementRow | None:
        rows = store.search_measurements(w, order=order, limit=1)
        return rows[0] if rows else None

    hit = replace(where, anomaly=True, failure=False)
    return {"first_blocked": _ref(store, one(hit, "asc")) if blocked else None,
            "last_blocked": _ref(store, one(hit, "desc")) if blocked else None,
            "latest": _ref(store, one(where, "desc"))}
