"""One seed case re-enacted in the lab, as testers and operators would run it (root).

The lab comes up with the case's scenario; the collector runs on the lab's collector host
(``api.ooni.io`` inside the lab), archiving every submission and feeding the store. Phase by
phase, every network's first probe host runs the case's steps (``censorscope probe run``, all
networks at once, a few rounds per phase) and uploads to the collector through a local queue;
in the case's main blocking phase every network also runs the ``social`` preset's
experiments on the services the lab serves (``cases``). The lab clock stamps the
measurements with the case's dates. Each probe run also writes its JSONL file, so the run can
be kept as a recording. The collector is stopped (it seals its spool) and the lab torn down
whatever happens, Ctrl-C included.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from censorscope.lab.runtime import Lab, LabState

from .cases import Case, Step

__all__ = ["COLLECTOR_URL", "LabRun", "run_case"]

COLLECTOR_URL = "http://api.ooni.io/"
ROUNDS = 2
LAB_TIMEOUTS = ("--dns-timeout", "2", "--tcp-timeout", "2", "--tls-timeout", "2",
                "--http-timeout", "4", "--control-timeout", "12")
# seconds a probe run tries to deliver its queue at its end (the lab's collector answers in
# milliseconds; in a shutdown nothing gets through, and the queue waits for the next run)
UPLOAD_WITHIN = 5.0
PROBE_TIMEOUT = 300.0  # seconds a probe run may take before the demo gives up on it


@dataclass
class LabRun:
    """What a case's lab run left: the JSONL files the probes wrote and the lab's ASN table."""

    case: Case
    files: list[Path] = field(default_factory=list)
    asn_table: Path | None = None
    measurements: int = 0


class DemoError(RuntimeError):
    """A step of the demo failed; the message says which and where its log is."""


def _collector(lab: Lab, state: LabState, cli: str, store_url: str, out: Path
               ) -> subprocess.Popen[bytes]:
    log = (out / "collector.log").open("ab")
    proc = lab.popen("col", [cli, "collector", "serve", "--archive", str(out / "archive"),
                             "--store", store_url, "--host", "0.0.0.0", "--port", "80"],
                     stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    host = state.probe_hosts(next(iter(state.isps)))[0]
    for _ in range(200):  # until it accepts connections (at most ~20 s)
        if proc.poll() is not None:
            break
        ready = lab.exec(host, ["curl", "-s", "-o", "/dev/null", "--max-time", "1",
                                COLLECTOR_URL], capture_output=True, check=False)
        if ready.returncode == 0:
            return proc
        time.sleep(0.1)
    proc.kill()
    raise DemoError(f"the collector did not come up; see {out / 'collector.log'}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # the collector seals its spool into cans and exits
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class _Running:
    """The probe runs in flight, so that an interruption stops them instead of waiting."""

    def __init__(self) -> None:
        self.procs: set[subprocess.Popen[str]] = set()
        self.lock = threading.Lock()
        self.stopping = False

    def start(self, lab: Lab, host: str, argv: list[str]) -> subprocess.Popen[str]:
        with self.lock:
            if self.stopping:
                raise DemoError("interrupted")
            proc = lab.popen(host, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
            self.procs.add(proc)
            return proc

    def done(self, proc: subprocess.Popen[str]) -> None:
        with self.lock:
            self.procs.discard(proc)

    def stop(self) -> None:
        with self.lock:
            self.stopping = True
            procs = list(self.procs)
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


def _probe(lab: Lab, state: LabState, cli: str, isp: str, out: Path, queue: Path,
           args: list[str], running: _Running) -> int:
    """One ``probe run`` in ``isp``'s first probe host, uploading to the lab's collector;
    the number of measurements it wrote."""
    argv = [cli, "probe", "run", "--config", str(state.state_dir / f"probe-{isp}.json"),
            "-o", str(out), "--no-progress", "--no-summary", "--upload", COLLECTOR_URL,
            "--upload-queue", str(queue), "--upload-within", str(UPLOAD_WITHIN), *LAB_TIMEOUTS,
            *args]
    proc = running.start(lab, state.probe_hosts(isp)[0], argv)
    try:
        stdout, stderr = proc.communicate(timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        raise DemoError(f"probe run in {isp} took more than {PROBE_TIMEOUT:.0f} s") from None
    finally:
        running.done(proc)
    if proc.returncode != 0:
        raise DemoError(f"probe run in {isp} failed ({' '.join(args[:4])} …):\n"
                        f"{stdout[-2000:]}{stderr[-2000:]}")
    return sum(1 for line in out.read_text().splitlines() if line.strip())


def _step_args(step: Step) -> list[str]:
    args = ["--experiment", step.experiment, *step.extra]
    for item in step.inputs:
        args += ["--input", item]
    return args


def _walk(case: Case, lab: Lab, state: LabState, cli: str, out: Path, run: LabRun,
          pool: ThreadPoolExecutor, running: _Running, say: Callable[[str], None], *,
          social: bool, rounds: int) -> None:
    """The case's phases in order: ``rounds`` rounds of its steps from every network at once
    (more in the phases of ``case.rounds_in``), and in ``case.social_phase`` the social
    preset's experiments from every network."""
    files = out / "measurements" / case.scenario
    isps = list(state.isps)

    def measure(isp: str, steps: tuple[Step, ...], label: str) -> int:
        n = 0
        for i, step in enumerate(steps):
            path = files / f"{label}-{isp}-{i}-{step.experiment}.jsonl"
            n += _probe(lab, state, cli, isp, path, out / "queues" / isp, _step_args(step),
                        running)
            run.files.append(path)
        return n

    for phase in case.phases:
        lab.phase(phase)
        count = dict(case.rounds_in).get(phase, rounds)
        for r in range(count):
            label = f"{phase}-r{r}"
            counts = list(pool.map(lambda isp, lb=label: measure(isp, case.steps, lb), isps))
            run.measurements += sum(counts)
            say(f"{case.scenario}: phase {phase}, round {r + 1}/{count}: {sum(counts)} "
                f"measurements from {len(counts)} networks")
        if social and case.social and phase == case.social_phase:
            label = f"{phase}-social"
            counts = list(pool.map(lambda isp, lb=label: measure(isp, case.social, lb), isps))
            run.measurements += sum(counts)
            say(f"{case.scenario}: phase {phase}, the social preset's experiments: "
                f"{sum(counts)} measurements from {len(counts)} networks")


