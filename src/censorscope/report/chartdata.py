"""What each chart of a report shows, as plain data: the report gathers it from the store
(``facts``), the charts draw it (``charts``), the text and the tests read the same numbers.

Times are naive UTC datetimes (the store's). A time axis is a list of bucket starts of one
``unit`` (``day``, ``hour``, ``10min`` or ``minute``: :func:`bucket_unit` picks it from the
span, so a lab run of a few compressed hours gets readable bars and a month gets days).
Every count is a number of measurements (a folded point counts its ``weight``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

__all__ = [
    "BUCKET_UNITS", "AsnEndpointGrid", "BucketUnit", "ChartData", "CoverageSeries",
    "DnsAnswers", "FailuresByName", "SniMatrix", "bucket_start", "bucket_unit",
]

BucketUnit = Literal["day", "hour", "10min", "minute"]
BUCKET_UNITS: Final[dict[str, timedelta]] = {
    "day": timedelta(days=1), "hour": timedelta(hours=1), "10min": timedelta(minutes=10),
    "minute": timedelta(minutes=1),
}
# the most buckets a time axis should have before the next coarser unit is taken
MAX_BUCKETS: Final = 60


def bucket_unit(first: datetime, last: datetime) -> BucketUnit:
    """The finest unit that spans ``first`` … ``last`` in at most ``MAX_BUCKETS`` buckets
    (``day`` for anything longer)."""
    span = last - first
    finer: tuple[BucketUnit, ...] = ("minute", "10min", "hour")
    for unit in finer:
        if span < BUCKET_UNITS[unit] * MAX_BUCKETS:
            return unit
    return "day"


def bucket_start(t: datetime, unit: BucketUnit) -> datetime:
    """The start of the ``unit`` bucket holding ``t``."""
    if unit == "day":
        return t.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    if unit == "10min":
        return t.replace(minute=t.minute - t.minute % 10, second=0, microsecond=0)
    return t.replace(second=0, microsecond=0)


@dataclass(frozen=True)
class FailuresByName:
    """Failed measurements per server name per time bucket (the seed report's "failures per
    server name per day"). ``series[name][i]`` counts the measurements in ``buckets[i]`` in
    which ``name`` failed; ``measured[name][i]`` those in which it was measured at all."""

    unit: BucketUnit
    buckets: list[datetime]
    series: dict[str, list[int]]
    measured: dict[str, list[int]]


@dataclass(frozen=True)
class AsnEndpointGrid:
    """Per network × endpoint: how many measurements tried the endpoint and how many saw
    it fail, over the report's window after each network's onset (or the whole window for
    a network without one). ``asns`` are (asn, as_name) in onset order, unaffected last."""

    asns: list[tuple[int, str]]
    endpoints: list[str]
    failed: dict[tuple[int, str], int]
    measured: dict[tuple[int, str], int]


@dataclass(frozen=True)
class SniMatrix:
    """TLS handshakes by address × server name, per network: ``cells[(asn, ip,
    server_name)]`` = (ok count, failed count, one measurement uid, the failures seen)."""

    asns: list[tuple[int, str]]
    ips: list[str]
    server_names: list[str]
    cells: dict[tuple[int, str, str], tuple[int, int, str, tuple[str, ...]]]


@dataclass(frozen=True)
class DnsAnswers:
    """DNS answers per resolver: ``counts[(resolver, answer)]`` = number of answers, where a
    resolver is ``"AS<n> system"`` / ``"AS<n> udp 8.8.8.8:53"`` / … (network and resolver),
    and an answer is an address with its ASN (``"1.2.3.4 (AS15169)"``), ``NXDOMAIN``,
    another failure, or ``bogon 10.10.34.35``. ``domains`` lists the names queried."""

    domains: list[str]
    resolvers: list[str]
    answers: list[str]
    counts: dict[tuple[str, str], int]


@dataclass(frozen=True)
class CoverageSeries:
    """Measurements per network per time bucket, so a reader sees where data is thin."""

    unit: BucketUnit
    buckets: list[datetime]
    series: dict[int, list[int]]
    as_names: dict[int, str]


@dataclass(frozen=True)
class ChartData:
    """Everything the report draws (None: nothing to draw, e.g. no TLS handshakes)."""

    failures_by_name: FailuresByName | None
    asn_endpoint_grid: AsnEndpointGrid | None
    sni_matrix: SniMatrix | None
    dns_answers: DnsAnswers | None
    coverage: CoverageSeries | None
    extra: dict[str, Any] = field(default_factory=dict)
