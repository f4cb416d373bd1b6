"""Measurement rounds through a lab's phases, then the store, the analysis and detection.

``run_rounds`` switches a running lab phase by phase and, in each phase, runs a few rounds of
probes from every ISP at once (one ``censorscope probe run`` per experiment in each ISP's
first probe host, as a user would); each run writes its own JSONL file, and the lab clock
stamps the measurements with the case's dates. ``StoreRun`` then ingests those files into a
fresh DuckDB store, re-scores them with the lab's ranges public (``reprocess --lab``), runs
``censorscope detect`` and reads ``incidents``/``outages`` back as JSON, each through the
real command line.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from censorscope.demo.cases import Step
from censorscope.lab.runtime import Lab, LabState
from tests.e2e.labkit import CENSORSCOPE, LAB_TIMEOUTS


@dataclass
class Rounds:
    """What the rounds measured: every file written, and per (phase, round, isp) the
    measurements in it."""

    files: list[Path] = field(default_factory=list)
    measured: dict[tuple[str, int, str], list[dict[str, Any]]] = field(default_factory=dict)

    def times(self, phase: str, round_: int, isp: str) -> list[datetime]:
        """The (scenario) start times of one ISP's measurements in one round."""
        return [datetime.strptime(m["measurement_start_time"], "%Y-%m-%d %H:%M:%S")
                for m in self.measured[(phase, round_, isp)]]

    def all(self) -> list[dict[str, Any]]:
        return [m for ms in self.measured.values() for m in ms]


def _run(lab: Lab, state: LabState, isp: str, step: Step, out: Path,
         timeout: float) -> list[dict[str, Any]]:
    host = state.probe_hosts(isp)[0]
    argv = [CENSORSCOPE, "probe", "run", "--config", str(state.state_dir / f"probe-{isp}.json"),
            "--no-progress", "--no-summary", "-o", str(out), "--experiment", step.experiment,
            *LAB_TIMEOUTS, *step.extra]
    for item in step.inputs:
        argv += ["--input", item]
    proc = lab.exec(host, argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{isp} {step.experiment}: {proc.stdout}{proc.stderr}"
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def run_rounds(
    lab: Lab, state: LabState, phases: Sequence[str], steps: Sequence[Step], out_dir: Path,
    *, rounds: int = 2, isps: Sequence[str] | None = None, timeout: float = 180,
) -> Rounds:
    """``rounds`` rounds of ``steps`` from every ISP (in parallel) in each of ``phases``."""

    names = list(isps or state.isps)
    done = Rounds()

    def one(phase: str, r: int, isp: str) -> list[dict[str, Any]]:
        ms: list[dict[str, Any]] = []
        for i, step in enumerate(steps):
            out = out_dir / f"{phase}-r{r}-{isp}-{i}-{step.experiment}.jsonl"
            ms += _run(lab, state, isp, step, out, timeout)
            done.files.append(out)
        return ms

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        for phase in phases:
            lab.phase(phase)
            for r in range(rounds):
                results = pool.map(lambda isp, p=phase, k=r: one(p, k, isp), names)
                for isp, ms in zip(names, results, strict=True):
                    done.measured[(phase, r, isp)] = ms
    return done


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``censorscope ARGS`` (outside the lab) and return what it did."""
    proc = subprocess.run([CENSORSCOPE, *args], capture_output=True, text=True, check=False)
    if check:
        assert proc.returncode == 0, f"censorscope {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc


@dataclass
class StoreRun:
    """A fresh DuckDB store with the rounds' measurements, analysed and detected."""

    store_url: str
    incidents: list[dict[str, Any]]
    outages: list[dict[str, Any]]


def ingest_and_detect(files: Sequence[Path], asn_table: Path, db: Path,
                      country: str | None = None) -> StoreRun:
    """``ingest --no-analyze`` → ``reprocess --lab`` → ``detect`` → ``incidents``/``outages
    --format json``. The measurements are scored once, by ``reprocess`` with the lab's ranges as
    public: a verdict already stored at this rules version is never re-scored, so scoring at
    ingest (where the lab's addresses are bogons) would be the one that stays."""

    url = f"duckdb:///{db}"
    cli("ingest", "--store", url, "--no-progress", "--no-analyze", "-j", "1",
        *map(str, files))
    cli("reprocess", "--store", url, "--lab", "--asn-table", str(asn_table))
    cli("detect", "--store", url)
    where = ("--country", country) if country else ()
    incidents = json.loads(cli("incidents", "--store", url, "--format", "json", *where).stdout)
    outages = json.loads(cli("outages", "--store", url, "--format", "json", *where).stdout)
    return StoreRun(url, incidents, outages)
