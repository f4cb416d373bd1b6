"""``censorscope serve`` serves the explorer and the API from one process, and from worker
processes built by the import-string factory (``censorscope.web.site:site_from_env``)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.web.webkit import served


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.headers["content-type"], r.read()


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_pages_twins_assets_and_api(lab_url: str, workers: int) -> None:
    with served(lab_url, workers=workers) as base:
        status, kind, body = _get(f"{base}/search?probe_cc=AZ&since=2022-09-01"
                                  "&until=2022-10-01")
        assert status == 200 and kind.startswith("text/html") and b"<table" in body
        status, kind, body = _get(f"{base}/search.json?probe_cc=AZ&since=2022-09-01"
                                  "&until=2022-10-01&limit=1000")
        assert status == 200 and kind.startswith("application/json")
        twin = json.loads(body)
        _, _, api = _get(f"{base}/api/v1/measurements?probe_cc=AZ&since=2022-09-01"
                         "&until=2022-10-01&limit=1000")
        assert [r["measurement_uid"] for r in twin["results"]] == [
            r["measurement_uid"] for r in json.loads(api)["results"]]
        status, kind, body = _get(f"{base}/static/explorer.css")
        assert status == 200 and kind.startswith("text/css") and b"focus-visible" in body
        status, kind, _ = _get(f"{base}/chart/mat?probe_cc=AZ&since=2022-09-01"
                               "&until=2022-10-01")
        assert status == 200 and kind.startswith("text/html")
