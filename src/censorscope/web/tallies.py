"""Outcome tallies of measurements by their latest verdict, as detection reads them
(``Store.iter_point_rows``: each measurement of a window with the verdict of its highest rules
version), for the country, network and domain pages.

A :class:`Tally` counts one group's measurements per outcome (``ok``, ``blocked``,
``impaired`` …), the mechanisms of the blocking ones, and keeps the first and last blocking
measurement and the latest one. ``blocked`` is the blocking outcomes together (``blocked`` and
``impaired``, as the report counts them).

:func:`domain_rows` streams the window's measurements of a set of domains (by default the
domains with a blocking verdict in the window: ``Store.blocked_keys``), folding every other
clean measurement in the engine (``FoldSpec``), so a page reads one pass per country.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from censorscope.report.digest import BLOCKING_OUTCOMES
from censorscope.store.base import Store
from censorscope.store.points import FoldSpec, PointRow

from .paths import measurement_ref

__all__ = ["BLOCKING_OUTCOMES", "Tally", "blocked_domains", "domain_rows", "tally_by"]

K = TypeVar("K", bound=Hashable)


@dataclass
class Tally:
    """The measurements of one group (see the module docstring)."""

    measured: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    mechanisms: Counter[str] = field(default_factory=Counter)
    first_blocked: PointRow | None = None
    last_blocked: PointRow | None = None
    latest: PointRow | None = None
    as_name: str | None = None

    @property
    def blocked(self) -> int:
        return sum(self.outcomes[o] for o in BLOCKING_OUTCOMES)

    def add(self, row: PointRow) -> None:
        self.measured += row.weight
        self.outcomes[row.outcome] += row.weight
        if row.probe_network_name:
            self.as_name = row.probe_network_name
        key = (row.measurement_start_time, row.measurement_uid)
        if self.latest is None or key > _key(self.latest):
            self.latest = row
        if row.outcome in BLOCKING_OUTCOMES:
            self.mechanisms[row.mechanism or "(none)"] += row.weight
            if self.first_blocked is None or key < _key(self.first_blocked):
                self.first_blocked = row
            if self.last_blocked is None or key > _key(self.last_blocked):
                self.last_blocked = row

    def to_json(self) -> dict[str, Any]:
        def ref(row: PointRow | None) -> dict[str, Any] | None:
            if row is None:
                return None
            return measurement_ref(row.measurement_uid, row.measurement_start_time,
                                   outcome=row.outcome, mechanism=row.mechanism)

        return {
            "measured": self.measured, "blocked": self.blocked,
            "outcomes": dict(sorted(self.outcomes.items(), key=lambda kv: (-kv[1], kv[0]))),
            "mechanisms": dict(sorted(self.mechanisms.items(),
                                      key=lambda kv: (-kv[1], kv[0]))),
            "first_blocked": ref(self.first_blocked), "last_blocked": ref(self.last_blocked),
            "latest": ref(self.latest),
        }


def _key(row: PointRow) -> tuple[datetime, str]:
    return row.measurement_start_time, row.measurement_uid


def tally_by(rows: Iterable[PointRow], key: Callable[[PointRow], K | None]) -> dict[K, Tally]:
    """``rows`` tallied per ``key(row)`` (rows whose key is None are left out)."""
    out: dict[K, Tally] = {}
    for row in rows:
        k = key(row)
        if k is None:
            continue
        tally = out.get(k)
        if tally is None:
            tally = out[k] = Tally()
        tally.add(row)
    return out


def blocked_domains(store: Store, cc: str, since: datetime, until: datetime) -> frozenset[str]:
    """The domains of measurements (not of the ``service`` test, whose domain is a service
    name) with a blocking latest verdict in the window."""
    return frozenset(d for test, _, d in store.blocked_keys(since=since, until=until, cc=cc)
                     if d and test != "service")


def domain_rows(store: Store, cc: str, since: datetime, until: datetime, *,
                domains: frozenset[str] | None = None, asn: int | None = None
                ) -> Iterator[PointRow]:
    """The window's measurements from ``cc`` (and network ``asn``) of ``domains`` (default:
    :func:`blocked_domains`), each with its latest verdict, in time order."""
    wanted = blocked_domains(store, cc, since, until) if domains is None else domains
    if not wanted:
        return
    fold = FoldSpec(keep_domains=wanted)
    for batch in store.iter_point_rows(since=since, until=until, cc=cc, fold=fold):
        for row in batch:
            if (row.domain in wanted and row.test_name != "service"
                    and (asn is None or row.probe_asn == asn)):
                yield row