def run_case(case: Case, *, cli: str, store_url: str, out: Path, lab_prefix: str,
             say: Callable[[str], None], social: bool = True, rounds: int = ROUNDS) -> LabRun:
    """Re-enact ``case`` in a lab named ``lab_prefix``; measurements go to the collector
    (archive under ``out/archive``, rows into ``store_url``) and, as JSONL, under
    ``out/measurements/<scenario>/``. Interrupted (Ctrl-C) or failing, the probe runs in
    flight are stopped, then the collector, then the lab."""
    run = LabRun(case)
    (out / "measurements" / case.scenario).mkdir(parents=True, exist_ok=True)
    lab = Lab(lab_prefix)
    say(f"{case.scenario}: bringing the lab up ({case.title}) …")
    try:
        state = lab.up(case.scenario, case.phases[0])
        run.asn_table = out / "asn" / f"{case.scenario}.tsv"
        run.asn_table.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(state.asn_table, run.asn_table)
        collector = _collector(lab, state, cli, store_url, out)
        running = _Running()
        pool = ThreadPoolExecutor(max_workers=len(state.isps))
        try:
            _walk(case, lab, state, cli, out, run, pool, running, say, social=social,
                  rounds=rounds)
        except BaseException:
            running.stop()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            _stop(collector)
    finally:
        lab.down()
    say(f"{case.scenario}: {run.measurements} measurements; lab torn down")
    return run
