"""The explorer's page paths for the things its pages link to (countries, networks, domains,
services, incidents, outages, reports, measurements), each path segment quoted, and a
measurement reference as the pages' dicts carry it (uid, time and page path)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from .search import measurement_path

__all__ = ["country_path", "domain_path", "incident_path", "measurement_path",
           "measurement_ref", "network_path", "outage_path", "report_path", "search_path",
           "service_path"]


def _seg(value: str) -> str:
    return quote(value, safe="")


def country_path(cc: str) -> str:
    return f"/countries/{_seg(cc)}"


def network_path(asn: int) -> str:
    return f"/networks/AS{int(asn)}"


def domain_path(domain: str) -> str:
    return f"/domains/{_seg(domain)}"


def service_path(name: str) -> str:
    return f"/services/{_seg(name)}"


def incident_path(event_id: str) -> str:
    return f"/incidents/{_seg(event_id)}"


def outage_path(event_id: str) -> str:
    return f"/outages/{_seg(event_id)}"


def report_path(cc: str, target: str | None = None) -> str:
    return f"/reports/{_seg(cc)}" + (f"?{urlencode({'target': target})}" if target else "")


def search_path(params: Mapping[str, Any]) -> str:
    """The search page with the parameters that are set (times as ``…Z``)."""
    def text(v: Any) -> str:
        return v.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(v, datetime) else str(v)

    return "/search?" + urlencode({k: text(v) for k, v in params.items()
                                   if v is not None and v != ""})


def measurement_ref(uid: str | None, time: datetime | None = None, **extra: Any
                    ) -> dict[str, Any] | None:
    """``{"uid", "time", "url", …extra}`` of a measurement (None without a uid)."""
    if not uid:
        return None
    return {"uid": uid, "time": time, "url": measurement_path(uid), **extra}
