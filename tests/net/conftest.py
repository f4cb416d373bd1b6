"""Fixtures for net tests: a throwaway PKI shared by the session.

``loopback.py`` (beside this file) holds the PKI and loopback servers; the trace tests
import it too, so this directory is put on ``sys.path``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from loopback import PKI, make_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(Path(tmp_path_factory.mktemp("pki")))
