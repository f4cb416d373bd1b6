"""Session fixtures of the end-to-end tests: each seed case replayed once (``seedcases``)."""

from __future__ import annotations

import pytest

from tests.e2e.roundkit import Rounds, StoreRun
from tests.e2e.seedcases import replay


@pytest.fixture(scope="session")
def az_tiktok(tmp_path_factory: pytest.TempPathFactory) -> tuple[Rounds, StoreRun]:
    return replay("az-2022-tiktok", tmp_path_factory.mktemp("az"))


@pytest.fixture(scope="session")
def am_tiktok(tmp_path_factory: pytest.TempPathFactory) -> tuple[Rounds, StoreRun]:
    return replay("am-2022-tiktok", tmp_path_factory.mktemp("am"))


@pytest.fixture(scope="session")
def az_war(tmp_path_factory: pytest.TempPathFactory) -> tuple[Rounds, StoreRun]:
    return replay("az-2020-war", tmp_path_factory.mktemp("war"))


_CASE_OF_FIXTURE = {"az_tiktok": "az-2022-tiktok", "am_tiktok": "am-2022-tiktok",
                    "az_war": "az-2020-war"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put every test that uses a case's replay in that case's xdist group, so that with
    ``--dist loadgroup`` one worker runs them all and the lab is replayed once."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        cases = sorted({_CASE_OF_FIXTURE[n] for n in names if n in _CASE_OF_FIXTURE})
        if cases:
            item.add_marker(pytest.mark.xdist_group("+".join(cases)))
