"""Fixtures for trace tests: the net tests' loopback servers and throwaway PKI."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "net"))

from loopback import PKI, make_pki


@pytest.fixture(scope="session")
def trace_pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(Path(tmp_path_factory.mktemp("trace-pki")))
