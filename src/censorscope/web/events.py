"""Detected events (``censorscope detect``'s incidents and outages, as the store keeps their
JSON) as the rows of the explorer's lists: the stored object's fields plus the paths of the
pages they link to, and the filters the lists offer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from censorscope.api.errors import bad_parameter
from censorscope.report.target import ReportTarget

from .paths import country_path, incident_path, network_path, outage_path, report_path

__all__ = ["incident_row", "matches_target", "outage_row", "parse_target"]


def incident_row(inc: Mapping[str, Any]) -> dict[str, Any]:
    """A stored incident as a list row: id, title, country, target, scope, start, end,
    ongoing, confidence, the affected networks (in onset order) and the links."""
    networks = sorted(inc.get("networks", ()), key=lambda n: (n.get("onset") or "", n["asn"]))
    return {
        "id": inc["id"], "url": incident_path(inc["id"]), "title": inc.get("title", ""),
        "cc": inc["cc"], "country_url": country_path(inc["cc"]), "target": inc["target"],
        "scope": inc.get("scope"), "start": inc["start"], "end": inc.get("end"),
        "ongoing": inc.get("end") is None, "confidence": inc.get("confidence"),
        "networks": [{"asn": n["asn"], "as_name": n.get("as_name"),
                      "url": network_path(n["asn"]), "onset": n.get("onset")}
                     for n in networks],
        "not_affected": list(inc.get("not_affected", ())),
        "report_url": report_path(inc["cc"], inc["target"]),
    }


def outage_row(o: Mapping[str, Any], as_name: str | None = None) -> dict[str, Any]:
    """A stored outage as a list row (``asn`` None: the whole country)."""
    asn = o.get("asn")
    return {
        "id": o["id"], "url": outage_path(o["id"]), "cc": o["cc"],
        "country_url": country_path(o["cc"]), "asn": asn, "as_name": as_name,
        "network_url": network_path(asn) if asn is not None else None, "kind": o["kind"],
        "start": o["start"], "end": o.get("end"), "ongoing": o.get("end") is None,
        "confidence": o.get("confidence"), "evidence_count": len(o.get("evidence", ())),
        "report_url": report_path(o["cc"]),
    }


def parse_target(value: str | None) -> ReportTarget | None:
    """A target field (``tiktok``, ``www.example.org``, ``service:…``, ``domain:…``) or a
    400 naming ``target``."""
    if value is None:
        return None
    try:
        return ReportTarget.parse(value)
    except ValueError as exc:
        raise bad_parameter("target", str(exc), value) from None


def matches_target(events: Iterable[Mapping[str, Any]], target: ReportTarget | None
                   ) -> list[Mapping[str, Any]]:
    """The incidents about ``target`` (all of them for None), as reports choose them."""
    return [e for e in events if target is None or target.matches(e)]
