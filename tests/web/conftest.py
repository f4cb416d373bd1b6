"""Stores for the explorer's tests, built once per session: the lab case and the samples."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
from fastapi.testclient import TestClient

from tests.web.webkit import lab_store, read_only_sql, samples_store, site_client


@pytest.fixture(scope="session")
def lab_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return lab_store(tmp_path_factory.mktemp("web-lab"))


@pytest.fixture(scope="session")
def samples_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return samples_store(tmp_path_factory.mktemp("web-samples"))


@pytest.fixture(scope="session")
def lab(lab_url: str) -> Iterator[TestClient]:
    with site_client(lab_url) as client:
        yield client


@pytest.fixture(scope="session")
def samples(samples_url: str) -> Iterator[TestClient]:
    with site_client(samples_url) as client:
        yield client


@pytest.fixture(scope="session")
def events_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The lab case with a hostile AS name and three outages (tests/web/explorekit)."""
    from tests.web.explorekit import events_store

    return events_store(tmp_path_factory.mktemp("web-events"))


@pytest.fixture(scope="session")
def events(events_url: str) -> Iterator[TestClient]:
    with site_client(events_url) as client:
        yield client


@pytest.fixture(scope="module")
def sql(lab_url: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """The lab store for direct SQL, read-only."""
    con = read_only_sql(lab_url)
    yield con
    con.close()


@pytest.fixture(scope="module")
def events_sql(events_url: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """The events store for direct SQL, read-only."""
    con = read_only_sql(events_url)
    yield con
    con.close()
