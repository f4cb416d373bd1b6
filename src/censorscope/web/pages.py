"""Explorer pages and their JSON twins, from one handler.

A page handler is a FastAPI endpoint (its parameters are the page's query and path
parameters, ``request: Request`` among them) that returns a JSON-able dict: the page's data,
with at least ``title``. :func:`page` registers it twice:

- ``<path>.json`` answers the dict as JSON (the twin);
- ``<path>`` renders the page's template from the same dict, after a round trip through JSON,
  so the HTML shows exactly what the twin says (times as ``…Z`` text, numbers as numbers).

Errors raised by a handler (``censorscope.api.errors.APIError``: 400, 404 …) are the API's
envelope on the twin and an HTML error page rendered from that envelope on the page
(:mod:`.site` installs the handlers). Pages are not in the OpenAPI document.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Final

import orjson
from fastapi import APIRouter, Request
from jinja2 import Environment
from starlette.responses import HTMLResponse, Response

from censorscope.api.render import iso_z, json_response

from .templating import environment

__all__ = ["HTML_HEADERS", "Handler", "page", "render", "twin_data", "twin_url"]

Handler = Callable[..., dict[str, Any]]

# pages load only the package's own CSS and script; raw bodies shown in them are text
HTML_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    "Referrer-Policy": "no-referrer",
}

_env: Environment | None = None


def env() -> Environment:
    global _env
    if _env is None:
        _env = environment()
    return _env


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return iso_z(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def twin_data(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as its JSON twin reads it (a round trip through JSON)."""
    out: dict[str, Any] = orjson.loads(orjson.dumps(
        data, default=_default, option=orjson.OPT_PASSTHROUGH_DATETIME))
    return out


def twin_url(request: Request) -> str:
    """The JSON twin of the page ``request`` asks for: its path with ``.json``, same query."""
    path = request.url.path.rstrip("/") or "/index"
    if path.endswith(".json"):
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{path}.json" + (f"?{request.url.query}" if request.url.query else "")


def render(request: Request, template: str, data: dict[str, Any], *, nav: str | None = None,
           status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The HTML page ``template`` rendered from ``data`` (the twin's dict: ``d`` in the
    template) with the twin's URL (``json_url``) and the navigation key (``nav_active``)."""
    html = env().get_template(template).render(d=data, json_url=twin_url(request),
                                               nav_active=nav)
    return HTMLResponse(html, status_code=status, headers={**HTML_HEADERS, **(headers or {})})


def page(router: APIRouter, path: str, *, template: str, nav: str | None = None
         ) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the page ``path`` (HTML from ``template``) and its twin
    ``path.json``. The handler must take ``request: Request``."""

    def register(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def as_json(**kwargs: Any) -> Response:
            return json_response(twin_data(handler(**kwargs)))

        @functools.wraps(handler)
        def as_html(**kwargs: Any) -> Response:
            request: Request = kwargs["request"]
            return render(request, template, twin_data(handler(**kwargs)), nav=nav)

        # the twin first: "/measurement/{uid}" would also match "/measurement/x.json"
        router.add_api_route(f"{path}.json", as_json, methods=["GET"], response_model=None,
                             include_in_schema=False, name=f"{handler.__name__}_json")
        router.add_api_route(path, as_html, methods=["GET"], response_model=None,
                             include_in_schema=False, name=handler.__name__)
        return handler

    return register
