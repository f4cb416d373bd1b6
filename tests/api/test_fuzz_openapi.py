"""The API fuzzed from its own OpenAPI document (schemathesis on the ASGI app, on the test
store): valid and invalid requests to every operation — writes with an admin token, so the
checks behind the token are reached — never get a 5xx, and every 4xx carries the one error
envelope ``{"error": {"code", "message", "detail"}}``.

Bounded and repeatable: a few examples per operation, derandomized (the same requests on
every run), no example database, no deadline (a busy machine is slow, not wrong).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from apikit import WIDE_SETTINGS, ApiStore
from hypothesis import HealthCheck, settings

from censorscope.api import Settings, create_app
from censorscope.api.tokens import append_token

# per operation; a deeper run: CENSORSCOPE_FUZZ_EXAMPLES=500 pytest tests/api/test_fuzz_openapi.py
MAX_EXAMPLES = int(os.environ.get("CENSORSCOPE_FUZZ_EXAMPLES", "12"))
TOKEN_HEADER: dict[str, str] = {}


class _LateApp:
    """The ASGI app the requests go to, set by the ``fuzzed_api`` fixture. The OpenAPI
    document is read at collection time from an app on no store (``create_app`` opens
    nothing before a request; the document does not depend on the store), so that
    schemathesis makes one test per operation (its lazy ``from_fixture`` loader does not run
    on this pytest)."""

    def __init__(self) -> None:
        self.app: Any = create_app("duckdb:///nonexistent/collection-only.duckdb")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


LATE_APP = _LateApp()
schema = schemathesis.openapi.from_asgi("/openapi.json", LATE_APP)


@pytest.fixture(scope="module", autouse=True)
def fuzzed_api(api_store: ApiStore, tmp_path_factory: pytest.TempPathFactory) -> Any:
    where: Path = tmp_path_factory.mktemp("fuzz")
    TOKEN_HEADER["Authorization"] = f"Bearer {append_token(where / 'tokens', 'admin')}"
    LATE_APP.app = create_app(api_store.url, settings=Settings(**{
        **WIDE_SETTINGS.__dict__, "store_linger": None, "tokens_file": str(where / "tokens"),
        "annotations_file": str(where / "notes.sqlite")}))
    yield LATE_APP.app
    LATE_APP.app.state.pool.close()


def error_envelope(_ctx: Any, response: Any, _case: Any) -> bool:
    """A 4xx answer is JSON ``{"error": {"code": <status>, "message": str, "detail": …}}``."""
    if 400 <= response.status_code < 500:
        assert response.headers.get("content-type", [""])[0].startswith("application/json"), (
            response.headers)
        body = response.json()
        assert isinstance(body, dict) and set(body) == {"error"}, body
        error = body["error"]
        assert set(error) == {"code", "message", "detail"}, error
        assert error["code"] == response.status_code, error
        assert isinstance(error["message"], str) and error["message"], error
    return True


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@pytest.mark.slow
def test_no_server_error_and_every_4xx_in_the_envelope(case: Any) -> None:
    response = case.call(headers=TOKEN_HEADER)
    assert response.status_code < 500, (case.as_curl_command(), response.text[:2000])
    error_envelope(None, response, case)


def test_what_the_fuzzer_found_stays_fixed(client: Any) -> None:
    """Numbers beyond 64 bits (found by the fuzzer as 500s: JSON could not carry them back):
    a page size is a 400 naming it, an offset a 422."""
    huge = 10**30
    r = client.get("/api/v1/measurements", params={"limit": huge})
    assert r.status_code == 400 and r.json()["error"]["detail"]["value"] == str(huge)
    for path in ("/api/v1/incidents", "/api/v1/outages", "/api/v1/findings"):
        r = client.get(path, params={"offset": huge})
        assert r.status_code == 422, (path, r.text)
        assert r.json()["error"]["detail"][0]["parameter"] == "offset"
