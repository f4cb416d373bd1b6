"""Run Web Connectivity over many inputs: bounded parallelism, durable output, resume.

``run_probe`` is what ``censorscope probe run`` calls; ``run_measurements`` is the short form
for tests and scripts (``run_measurements(["https://x/"], config) -> [measurement, …]``).
Measurements are written as they finish (one fsynced JSONL line each). A write failure stops
the run cleanly: nothing new starts, what was written stays. An unreachable control is a
warning: measurements still complete, with ``control_failure`` set. With ``upload_queue``
each measurement is also put in the probe's durable upload queue right after it is written
(``probe/queue.py``; fsync'd, so without ``output`` the queue is a safe only copy); a queue
write failure stops the run like an output failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from censorscope.experiments.web_connectivity.envelope import TEST_NAME
from censorscope.experiments.web_connectivity.measurer import WebConnectivityMeasurer
from censorscope.model.measurement import new_report_id

from .config import ProbeConfig
from .inputs import InputError, MeasurementInput, validate_inputs
from .output import JSONLWriter, OutputError, scan_for_resume
from .progress import Progress
from .queue import UploadQueue
from .summary import SummaryRow, summarize

__all__ = ["RunResult", "run_measurements", "run_probe"]


@dataclass
class RunResult:
    """What a run did. ``measurements`` is filled only when asked (``keep=True``)."""

    report_id: str
    measurements: list[dict[str, Any]] = field(default_factory=list)
    rows: list[SummaryRow] = field(default_factory=list)
    written: int = 0
    skipped: int = 0
    invalid: list[InputError] = field(default_factory=list)
    crashed: list[tuple[str, str]] = field(default_factory=list)
    output_error: OutputError | None = None
    control_failures: int = 0
    torn_bytes: int = 0
    queued: int = 0

    @property
    def ok(self) -> bool:
        return self.output_error is None and not self.crashed


async def run_probe(
    inputs: Iterable[str | MeasurementInput],
    config: ProbeConfig,
    *,
    output: Path | None = None,
    resume: bool = False,
    parallel: int | None = None,
    progress: Progress | None = None,
    keep: bool = False,
    warn: Callable[[str], None] = lambda msg: None,
    upload_queue: UploadQueue | None = None,
) -> RunResult:
    """Measure every valid input; see the module docstring."""

    good, bad = validate_inputs(inputs)
    for err in bad:
        warn(f"skipping input {err}")
    asn_table = config.load_asn_table()
    options = config.to_options(asn_table)
    probe = config.probe_metadata(asn_table)
    test_start = datetime.now(UTC)

    report_id = config.report_id
    done: set[str] = set()
    torn = 0
    if output is not None and resume:
        state = scan_for_resume(output)
        torn = state.torn_bytes
        if torn:
            warn(f"{output}: removed a torn last line ({torn} bytes); its input is measured again")
        if state.bad_lines:
            warn(f"{output}: {state.bad_lines} line(s) are not valid JSON; left as they are")
        report_id = report_id or state.report_id
        done = state.done_in(report_id)
    if not report_id:
        report_id = new_report_id(TEST_NAME, config.probe_cc, config.probe_asn, test_start)

    todo = [item for item in good if item.input not in done]
    result = RunResult(report_id=report_id, invalid=bad, skipped=len(good) - len(todo),
                       torn_bytes=torn)
    if progress is not None:
        progress.total = len(todo)
    writer = JSONLWriter(output) if output is not None else None
    measurer = WebConnectivityMeasurer(options)
    queue: asyncio.Queue[MeasurementInput] = asyncio.Queue()
    for item in todo:
        queue.put_nowait(item)
    workers: list[asyncio.Task[None]] = []
    warned_control = False

    def record(item: MeasurementInput, measurement: dict[str, Any]) -> None:
        nonlocal warned_control
        if writer is not None:
            writer.write(measurement)
            result.written += 1
        if upload_queue is not None:
            try:
                upload_queue.put(measurement)
            except OSError as exc:
                raise OutputError(upload_queue.pending_dir, exc, result.queued) from exc
            result.queued += 1
        if keep:
            result.measurements.append(measurement)
        row = summarize(measurement)
        result.rows.append(row)
        failure = measurement["test_keys"].get("control_failure")
        if failure:
            result.control_failures += 1
            if not warned_control and options.control_url:
                warned_control = True
                warn(
                    f"the control {options.control_url} could not be used ({failure}); "
                    "measurements continue without it, so blocking/accessible stay null"
                )
        if progress is not None:
            progress.finished(item.input, row.verdict)

    async def worker() -> None:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if progress is not None:
                progress.started(item.input)
            try:
                measurement = await measurer.run(
                    item.input, item.url, probe=probe, report_id=report_id,
                    test_start_time=test_start,
                )
            except Exception as exc:  # a bug must not cost the other inputs
                result.crashed.append((item.input, f"{type(exc).__name__}: {exc}"))
                result.rows.append(SummaryRow(item.input, "error", f"probe error: {exc}"))
                if progress is not None:
                    progress.finished(item.input, "error")
                continue
            try:
                record(item, measurement)
            except OutputError as exc:
                result.output_error = exc
                me = asyncio.current_task()
                for other in workers:  # unfinished measurements: nothing of them is lost
                    if other is not me:
                        other.cancel()
                return

    n = max(1, parallel if parallel is not None else config.parallel)
    try:
        async with asyncio.TaskGroup() as tg:
            for _ in range(min(n, len(todo))):
                workers.append(tg.create_task(worker()))
    finally:
        if writer is not None:
            writer.close()
        if progress is not None:
            progress.close()
    return result


def run_measurements(
    inputs: Iterable[str], config: ProbeConfig | dict[str, Any], *, parallel: int = 1
) -> list[dict[str, Any]]:
    """Measure ``inputs`` and return the measurements (nothing written). For tests/scripts."""

    cfg = config if isinstance(config, ProbeConfig) else ProbeConfig.from_mapping(config)
    result = asyncio.run(run_probe(inputs, cfg, parallel=parallel, keep=True))
    if result.crashed:
        raise RuntimeError(f"measurement(s) crashed: {result.crashed}")
    return result.measurements
