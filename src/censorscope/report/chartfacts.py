"""The numbers behind a report's charts (:class:`~.chartdata.ChartData`), counted from the
digests of the scope's measurements (:mod:`.digest`) and the window scan (:mod:`.scan`).

- failures per server name per time bucket: a name counts as failed in a measurement the
  analysis judged blocked (or impaired) in which it failed; only names that failed at least
  once are drawn, with how often each was measured per bucket;
- network × endpoint grid: from each network's onset (the whole window for a network without
  one), how many measurements tried each endpoint and how many saw it fail; the endpoints
  that failed somewhere;
- IP × server name TLS matrix: the handshakes of the same periods (plus those of the
  measurements cited as the SNI proof), per network, address and server name;
- DNS answers per resolver: every answer (or failure) of the scope's measurements;
- coverage: measurements (of every test) per network per bucket.

The time axis runs from the window's first to its last measurement in ``chartdata.bucket_unit``
buckets. A part is None when it has nothing to draw.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from .chartdata import (
    BUCKET_UNITS,
    AsnEndpointGrid,
    BucketUnit,
    ChartData,
    CoverageSeries,
    DnsAnswers,
    FailuresByName,
    SniMatrix,
    bucket_start,
)
from .digest import MeasurementDigest
from .proof import Period
from .scan import WindowScan

__all__ = ["axis", "chart_data"]


def axis(first: datetime, last: datetime, unit: BucketUnit) -> list[datetime]:
    """Every bucket start from ``first``'s bucket to ``last``'s."""
    step = BUCKET_UNITS[unit]
    t, end = bucket_start(first, unit), bucket_start(last, unit)
    out = []
    while t <= end:
        out.append(t)
        t += step
    return out


def _failures_by_name(digests: Sequence[MeasurementDigest], buckets: list[datetime],
                      unit: BucketUnit) -> FailuresByName | None:
    index = {b: i for i, b in enumerate(buckets)}
    failed: dict[str, list[int]] = {}
    measured: dict[str, list[int]] = {}
    for d in digests:
        i = index.get(bucket_start(d.time, unit))
        if i is None:
            continue
        for name, bad in d.names:
            measured.setdefault(name, [0] * len(buckets))[i] += 1
            if bad:
                failed.setdefault(name, [0] * len(buckets))[i] += 1
    if not failed:
        return None
    order = sorted(failed, key=lambda n: (-sum(failed[n]), n))
    return FailuresByName(unit, buckets, {n: failed[n] for n in order},
                          {n: measured[n] for n in order})


def _in_period(d: MeasurementDigest, periods: Mapping[int, Period]) -> bool:
    period = periods.get(d.asn)
    return period is None or period.holds(d.time)


def _grid(digests: Sequence[MeasurementDigest], asns: list[tuple[int, str]],
          periods: Mapping[int, Period]) -> AsnEndpointGrid | None:
    failed: Counter[tuple[int, str]] = Counter()
    measured: Counter[tuple[int, str]] = Counter()
    for d in digests:
        if not _in_period(d, periods):
            continue
        for name, bad in d.names:
            measured[(d.asn, name)] += 1
            if bad:
                failed[(d.asn, name)] += 1
    if not failed:
        return None
    networks_failing = Counter(name for (_, name), n in failed.items() if n)
    endpoints = sorted(networks_failing, key=lambda n: (-networks_failing[n], n))
    keep = {a for a, _ in asns}
    return AsnEndpointGrid(
        asns, endpoints,
        {k: v for k, v in failed.items() if k[0] in keep and k[1] in networks_failing},
        {k: v for k, v in measured.items() if k[0] in keep and k[1] in networks_failing})


def _sni_matrix(digests: Iterable[MeasurementDigest], asns: list[tuple[int, str]],
                periods: Mapping[int, Period]) -> SniMatrix | None:
    ok: Counter[tuple[int, str, str]] = Counter()
    bad: Counter[tuple[int, str, str]] = Counter()
    uid: dict[tuple[int, str, str], str] = {}
    failures: dict[tuple[int, str, str], set[str]] = {}
    for d in sorted(digests, key=lambda d: (d.time, d.uid)):
        if not _in_period(d, periods):
            continue
        for h in d.handshakes:
            if not h.ip:
                continue
            key = (d.asn, h.ip, h.server_name)
            uid.setdefault(key, d.uid)
            if h.ok:
                ok[key] += 1
            else:
                bad[key] += 1
                failures.setdefault(key, set()).add(h.result)
    if not uid:
        return None
    keep = {a for a, _ in asns}
    keys = [k for k in uid if k[0] in keep]
    if not keys:
        return None
    ips = sorted({k[1] for k in keys}, key=_ip_order)
    names = sorted({k[2] for k in keys}, key=lambda n: (-sum(bad[k] for k in keys
                                                               if k[2] == n), n))
    cells = {k: (ok[k], bad[k], uid[k], tuple(sorted(failures.get(k, ())))) for k in keys}
    present = [a for a in asns if any(k[0] == a[0] for k in keys)]
    return SniMatrix(present, ips, names, cells)


def _ip_order(ip: str) -> tuple[int, ...] | tuple[int, str]:
    parts = ip.split(".")
    if len(parts) == 4 and all(p.isdigit() for p in parts):
        return tuple(int(p) for p in parts)
    return (1 << 16, ip)


def _dns(digests: Iterable[MeasurementDigest]) -> DnsAnswers | None:
    counts: Counter[tuple[str, str]] = Counter()
    domains: set[str] = set()
    for d in digests:
        for a in d.dns:
            counts[(a.resolver, a.answer)] += 1
            if a.hostname:
                domains.add(a.hostname)
    if not counts:
        return None
    resolvers = sorted({r for r, _ in counts})
    per_answer = Counter[str]()
    for (_, answer), n in counts.items():
        per_answer[answer] += n
    answers = sorted(per_answer, key=lambda a: (-per_answer[a], a))
    return DnsAnswers(sorted(domains), resolvers, answers, dict(counts))


def _coverage(scan: WindowScan, buckets: list[datetime], unit: BucketUnit
              ) -> CoverageSeries | None:
    counts = scan.coverage_counts()
    if not counts:
        return None
    asns = sorted(scan.networks)
    series = {asn: [counts.get((asn, b), 0) for b in buckets] for asn in asns}
    return CoverageSeries(unit, buckets, series,
                          {asn: scan.networks[asn].as_name for asn in asns})


def chart_data(scan: WindowScan, digests: Sequence[MeasurementDigest],
               asns: list[tuple[int, str]], periods: Mapping[int, Period],
               proof_digests: Sequence[MeasurementDigest] = ()) -> ChartData:
    """The five parts (see the module docstring). ``asns``: (asn, AS name) in onset order,
    unaffected networks last; ``periods``: each affected network's blocking period;
    ``proof_digests``: measurements cited by the SNI proofs that are not of the scope."""
    if scan.first is None or scan.last is None:
        return ChartData(None, None, None, None, None)
    unit = scan.unit
    buckets = axis(scan.first, scan.last, unit)
    return ChartData(
        failures_by_name=_failures_by_name(digests, buckets, unit),
        asn_endpoint_grid=_grid(digests, asns, periods),
        sni_matrix=_sni_matrix([*digests, *proof_digests], asns, periods),
        dns_answers=_dns(digests),
        coverage=_coverage(scan, buckets, unit),
    )
