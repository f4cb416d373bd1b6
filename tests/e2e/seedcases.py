"""The three seed cases replayed in the lab, once per test session: the phases walked, the
probe steps of each round, and the store they end in (measured, analysed, detected).

``az-2022-tiktok``, ``am-2022-tiktok`` and ``az-2020-war`` each bring their lab up, run
``ROUNDS`` rounds of their steps from every ISP in every phase (``roundkit.run_rounds``; the
lab clock stamps the measurements with the case's dates), then ingest, re-score and detect
into a fresh DuckDB store (``roundkit.ingest_and_detect``). The session fixtures in
``conftest.py`` share one replay between the detection, report and cost tests; the tests of
one case carry ``pytest.mark.xdist_group(<case>)`` so that under ``pytest -n auto --dist
loadgroup`` one worker runs them all and the lab is replayed once.
"""

from __future__ import annotations

from pathlib import Path

from censorscope.demo.cases import AM_2022, AZ_2020, AZ_2022
from tests.e2e.labkit import lab_running
from tests.e2e.roundkit import Rounds, StoreRun, ingest_and_detect, run_rounds

ROUNDS = 2
# the steps of a round are the demo's (censorscope.demo.cases); the phases stop before the
# 2020 case's restoration, which the demo also walks

AZ_PHASES = ["before", "blocked-delta", "blocked-delta-kinetic", "blocked-all"]
AZ_ONSET_PHASE = {"delta": "blocked-delta", "connect": "blocked-delta-kinetic",
                  "azercell": "blocked-all"}
AZ_STEPS = list(AZ_2022.steps)

AM_PHASES = ["before", "blocked-ucom", "blocked"]
AM_STEPS = list(AM_2022.steps)

WAR_PHASES = ["before", "blocked", "throttled", "shutdown"]
WAR_STEPS = list(AZ_2020.steps)

CASES = {
    "az-2022-tiktok": (AZ_PHASES, AZ_STEPS),
    "am-2022-tiktok": (AM_PHASES, AM_STEPS),
    "az-2020-war": (WAR_PHASES, WAR_STEPS),
}


def replay(name: str, tmp: Path) -> tuple[Rounds, StoreRun]:
    """The case's lab through its phases, ``ROUNDS`` rounds each from every ISP, then the
    store and detection."""
    phases, steps = CASES[name]
    with lab_running(name, phases[0]) as (lab, state):
        rounds = run_rounds(lab, state, phases, steps, tmp, rounds=ROUNDS)
        (tmp / "asn.tsv").write_bytes(Path(state.asn_table).read_bytes())
    return rounds, ingest_and_detect(rounds.files, tmp / "asn.tsv", tmp / "s.duckdb")
