"""Run one registered experiment over many inputs: bounded parallelism, durable output, resume.

``run_probe`` is what ``censorscope probe run`` calls; ``run_measurements`` is the short form
for tests and scripts (``run_measurements(["https://x/"], config) -> [measurement, …]``).
The experiment comes from ``censorscope.experiments.registry`` by name (default
``web_connectivity``): its factory builds the run's measurer, its ``test_name`` names the
report. ``run_probe`` is a sequence of steps, each a function below:

1. :func:`startup_warnings` — what the settings leave out (the experiment's own warnings,
   no ``--output``);
2. :func:`select_inputs` — valid, de-duplicated URLs (a bad one is reported and skipped), or
   the single run of an experiment without input;
3. :func:`resume_report` — with ``resume``, what the output file already holds for which
   report (a torn last line is cut and measured again);
4. :func:`run_pool` — at most ``parallel`` measurements at once; a crash costs only its own
   input; a write failure stops the run cleanly (nothing new starts, what was written stays);
   past a ``deadline`` (``--max-runtime``) nothing new starts and the rest count as
   ``over_budget``;
5. :class:`MeasurementSink` — each finished measurement is stamped with the lab clock when
   the probe runs in a lab that has one (``probe/labclock.py``), then written (one fsynced
   JSONL line),
   handed off to the upload queue (``probe/queue.py``; fsync'd, so without ``output`` the
   queue is a safe only copy; a queue failure stops the run like an output failure), and
   noted for the summary;
6. :func:`summary_line`, :func:`error_lines`, :func:`exit_status` — what the command prints
   and returns. An unreachable control is a warning, not an error: measurements complete
   with ``control_failure`` set. Delivering the queue is ``probe/upload.py``'s job.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from censorscope.experiments.interface import Experiment, InputKind, Measurer, ProbeMetadata
from censorscope.experiments.registry import get_experiment
from censorscope.model.ids import new_report_id

from .config import ConfigError, ProbeConfig
from .inputs import InputError, MeasurementInput, parse_input, target_parser, validate_inputs
from .labclock import LabClockFile, stamp
from .output import JSONLWriter, OutputError, scan_for_resume
from .progress import Progress
from .queue import UploadQueue
from .summary import SummaryRow, summarize

__all__ = [
    "DEFAULT_EXPERIMENT",
    "NO_INPUT",
    "MeasurementSink",
    "ResumePoint",
    "RunResult",
    "build_measurer",
    "error_lines",
    "exit_status",
    "resume_report",
    "run_measurements",
    "run_pool",
    "run_probe",
    "select_inputs",
    "startup_warnings",
    "summary_line",
]

DEFAULT_EXPERIMENT = "web_connectivity"

# The one target of an experiment without input: the measurer gets input=None, url=None.
NO_INPUT = MeasurementInput(input="", url="")

Warn = Callable[[str], None]


def _quiet(message: str) -> None:
    """The default ``warn``: say nothing."""


@dataclass
class RunResult:
    """What a run did. ``measurements`` is filled only when asked (``keep=True``)."""

    report_id: str
    experiment: str = DEFAULT_EXPERIMENT
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
    over_budget: int = 0

    @property
    def ok(self) -> bool:
        return self.output_error is None and not self.crashed


# --- 1. warnings before the run ----------------------------------------------------------
def startup_warnings(
    experiment: Experiment, config: ProbeConfig, *, output: Path | None,
    upload_queue: UploadQueue | None,
) -> list[str]:
    """What the person starting the run should know: the experiment's own warnings about the
    settings (e.g. no control), and where measurements go when there is no ``output``."""

    warnings = list(experiment.warnings(config.to_settings(experiment=experiment)))
    if output is None and upload_queue is None:
        warnings.append("no --output: measurements are not saved, only summarised")
    elif output is None and upload_queue is not None:
        warnings.append(f"no --output: measurements are kept only in the upload queue "
                        f"{upload_queue.root} until the collector has them")
    return warnings


# --- 2. input selection ------------------------------------------------------------------
def select_inputs(
    experiment: Experiment, inputs: Iterable[str | MeasurementInput], warn: Warn = _quiet,
) -> tuple[list[MeasurementInput], list[InputError]]:
    """The targets of the run and the rejected inputs.

    A URL experiment gets the valid URLs, a target experiment the targets its
    ``parse_input`` accepts, first occurrence first (each invalid one is warned about and
    skipped); an experiment without input gets :data:`NO_INPUT` once
    (callers refuse inputs for it before: ``inputs`` is ignored here).
    """

    if experiment.inputs is InputKind.NONE:
        return [NO_INPUT], []
    parse = (target_parser(experiment.parse_input) if experiment.inputs is InputKind.TARGETS
             else parse_input)
    good, bad = validate_inputs(inputs, parse)
    for err in bad:
        warn(f"skipping input {err}")
    return good, bad


def _label(item: MeasurementInput) -> str:
    """How a target is shown in progress lines and error rows."""

    return item.input or "(no input)"


# --- 3. resume ---------------------------------------------------------------------------
@dataclass
class ResumePoint:
    """Where a run starts: the report to continue (``None``: a new one), the inputs it
    already has, and the bytes of a torn last line that were cut."""

    report_id: str | None = None
    done: set[str] = field(default_factory=set)
    torn_bytes: int = 0


def resume_report(
    output: Path | None, *, resume: bool, report_id: str | None, warn: Warn = _quiet,
    test_name: str | None = None,
) -> ResumePoint:
    """With ``resume``, read ``output``: repair a torn last line, pick the report (the given
    ``report_id``, else the file's last one of ``test_name``: several experiments may write
    to one file) and the inputs it already holds. Without it,
    nothing is done and ``report_id`` is kept. Inputs of an experiment without input are
    never "done": each run measures once more, in the same report."""

    if output is None or not resume:
        return ResumePoint(report_id)
    state = scan_for_resume(output)
    if state.torn_bytes:
        warn(f"{output}: removed a torn last line ({state.torn_bytes} bytes); "
             "its input is measured again")
    if state.bad_lines:
        warn(f"{output}: {state.bad_lines} line(s) are not valid JSON; left as they are")
    chosen = report_id or state.report_for(test_name)
    return ResumePoint(chosen, state.done_in(chosen), state.torn_bytes)


# --- 5. writing, upload hand-off, summary ------------------------------------------------
class MeasurementSink:
    """Where every finished measurement goes, in this order: the output file, the upload
    queue, the kept list (``keep``), the summary rows and the progress display."""

    def __init__(
        self, result: RunResult, *, output: Path | None, upload_queue: UploadQueue | None,
        keep: bool, control_url: str | None, progress: Progress | None, warn: Warn,
        on_measured: Callable[[MeasurementInput], None] | None = None,
        summary: Callable[[dict[str, Any]], tuple[str, str]] | None = None,
        restamp: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.result = result
        self.restamp = restamp
        self.summary = summary
        self.writer = JSONLWriter(output) if output is not None else None
        self.upload_queue = upload_queue
        self.keep = keep
        self.control_url = control_url
        self.progress = progress
        self.warn = warn
        self.on_measured = on_measured
        self._warned_control = False

    def record(self, item: MeasurementInput, measurement: dict[str, Any]) -> None:
        """Write, hand off, keep and note one measurement; :class:`OutputError` if it could
        not be stored (the caller stops the run)."""

        if self.restamp is not None:
            measurement = self.restamp(measurement)
        self.write(measurement)
        self.hand_off(measurement)
        if self.keep:
            self.result.measurements.append(measurement)
        if self.on_measured is not None:
            self.on_measured(item)
        self.note(item, measurement)

    def write(self, measurement: dict[str, Any]) -> None:
        """Append one fsynced JSONL line (nothing without an output file)."""

        if self.writer is not None:
            self.writer.write(measurement)
            self.result.written += 1

    def hand_off(self, measurement: dict[str, Any]) -> None:
        """Put the measurement in the upload queue (fsync'd); delivery comes after the run."""

        if self.upload_queue is None:
            return
        try:
            self.upload_queue.put(measurement)
        except OSError as exc:
            raise OutputError(self.upload_queue.pending_dir, exc, self.result.queued) from exc
        self.result.queued += 1

    def note(self, item: MeasurementInput, measurement: dict[str, Any]) -> None:
        """Add the summary row, warn once about an unusable control, advance the progress."""

        row = summarize(measurement, self.summary)
        self.result.rows.append(row)
        failure = (measurement.get("test_keys") or {}).get("control_failure")
        if failure:
            self.result.control_failures += 1
            if not self._warned_control and self.control_url:
                self._warned_control = True
                self.warn(
                    f"the control {self.control_url} could not be used ({failure}); "
                    "measurements continue without it, so blocking/accessible stay null"
                )
        if self.progress is not None:
            self.progress.finished(_label(item), row.verdict)

    def note_crash(self, item: MeasurementInput, exc: Exception) -> None:
        """A measurer bug: recorded as an error row; the other inputs go on."""

        self.result.crashed.append((_label(item), f"{type(exc).__name__}: {exc}"))
        self.result.rows.append(SummaryRow(_label(item), "error", f"probe error: {exc}"))
        if self.progress is not None:
            self.progress.finished(_label(item), "error")

    def close(self) -> None:
        """Close the output file."""

        if self.writer is not None:
            self.writer.close()


# --- 4. the pool -------------------------------------------------------------------------
async def run_pool(
    todo: list[MeasurementInput],
    measure: Callable[[MeasurementInput], Awaitable[dict[str, Any]]],
    sink: MeasurementSink,
    *,
    parallel: int,
    deadline: float | None = None,
) -> None:
    """Measure ``todo`` with at most ``parallel`` at once, each result into ``sink``.

    A measurement that raises costs only its input (``sink.note_crash``). When storing one
    fails, the error goes to ``sink.result.output_error``, no new measurement starts and
    the unfinished ones are cancelled: nothing already written is lost. Once
    ``time.monotonic()`` passes ``deadline`` no new measurement starts (those running
    finish); the ones not started are counted in ``sink.result.over_budget``.
    """

    queue: asyncio.Queue[MeasurementInput] = asyncio.Queue()
    for item in todo:
        queue.put_nowait(item)
    workers: list[asyncio.Task[None]] = []
    progress = sink.progress

    async def worker() -> None:
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                return
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if progress is not None:
                progress.started(_label(item))
            try:
                measurement = await measure(item)
            except Exception as exc:  # a bug must not cost the other inputs
                sink.note_crash(item, exc)
                continue
            try:
                sink.record(item, measurement)
            except OutputError as exc:
                sink.result.output_error = exc
                me = asyncio.current_task()
                for other in workers:  # unfinished measurements: nothing of them is lost
                    if other is not me:
                        other.cancel()
                return

    async with asyncio.TaskGroup() as tg:
        for _ in range(min(max(1, parallel), len(todo))):
            workers.append(tg.create_task(worker()))
    if sink.result.output_error is None:
        sink.result.over_budget = queue.qsize()


def _measure_with(
    measurer: Measurer, *, probe: ProbeMetadata, report_id: str, test_start_time: datetime,
) -> Callable[[MeasurementInput], Awaitable[dict[str, Any]]]:
    """One target → one measurement (``NO_INPUT`` becomes ``input=None, url=None``)."""

    async def measure(item: MeasurementInput) -> dict[str, Any]:
        return await measurer.run(item.input or None, item.url or None, probe=probe,
                                  report_id=report_id, test_start_time=test_start_time)

    return measure


# --- the run -----------------------------------------------------------------------------
def build_measurer(exp: Experiment, config: ProbeConfig) -> Measurer:
    """The run's measurer from the experiment's factory; :class:`ConfigError` for an
    unusable ASN table or option (so a multi-experiment run can build every measurer
    before measuring anything)."""

    settings = config.to_settings(config.load_asn_table(), experiment=exp)
    try:
        return exp.factory(settings)
    except ValueError as exc:
        raise ConfigError(f"{exp.name}: {exc}") from exc


async def run_probe(
    inputs: Iterable[str | MeasurementInput],
    config: ProbeConfig,
    *,
    experiment: str | Experiment = DEFAULT_EXPERIMENT,
    output: Path | None = None,
    resume: bool = False,
    parallel: int | None = None,
    progress: Progress | None = None,
    keep: bool = False,
    warn: Warn = _quiet,
    upload_queue: UploadQueue | None = None,
    measurer: Measurer | None = None,
    deadline: float | None = None,
    on_measured: Callable[[MeasurementInput], None] | None = None,
) -> RunResult:
    """Measure every valid input with ``experiment`` (a registered name, or an
    :class:`Experiment`); see the module docstring for the steps. ``measurer`` is one
    :func:`build_measurer` made already (else it is built here), ``deadline`` a
    ``time.monotonic()`` after which nothing new starts, ``on_measured`` is told of each
    input whose measurement was stored.

    Raises ``UnknownExperiment`` for an unregistered name and ``ConfigError`` for an
    unusable ASN table, before anything is measured or written.
    """

    exp = get_experiment(experiment) if isinstance(experiment, str) else experiment
    asn_table = config.load_asn_table()
    if measurer is None:
        measurer = build_measurer(exp, config)
    for message in startup_warnings(exp, config, output=output, upload_queue=upload_queue):
        warn(message)
    good, bad = select_inputs(exp, inputs, warn)
    test_start = datetime.now(UTC)
    clock = LabClockFile(config.lab_clock) if config.lab_clock else None
    start = resume_report(output, resume=resume, report_id=config.report_id, warn=warn,
                          test_name=exp.test_name)
    report_id = start.report_id or new_report_id(
        exp.test_name, config.probe_cc, config.probe_asn,
        clock.read().at(test_start) if clock is not None else test_start)
    todo = [item for item in good if exp.inputs is InputKind.NONE or item.input not in start.done]
    result = RunResult(report_id=report_id, experiment=exp.name, invalid=bad,
                       skipped=len(good) - len(todo), torn_bytes=start.torn_bytes)
    if progress is not None:
        progress.total = len(todo)
    measure = _measure_with(measurer, probe=config.probe_metadata(asn_table),
                            report_id=report_id, test_start_time=test_start)
    sink = MeasurementSink(result, output=output, upload_queue=upload_queue, keep=keep,
                           control_url=config.control_url, progress=progress, warn=warn,
                           on_measured=on_measured, summary=exp.summary,
                           restamp=None if clock is None else
                           (lambda m: stamp(m, clock.read(), test_start)))
    try:
        await run_pool(todo, measure, sink, deadline=deadline,
                       parallel=parallel if parallel is not None else config.parallel)
    finally:
        sink.close()
        if progress is not None:
            progress.close()
    return result


# --- 6. what the command prints and returns ----------------------------------------------
def summary_line(result: RunResult, output: Path | None) -> str:
    """``report R: N measured; W written to F; …`` — one line for stderr."""

    parts = [f"report {result.report_id}: {len(result.rows)} measured"]
    if output is not None:
        parts.append(f"{result.written} written to {output}")
    if result.skipped:
        parts.append(f"{result.skipped} already done (resume)")
    if result.over_budget:
        parts.append(f"{result.over_budget} not started (--max-runtime)")
    if result.invalid:
        parts.append(f"{len(result.invalid)} invalid input(s) skipped")
    if result.control_failures:
        parts.append(f"{result.control_failures} without control")
    return "; ".join(parts)


def error_lines(result: RunResult) -> list[str]:
    """``error: …`` lines: crashed measurements, then a storage failure."""

    lines = [f"error: measuring {inp} failed: {message}" for inp, message in result.crashed]
    if result.output_error is not None:
        lines.append(f"error: {result.output_error}")
    return lines


def exit_status(result: RunResult) -> int:
    """1 if a measurement crashed or could not be stored, 2 if every input was invalid,
    else 0. (Upload results never change it.)"""

    if result.output_error is not None or result.crashed:
        return 1
    if result.invalid and not result.rows and not result.skipped:
        return 2
    return 0


def run_measurements(
    inputs: Iterable[str], config: ProbeConfig | dict[str, Any], *, parallel: int = 1,
    experiment: str | Experiment = DEFAULT_EXPERIMENT,
) -> list[dict[str, Any]]:
    """Measure ``inputs`` and return the measurements (nothing written). For tests/scripts."""

    cfg = config if isinstance(config, ProbeConfig) else ProbeConfig.from_mapping(config)
    result = asyncio.run(run_probe(inputs, cfg, experiment=experiment, parallel=parallel,
                                   keep=True))
    if result.crashed:
        raise RuntimeError(f"measurement(s) crashed: {result.crashed}")
    return result.measurements
