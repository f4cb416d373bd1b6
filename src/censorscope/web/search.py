"""The search page ``/search``: OONI's measurement filters as a form, the API's answer
(``/api/v1/measurements``, called in-process with the same parameters) as a table whose rows
link to the measurement pages, and a keyset "next page" link."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit

import orjson
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from censorscope.api import measurements
from censorscope.api.deps import settings_of

from .forms import Field, choice, flag, integer, text
from .pages import page

__all__ = ["TEST_NAMES", "measurement_path", "router", "status_of"]

router = APIRouter()

# suggested in the test-name field (any test name is accepted)
TEST_NAMES: Final = ("web_connectivity", "tls_sni", "service", "throttling", "dns_consistency",
                     "signal", "telegram", "whatsapp", "facebook_messenger", "tor", "psiphon",
                     "riseupvpn", "stunreachability", "http_header_field_manipulation",
                     "http_invalid_request_line")
FLAG_FIELDS: Final = ("anomaly", "confirmed", "failure")


def status_of(item: dict[str, Any]) -> str:
    """The MAT's class of a measurement: failure, confirmed, anomaly or ok (exclusive, in
    that order, as the aggregation counts them)."""
    if item.get("failure"):
        return "failure"
    if item.get("confirmed"):
        return "confirmed"
    if item.get("anomaly"):
        return "anomaly"
    return "ok"


def measurement_path(uid: str) -> str:
    return f"/measurement/{quote(uid, safe='')}"


def _page_link(url: str | None) -> str | None:
    """An absolute URL of this page or its twin as the page's path and query (the twin and
    the page give the same links: a twin's reader adds ``.json``)."""
    if url is None:
        return None
    parts = urlsplit(url)
    return parts.path.removesuffix(".json") + (f"?{parts.query}" if parts.query else "")


@router.get("/", include_in_schema=False)
def home() -> Response:
    return RedirectResponse("/search", status_code=307)


@page(router, "/search", template="search.html", nav="search")
def search(
    request: Request,
    probe_cc: Field = None, probe_asn: Field = None, test_name: Field = None,
    domain: Field = None, input: Field = None, report_id: Field = None,
    since: Field = None, until: Field = None,
    anomaly: Field = None, confirmed: Field = None, failure: Field = None,
    order: Field = None, limit: Field = None, cursor: Field = None,
) -> dict[str, Any]:
    """Measurements matching the form, newest first (or oldest), one page at a time."""
    settings = settings_of(request)
    form: dict[str, Any] = {
        "probe_cc": text(probe_cc), "probe_asn": text(probe_asn),
        "test_name": text(test_name), "domain": text(domain),
        "input": text(input, name="input", min_length=3),
        "report_id": text(report_id, name="report_id", min_length=3),
        "since": text(since), "until": text(until),
        **{name: flag(name, value) for name, value in
           zip(FLAG_FIELDS, (anomaly, confirmed, failure), strict=True)},
        "order": choice("order", order, ("desc", "asc"), "desc"),
        "limit": integer("limit", limit, low=1, high=settings.max_page_size)
        or settings.default_page_size,
    }
    page_cursor = text(cursor)
    answer = orjson.loads(measurements.search_measurements(
        request, cursor=page_cursor, offset=0, order_by="measurement_start_time",
        **form).body)
    results = [{**item, "status": status_of(item),
                "page_url": measurement_path(item["measurement_uid"])}
               for item in answer["results"]]
    api_query = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in form.items()
                 if v is not None}
    meta = {**answer["metadata"], "next_url": _page_link(answer["metadata"]["next_url"])}
    return {
        "title": "Search measurements",
        "form": form,
        "test_names": list(TEST_NAMES),
        "metadata": meta,
        "results": results,
        "links": {
            "next": meta["next_url"],
            "first": (f"/search?{urlencode(api_query)}" if page_cursor else None),
            "api": f"/api/v1/measurements?{urlencode(api_query)}"
                   + (f"&cursor={quote(page_cursor, safe='')}" if page_cursor else ""),
        },
    }
