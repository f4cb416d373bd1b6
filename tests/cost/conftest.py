"""Fixtures of the cost tests: the detected store of :mod:`tests.cost.eventkit`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cost.eventkit import DetectedStore, build_store


@pytest.fixture(scope="module")
def detected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DetectedStore]:
    yield build_store(tmp_path_factory.mktemp("cost") / "az2020.duckdb")
