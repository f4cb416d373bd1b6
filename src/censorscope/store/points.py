"""What detection reads from the store: one row per scored measurement of a time window.

``Store.iter_point_rows`` streams :class:`PointRow`: the ``measurements`` row's identity,
time, network and input, joined with the measurement's *latest* verdict (the highest
``rules_version``: a re-analysis supersedes the old one), and ``control_ok`` from the control
observation rows (True when one of them succeeded — a TCP connect, TLS handshake, HTTP
request, or a DNS answer —, False when none did, None when there is no control row). Rows come
ordered by (measurement_start_time, measurement_uid), so the same store gives the same stream
whatever order the measurements arrived in.

The detection layer (``censorscope.pipeline.detect.points``) turns a row and, for the
measurements that need them, its probe observation rows (``Store.get_observations_of``) into a
``VerdictPoint``.

Folding (:class:`FoldSpec`): detection needs every measurement of a target with blocking one
by one, but of the clean rest only counts. With a ``FoldSpec`` the read folds each *clean*
measurement — outcome ``ok``, its test not in ``keep_tests``, its domain None or not in
``keep_domains`` — into one row per (country, AS, test, hour, control_ok): ``input``/
``domain`` None, the earliest time, the smallest uid, the largest network name and rules
version, ``weight`` = the number folded. Rows keep their (time, uid) order. DuckDB folds in
SQL; :func:`fold_rows` is the same fold over a stream, for the other engines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

__all__ = ["POINT_COLUMNS", "FoldSpec", "PointRow", "fold_rows", "rebatch"]


class PointRow(NamedTuple):
    measurement_uid: str
    measurement_start_time: datetime
    probe_cc: str
    probe_asn: int
    probe_network_name: str | None
    test_name: str
    input: str | None
    domain: str | None
    outcome: str
    layer: str | None
    mechanism: str | None
    rules_version: str
    control_ok: bool | None
    weight: int = 1


POINT_COLUMNS = PointRow._fields
# the measurements columns of a PointRow (the rest come from the verdict and the control rows)
MEASUREMENT_COLUMNS = POINT_COLUMNS[:8]
VERDICT_COLUMNS = ("outcome", "layer", "mechanism", "rules_version")


@dataclass(frozen=True)
class FoldSpec:
    """Which clean measurements a point read keeps one by one (see the module docstring)."""

    keep_domains: frozenset[str] = frozenset()
    keep_tests: frozenset[str] = frozenset()

    def folds(self, row: PointRow) -> bool:
        return row.outcome == "ok" and row.test_name not in self.keep_tests and (
            row.domain is None or row.domain not in self.keep_domains)


def _hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def _folded(key: tuple[Any, ...], rows: list[PointRow]) -> PointRow:
    cc, asn, test_name, control_ok = key
    names = [r.probe_network_name for r in rows if r.probe_network_name is not None]
    return PointRow(min(r.measurement_uid for r in rows),
                    min(r.measurement_start_time for r in rows), cc, asn,
                    max(names) if names else None, test_name, None, None, "ok", None, None,
                    max(r.rules_version for r in rows), control_ok, len(rows))


def fold_rows(rows: Iterable[PointRow], fold: FoldSpec) -> Iterator[PointRow]:
    """``rows`` (ordered by time, uid) with the clean ones folded, in the same order."""
    hour: datetime | None = None
    kept: list[PointRow] = []
    groups: dict[tuple[Any, ...], list[PointRow]] = {}

    def flush() -> list[PointRow]:
        out = kept + [_folded(k, g) for k, g in groups.items()]
        out.sort(key=lambda r: (r.measurement_start_time, r.measurement_uid))
        kept.clear()
        groups.clear()
        return out

    for r in rows:
        h = _hour(r.measurement_start_time)
        if h != hour:
            yield from flush()
            hour = h
        if fold.folds(r):
            groups.setdefault((r.probe_cc, r.probe_asn, r.test_name, r.control_ok),
                              []).append(r)
        else:
            kept.append(r)
    yield from flush()


def rebatch(rows: Iterable[PointRow], batch: int) -> Iterator[list[PointRow]]:
    out: list[PointRow] = []
    for r in rows:
        out.append(r)
        if len(out) >= batch:
            yield out
            out = []
    if out:
        yield out
