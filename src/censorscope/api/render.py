"""JSON answers as OONI writes them: times ``YYYY-MM-DDTHH:MM:SSZ``, dates ``YYYY-MM-DD``,
AS numbers ``AS123`` where OONI writes them so; and stored rows as JSON objects."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson
from starlette.responses import Response

from censorscope.model.rows import MeasurementRow, ObservationRow, VerdictRow

__all__ = ["iso_z", "json_response", "measurement_json", "observation_json", "verdict_json"]

# the columns of a measurements row that stay inside: where its raw body lies on the server
_PRIVATE = ("archive_file", "archive_offset", "archive_length")


def iso_z(t: datetime | date | None) -> str | None:
    """A naive UTC datetime as ``…Z`` (a date as ``YYYY-MM-DD``)."""
    if t is None:
        return None
    if isinstance(t, datetime):
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    return t.isoformat()


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return iso_z(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    return Response(orjson.dumps(obj, default=_default,
                                 option=orjson.OPT_PASSTHROUGH_DATETIME),
                    status_code=status, media_type="application/json", headers=headers)


def measurement_json(row: MeasurementRow) -> dict[str, Any]:
    """Every public column of a measurements row (times as ``…Z``, probe_asn an int)."""
    out = {k: v for k, v in row._asdict().items() if k not in _PRIVATE}
    for key in ("measurement_start_time", "test_start_time"):
        out[key] = iso_z(out[key])
    return out


def _parsed(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def verdict_json(row: VerdictRow) -> dict[str, Any]:
    """A verdict row with ``evidence_data`` as JSON (claims, sources, facts), not text."""
    out = row._asdict()
    out["evidence_data"] = _parsed(row.evidence_data)
    return out


def observation_json(row: ObservationRow) -> dict[str, Any]:
    """An observation row with ``http_response_headers`` as a JSON object."""
    out = row._asdict()
    out["http_response_headers"] = _parsed(row.http_response_headers)
    return out
