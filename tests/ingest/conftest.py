"""Fixtures for ingest tests: the store kit of tests/store (engines, samples)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "store"))

from storekit import ENGINES, open_test_store

from censorscope.store.base import Store


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from open_test_store(request.param, tmp_path)


@pytest.fixture
def duck(tmp_path: Path) -> Iterator[Store]:
    yield from open_test_store("duckdb", tmp_path)
