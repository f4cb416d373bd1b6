"""The shapes of the API's answers, for the OpenAPI document (``/openapi.json``).

Endpoints build their JSON directly (orjson, no per-row validation on the hot path); the
contract tests validate real answers against these models so the document does not drift.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "AggregationAnswer", "CostAnswer", "IncidentAnswer", "IncidentsAnswer", "MeasurementItem",
    "MeasurementMeta", "ObservationsAnswer", "OutagesAnswer", "ReportAnswer", "SearchAnswer",
    "SearchMetadata", "ServiceAnswer", "ServicesAnswer", "VerdictAnswer",
]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class MeasurementItem(_Open):
    """One search result (OONI's fields, plus domain, network name and blocking_type)."""

    measurement_uid: str
    report_id: str
    test_name: str
    input: str | None
    domain: str | None
    probe_cc: str
    probe_asn: str  # "AS30722", as OONI writes it here
    probe_network_name: str | None
    measurement_start_time: str
    anomaly: bool
    confirmed: bool
    failure: bool
    blocking_type: str | None
    measurement_url: str


class SearchMetadata(_Open):
    count: int  # -1 when more pages exist (nothing is counted), else the rows of this page
    pages: int  # -1 when more pages exist, else 1
    limit: int
    next_cursor: str | None
    next_url: str | None
    since: str
    until: str
    query_time: float


class SearchAnswer(_Open):
    metadata: SearchMetadata
    results: list[MeasurementItem]


class MeasurementMeta(_Open):
    """Every public column of the measurements row; ``raw_measurement`` with ``full=true``."""

    measurement_uid: str
    report_id: str
    test_name: str
    input: str | None
    probe_cc: str
    probe_asn: int
    measurement_start_time: str | None
    anomaly: bool
    confirmed: bool
    failure: bool
    blocking_type: str | None
    raw_measurement: str | None = None


class AggregationAnswer(_Open):
    v: int
    dimension_count: int
    time_grain: str
    since: str
    until: str
    db_stats: dict[str, Any]
    result: list[dict[str, Any]] | dict[str, Any]


class VerdictAnswer(_Open):
    measurement_uid: str
    rules_versions: list[str]
    verdict: dict[str, Any]


class ObservationsAnswer(_Open):
    measurement_uid: str
    results: list[dict[str, Any]]


class ListMetadata(_Open):
    count: int
    limit: int
    offset: int


class IncidentsAnswer(_Open):
    metadata: ListMetadata
    incidents: list[dict[str, Any]]


class IncidentAnswer(_Open):
    incident: dict[str, Any]


class OutagesAnswer(_Open):
    metadata: ListMetadata
    outages: list[dict[str, Any]]


class ServicesAnswer(_Open):
    """Every known service with its endpoints, domains and per-network tallies."""

    metadata: dict[str, Any]
    services: list[dict[str, Any]]


class ServiceAnswer(_Open):
    metadata: dict[str, Any]
    service: dict[str, Any]


class ReportAnswer(_Open):
    """The facts of a report (``report.json`` of ``censorscope report`` without the charts
    drawn)."""

    country: str
    target: str | None
    incidents: list[dict[str, Any]]
    outages: list[dict[str, Any]]


class CostAnswer(_Open):
    """``censorscope cost --format json``: the range, its inputs and every step."""

    low: float
    central: float
    high: float
    currency: str
    inputs: dict[str, Any]
    trace: list[dict[str, Any]]
