"""The measurement page ``/measurement/{uid}``: who measured what and when, the analysis'
verdict with its evidence statements, and what the probe saw — DNS queries and answers (with
the answers' networks), TCP connects, TLS handshakes (server name sent, outcome, certificate
chain), HTTP requests and responses (body excerpts shown as text, never interpreted) and, per
connection, the timeline of its network events — read from the raw measurement (the file
``ingest`` read it from), or from the stored observation rows when that file is gone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request

from censorscope.api.deps import UID_PATTERN, pool_of
from censorscope.api.errors import APIError
from censorscope.api.rawbody import read_raw
from censorscope.api.render import measurement_json, verdict_json

from . import rawview
from .pages import page
from .rowview import answer_asns, control_rows, from_rows
from .search import status_of

__all__ = ["router"]

router = APIRouter()

Uid = Annotated[str, Path(pattern=UID_PATTERN, max_length=200)]


def _title(m: Mapping[str, Any]) -> str:
    what = m.get("input") or m.get("domain")
    where = f"{m['probe_cc']}, AS{m['probe_asn']}"
    return f"{m['test_name']}{f' of {what}' if what else ''} from {where}"


def _probe_sections(raw: Mapping[str, Any] | None, rows: list[Any]) -> dict[str, Any]:
    keys = raw.get("test_keys") if raw is not None else None
    if isinstance(keys, Mapping):
        return {"source": "raw measurement",
                "dns": rawview.dns_queries(keys, answer_asns(rows)),
                "tcp": rawview.tcp_connects(keys), "tls": rawview.tls_handshakes(keys),
                "http": rawview.http_requests(keys), "connections": rawview.connections(keys)}
    return {"source": "observation rows", **from_rows(rows), "connections": []}


@page(router, "/measurement/{uid}", template="measurement.html", nav="search")
def measurement(request: Request, uid: Uid) -> dict[str, Any]:
    """One measurement and everything known about it."""
    with pool_of(request).store() as store:
        row = store.get_measurement(uid)
        if row is None:
            raise APIError(404, "no such measurement", {"measurement_uid": uid})
        verdicts = store.get_verdicts(uid)
        rows = store.get_observations(uid)
    raw = read_raw(row)
    meta = measurement_json(row)
    meta["status"] = status_of(meta)
    quoted = urlencode({"measurement_uid": uid})
    same = {k: v for k, v in (("probe_cc", row.probe_cc), ("input", row.input),
                              ("test_name", row.test_name)) if v}
    if row.measurement_start_time is not None:  # the month around it
        day = row.measurement_start_time.date()
        same["since"] = (day - timedelta(days=15)).isoformat()
        same["until"] = (day + timedelta(days=16)).isoformat()
    return {
        "title": _title(meta),
        "measurement": meta,
        "verdict": verdict_json(verdicts[-1]) if verdicts else None,
        "rules_versions": [v.rules_version for v in verdicts],
        "raw_available": raw is not None,
        "probe": _probe_sections(raw, rows),
        "control": control_rows(rows),
        "links": {
            "raw": f"/api/v1/raw_measurement?{quoted}",
            "meta": f"/api/v1/measurement_meta?{quoted}",
            "verdicts": f"/api/v1/verdicts?{quoted}",
            "observations": f"/api/v1/observations?{quoted}",
            "same_input": f"/search?{urlencode(same)}",
        },
    }
