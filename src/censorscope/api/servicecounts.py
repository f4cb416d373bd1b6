"""The services censorscope knows, and per service and network the outcomes of the latest
verdicts of its measurements in a window (what ``/api/v1/services`` answers).

A service is one of the endpoint sets the package ships (``censorscope/data/services``,
parsed by :mod:`censorscope.model.services`: the sets the ``service`` experiment measures).
A measurement is a service's as detection and ``censorscope report`` decide it
(:class:`censorscope.report.target.TargetScope`): the ``service`` test measuring it, the
messaging test of that name, or any test of a domain of its endpoint set. Each measurement
counts with its *latest* verdict (the highest rules version, as detection reads them:
``Store.iter_point_rows``); the read folds the clean measurements of every other test and
domain in the store's engine, so it stays one pass over the window's verdicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from censorscope.model.services import KNOWN_SERVICES, Endpoint, bundled_set
from censorscope.report.target import ReportTarget, TargetScope, scope_of
from censorscope.store.base import Store
from censorscope.store.points import FoldSpec, PointRow

from .render import iso_z

__all__ = ["NetworkTally", "ServiceSet", "count_outcomes", "known_services", "service_json"]


def _read_data(rel: str) -> str:
    return resources.files("censorscope.data").joinpath(*rel.split("/")).read_text("utf-8")


@dataclass(frozen=True)
class ServiceSet:
    """One service: its shipped endpoints and the scope of measurements that measure it."""

    name: str
    endpoints: tuple[Endpoint, ...]
    scope: TargetScope

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(sorted(self.scope.domains))


@lru_cache(maxsize=1)
def known_services() -> dict[str, ServiceSet]:
    """Every shipped service by name (read once)."""
    out = {}
    for name in KNOWN_SERVICES:
        scope = scope_of(ReportTarget("service", name), ())
        out[name] = ServiceSet(name, tuple(bundled_set(name, _read_data)), scope)
    return out


@dataclass
class NetworkTally:
    """The latest verdicts of one service's measurements on one network."""

    probe_cc: str
    probe_asn: int
    probe_network_name: str | None = None
    outcomes: dict[str, int] = field(default_factory=dict)
    latest: PointRow | None = None

    def add(self, row: PointRow) -> None:
        self.outcomes[row.outcome] = self.outcomes.get(row.outcome, 0) + row.weight
        if row.probe_network_name:
            self.probe_network_name = row.probe_network_name
        if self.latest is None or ((row.measurement_start_time, row.measurement_uid)
                                   > (self.latest.measurement_start_time,
                                      self.latest.measurement_uid)):
            self.latest = row

    def to_json(self) -> dict[str, Any]:
        last = self.latest
        return {
            "probe_cc": self.probe_cc, "probe_asn": self.probe_asn,
            "probe_network_name": self.probe_network_name,
            "measurement_count": sum(self.outcomes.values()),
            "outcomes": dict(sorted(self.outcomes.items())),
            "latest": None if last is None else {
                "measurement_uid": last.measurement_uid,
                "measurement_start_time": iso_z(last.measurement_start_time),
                "outcome": last.outcome, "layer": last.layer, "mechanism": last.mechanism,
                "rules_version": last.rules_version},
        }


def _fold_of(services: Iterable[ServiceSet]) -> FoldSpec:
    """Keep one by one every measurement a service may claim; fold the clean rest."""
    chosen = list(services)
    domains = frozenset(d for s in chosen for d in s.scope.domains)
    tests = {"service"} | {name for s in chosen for name in KNOWN_SERVICES
                           if s.scope.covers(name, None, None)}
    return FoldSpec(keep_domains=domains, keep_tests=frozenset(tests))


def count_outcomes(store: Store, services: Sequence[ServiceSet], *, since: datetime,
                   until: datetime, probe_cc: Sequence[str] | None = None,
                   probe_asn: Sequence[int] | None = None
                   ) -> dict[str, dict[tuple[str, int], NetworkTally]]:
    """Service name → (country, AS) → the tally of the window's measurements (``since``
    inclusive, ``until`` exclusive) of that service, each with its latest verdict."""
    out: dict[str, dict[tuple[str, int], NetworkTally]] = {s.name: {} for s in services}
    fold = _fold_of(services)
    asns = None if probe_asn is None else frozenset(probe_asn)
    for cc in (probe_cc if probe_cc is not None else (None,)):
        for rows in store.iter_point_rows(since=since, until=until, cc=cc, fold=fold):
            for row in rows:
                if asns is not None and row.probe_asn not in asns:
                    continue
                for s in services:
                    if s.scope.covers(row.test_name, row.input, row.domain):
                        key = (row.probe_cc, row.probe_asn)
                        tally = out[s.name].get(key)
                        if tally is None:
                            tally = out[s.name][key] = NetworkTally(*key)
                        tally.add(row)
    return out


def service_json(service: ServiceSet, tallies: dict[tuple[str, int], NetworkTally]
                 ) -> dict[str, Any]:
    """A service with its endpoints, domains and per-network tallies (by country, AS)."""
    networks = [tallies[k].to_json() for k in sorted(tallies)]
    return {
        "name": service.name,
        "domains": list(service.domains),
        "endpoints": [{"host": e.host, "port": e.port, "protocol": e.protocol,
                       "path": e.path if e.protocol in ("https", "http") else None,
                       "url": e.url, "note": e.note} for e in service.endpoints],
        "measurement_count": sum(n["measurement_count"] for n in networks),
        "networks": networks,
    }
