"""Run several experiments one after another (``--experiment a,b``, ``--preset``).

Every step (``probe/plan.py``) is one ``run_probe`` with its own report id, writing into the
same output file and upload queue. All measurers are built first, so a bad option or setting
of any experiment stops the run before anything is measured. With a :class:`Budget`
(``--max-runtime``) a URL experiment's inputs are ordered by category weight and history
(``budget.order_inputs``) and it stops starting new measurements when the budget is spent;
experiments with targets or without input always run in full. With a :class:`History`, every
stored measurement is noted and the file is saved after each step. A storage failure stops
the run: later steps do not start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from censorscope.experiments.interface import InputKind

from .budget import Budget, order_inputs
from .config import ProbeConfig
from .history import History, Seen
from .inputs import MeasurementInput
from .plan import Step
from .progress import Progress
from .queue import UploadQueue
from .runner import RunResult, Warn, build_measurer, run_probe

__all__ = ["run_steps"]


def _network(config: ProbeConfig) -> str:
    return f"AS{config.probe_asn}"


async def run_steps(
    steps: list[Step],
    config: ProbeConfig,
    *,
    output: Path | None = None,
    resume: bool = False,
    parallel: int | None = None,
    progress: Callable[[Step], Progress | None] = lambda step: None,
    warn: Warn = lambda message: None,
    upload_queue: UploadQueue | None = None,
    budget: Budget | None = None,
    history: History | None = None,
    keep: bool = False,
) -> list[RunResult]:
    """Run ``steps`` in order; one :class:`RunResult` per step that ran. ``progress`` makes
    each step's progress display. ``ConfigError`` before anything is measured if an
    experiment cannot be built from ``config``."""

    measurers = [build_measurer(step.experiment, config) for step in steps]
    network = _network(config)
    now = datetime.now(UTC)
    results: list[RunResult] = []
    for step, measurer in zip(steps, measurers, strict=True):
        exp = step.experiment
        inputs = step.inputs
        deadline = None
        if budget is not None and exp.inputs is InputKind.URLS:
            def seen(key: str, name: str = exp.test_name) -> Seen:
                return history.seen(network, name, key, now) if history else Seen()
            inputs = order_inputs(inputs, seen)
            deadline = budget.deadline(time.monotonic())

        def noted(item: MeasurementInput, name: str = exp.test_name) -> None:
            if history is not None and item.input:
                history.note(network, name, item.input, datetime.now(UTC))

        started = time.monotonic()
        try:
            result = await run_probe(
                inputs, config, experiment=exp, output=output, resume=resume,
                parallel=parallel, progress=progress(step), keep=keep, warn=warn,
                upload_queue=upload_queue, measurer=measurer, deadline=deadline,
                on_measured=noted,
            )
        finally:
            if history is not None and exp.inputs is not InputKind.NONE:
                try:
                    history.save()
                except OSError as exc:
                    warn(f"cannot save the measurement history {history.path}: {exc}")
        if deadline is not None and budget is not None:
            budget.charge(time.monotonic() - started)
        results.append(result)
        if result.output_error is not None:
            break
    return results
