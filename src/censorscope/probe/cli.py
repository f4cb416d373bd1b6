"""``censorscope probe``: run a registered experiment and upload its measurements.

This module only parses options and calls: inputs come from ``sources.gather_inputs``, settings
from ``config`` (the only reader of the config file), the experiments and their inputs from
``plan`` (``--experiment a,b``, ``--preset``; the registry ``censorscope.experiments.registry``),
the run from ``multirun.run_steps`` (one ``runner.run_probe`` per experiment), queue delivery
from ``upload.deliver_queue``. ``probe run --upload URL`` puts every measurement in a durable local
queue and delivers it at the end of the run; ``probe upload`` delivers what is left later.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from censorscope.experiments.interface import InputKind
from censorscope.experiments.registry import registered

from .budget import Budget
from .config import ConfigError, ProbeConfig, load_config_file
from .history import History, HistoryError, default_history_path
from .inputs import InputSourceError
from .lists_cli import lists
from .multirun import run_steps
from .plan import PlanError, Step, experiment_steps, preset_steps
from .presets import PRESETS, TEST_LISTS, preset_lists
from .progress import Progress
from .queue import UploadQueue, default_queue_dir
from .runner import DEFAULT_EXPERIMENT, RunResult, error_lines, exit_status, summary_line
from .sources import gather_inputs
from .summary import format_table
from .testlists import available_lists
from .upload import DeliveryReport, UploadSetupError, check_collector_url, deliver_queue

__all__ = ["probe"]

_RUN_HELP = """Measure whether web sites are reachable from this network (Web Connectivity),
or run another registered experiment (--experiment; `censorscope probe experiments` lists them).

For each URL the probe resolves the name (system resolver, a Do53 resolver, DoH), connects
to every address, does TLS where due, fetches the page once (following redirects), asks the
control (test helper) for the same from an uncensored network, and records every network
event in OONI's format. It writes one OONI measurement per line and ends with a table:
URL, verdict hint (ok / anomaly: dns|tcp_ip|http-failure|http-diff / down / unknown), and
the first failing step.

Several experiments run one after another with --experiment a,b (each its own report, all
into the same --output and upload queue; each gets the inputs it takes); --preset NAME runs a
country's mix (`censorscope probe presets`). With --max-runtime S, URL experiments measure
the URLs of the highest category weight and least recently measured first (a local history,
--history) and start nothing new once S seconds are used.

\b
Examples:
  censorscope probe run --input https://www.example.org/ --output out.jsonl
  censorscope probe run --test-list az --category NEWS,GRP --parallel 8 -o az.jsonl
  censorscope probe run --preset websites --probe-cc AZ --max-runtime 600 -o az.jsonl
  censorscope probe run -e tls_sni,dns_consistency -i https://www.tiktok.com/ -o out.jsonl
  censorscope probe run --config probe.json --input-file urls.txt -o out.jsonl --resume
  censorscope probe run -i https://www.example.org/ -o out.jsonl \\
      --upload https://collector.example/   # then, if some stayed queued:
  censorscope probe upload --url https://collector.example/

\b
In the lab (after `censorscope lab up`):
  censorscope lab exec <isp>-p1 -- .venv/bin/censorscope probe run \\
      --config /run/censorscope/lab/<prefix>/probe-<isp>.json --input https://… -o out.jsonl

Settings come from --config FILE.json (the lab writes one per ISP) and flags override
them. Without a control URL the measurements still run, with blocking/accessible null.

With --upload URL (or --upload-from-config: the config's collector_url, or the first of its
collector_urls) every measurement is also put in a local upload queue (--upload-queue,
fsync'd) as soon as it is written, and kept there until the collector acknowledges it. At
the end of the run the queue is delivered for at most --upload-within seconds; what is left
stays queued for `censorscope probe upload`. Measurements the collector refuses (4xx) are
moved to QUEUE/refused with the error and not sent again.
"""

_QUEUE_HELP = f"Upload queue directory (default {default_queue_dir()})."
_PROTOCOLS = click.Choice(["submit_measurement", "report"])
_PROTOCOL_HELP = ("OONI submission API: POST /api/v1/submit_measurement (default) or "
                  "POST /report + /report/{id}.")


def _load_config(config_file: Path | None) -> ProbeConfig:
    try:
        return load_config_file(config_file) if config_file else ProbeConfig()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


def _collector_url(url: str) -> str:
    try:
        return check_collector_url(url)
    except UploadSetupError as exc:
        raise click.UsageError(str(exc)) from exc


def _deliver(queue_dir: Path, url: str, *, within: float, protocol: str,
             ca_file: str | None) -> DeliveryReport:
    try:
        return deliver_queue(queue_dir, url, within=within, protocol=protocol, ca_file=ca_file)
    except UploadSetupError as exc:
        raise click.UsageError(str(exc)) from exc


@click.group("probe")
def probe() -> None:
    """Run measurements (Web Connectivity …), upload them, list experiments and test lists."""


@probe.command("run", help=_RUN_HELP)
@click.option("--experiment", "-e", "experiments", multiple=True, metavar="NAME[,NAME…]",
              help="The registered experiment(s) to run (see `censorscope probe experiments`; "
                   f"default {DEFAULT_EXPERIMENT}). Comma-separated or repeated: they run one "
                   "after another, each with its own report.")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), metavar="NAME",
              help="Run a preset mix of experiments for --probe-cc: "
                   + ", ".join(sorted(PRESETS)) + " (see `censorscope probe presets`).")
@click.option("--input", "-i", "urls", multiple=True, metavar="URL",
              help="A URL to measure (http:// or https://). Repeatable.")
@click.option("--input-file", "-f", "files", multiple=True, metavar="FILE",
              type=click.Path(path_type=Path),
              help="A text file with one URL per line (# starts a comment). Repeatable.")
@click.option("--test-list", "-l", "test_lists", multiple=True, metavar="CC|global|PATH.csv",
              help="A Citizen Lab test list: a country code (az, am, ru…), 'global', or a CSV "
                   "file. The bundled snapshot is used for codes (see `censorscope lists`). "
                   "Repeatable.")
@click.option("--category", "-c", "categories", multiple=True, metavar="CODE[,CODE…]",
              help="Keep only test-list URLs of these category codes (NEWS, HUMR, GRP…; "
                   "`censorscope lists categories`). Comma-separated or repeated.")
@click.option("--max-runtime", type=click.FloatRange(min=0, min_open=True), metavar="S",
              help="URL experiments measure by category weight and least recently measured "
                   "first, and start no new measurement after S seconds in all.")
@click.option("--history", "history_path", type=click.Path(path_type=Path, dir_okay=False),
              metavar="FILE.json",
              help="When each URL was last measured from this network (used and updated with "
                   f"--max-runtime; default {default_history_path()}).")
@click.option("--output", "-o", type=click.Path(path_type=Path), metavar="FILE.jsonl",
              help="Append measurements here, one JSON object per line, each synced to disk.")
@click.option("--resume", is_flag=True,
              help="Skip inputs already measured in --output by the same report (the last "
                   "one in the file, or --report-id); repairs a torn last line.")
@click.option("--parallel", "-p", type=click.IntRange(1, 256), default=None,
              help="Measurements at once (default 1, or 'parallel' from --config).")
@click.option("--config", "config_file", type=click.Path(path_type=Path), metavar="FILE.json",
              help="Probe settings (the lab writes "
                   "/run/censorscope/lab/<prefix>/probe-<isp>.json).")
@click.option("--control-url", metavar="URL",
              help="The control (test helper), e.g. https://th.example.")
@click.option("--ca-file", metavar="PEM",
              help="CA bundle to validate web sites, the control and DoH.")
@click.option("--resolver", metavar="IP:PORT",
              help="Do53 resolver asked over UDP (port 53 by default).")
@click.option("--doh-url", metavar="URL",
              help="DNS-over-HTTPS endpoint, e.g. https://dns.example/dns-query.")
@click.option("--probe-cc", metavar="CC", help="Country code of this network (ZZ if unknown).")
@click.option("--probe-asn", metavar="ASN", help="AS number of this network (AS1234).")
@click.option("--probe-network-name", metavar="NAME", help="Name of this network's operator.")
@click.option("--asn-table", metavar="TSV",
              help="prefix<TAB>asn<TAB>name table to annotate DNS answers.")
@click.option("--public-range", "public_ranges", multiple=True, metavar="CIDR",
              help="Treat this range as public, not a bogon (the lab's ranges). Repeatable.")
@click.option("--timeout-scale", type=click.FloatRange(min=0.01), metavar="X",
              help="Multiply every timeout (DNS 4 s, TCP/TLS/HTTP 10 s, control 30 s) by X.")
@click.option("--dns-timeout", type=float, metavar="S", help="DNS lookup timeout (default 4).")
@click.option("--tcp-timeout", type=float, metavar="S", help="TCP connect timeout (default 10).")
@click.option("--tls-timeout", type=float, metavar="S", help="TLS handshake timeout (default 10).")
@click.option("--http-timeout", type=float, metavar="S",
              help="HTTP round-trip timeout (default 10).")
@click.option("--control-timeout", type=float, metavar="S",
              help="Control call timeout (default 30).")
@click.option("--report-id", metavar="ID", help="Use this report id instead of a new one.")
@click.option("--option", "-O", "options", multiple=True, metavar="EXPERIMENT.KEY=VALUE",
              help="An experiment's own setting, e.g. tls_sni.control_sni=example.org (see "
                   "`censorscope probe experiments`). Repeatable.")
@click.option("--no-progress", is_flag=True, help="Do not show progress on stderr.")
@click.option("--no-summary", is_flag=True, help="Do not print the summary table.")
@click.option("--upload", "upload_url", metavar="URL",
              help="Queue every measurement and upload it to this collector "
                   "(e.g. https://collector.example/).")
@click.option("--upload-from-config", is_flag=True,
              help="Upload to the config's collector_url (or the first of collector_urls).")
@click.option("--upload-queue", type=click.Path(path_type=Path, file_okay=False),
              metavar="DIR", help=_QUEUE_HELP)
@click.option("--upload-protocol", type=_PROTOCOLS, default=None, help=_PROTOCOL_HELP)
@click.option("--upload-within", type=click.FloatRange(min=0), default=None, metavar="S",
              help="Keep trying to upload for at most S seconds after the run (default 60; "
                   "0: only queue). The rest stays queued for `probe upload`.")
def run_cmd(
    experiments: tuple[str, ...], preset: str | None, urls: tuple[str, ...],
    files: tuple[Path, ...], test_lists: tuple[str, ...], categories: tuple[str, ...],
    max_runtime: float | None, history_path: Path | None,
    output: Path | None, resume: bool, parallel: int | None,
    config_file: Path | None, control_url: str | None, ca_file: str | None,
    resolver: str | None, doh_url: str | None, probe_cc: str | None, probe_asn: str | None,
    probe_network_name: str | None, asn_table: str | None, public_ranges: tuple[str, ...],
    timeout_scale: float | None, dns_timeout: float | None, tcp_timeout: float | None,
    tls_timeout: float | None, http_timeout: float | None, control_timeout: float | None,
    report_id: str | None, options: tuple[str, ...], no_progress: bool, no_summary: bool,
    upload_url: str | None,
    upload_from_config: bool, upload_queue: Path | None, upload_protocol: str | None,
    upload_within: float | None,
) -> None:
    if preset and experiments:
        raise click.UsageError("--preset chooses the experiments; drop --experiment")
    if preset and (urls or files):
        raise click.UsageError("--preset chooses its inputs; drop --input/--input-file "
                               "(--test-list and --category choose its web sites)")
    if resume and output is None:
        raise click.UsageError("--resume needs --output FILE.jsonl")
    if upload_from_config and not upload_url and config_file is None:
        raise click.UsageError("--upload-from-config needs --config FILE.json")
    try:
        config = _load_config(config_file).override(
            control_url=control_url, ca_file=ca_file, resolver=resolver, doh_url=doh_url,
            probe_cc=probe_cc, probe_asn=probe_asn, probe_network_name=probe_network_name,
            asn_table=asn_table, report_id=report_id,
            public_ranges=tuple(public_ranges) if public_ranges else None,
        ).with_timeouts(timeout_scale, dns=dns_timeout, tcp=tcp_timeout, tls=tls_timeout,
                        http=http_timeout, control=control_timeout).with_options(options)
        config.load_asn_table()  # fail early on a bad table
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    steps = _plan(experiments, preset, config, urls, files, test_lists, categories)
    try:
        for step in steps:  # an option an experiment does not have (its factory checks values)
            config.to_settings(experiment=step.experiment)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if len(steps) > 1 and config.report_id:
        raise click.UsageError("--report-id names one report; several experiments make one "
                               "report each")
    history = _history(history_path, max_runtime)
    if upload_from_config and not upload_url:
        upload_url = config.collector_url
        if not upload_url:
            raise click.UsageError(f"{config_file} has no collector_url or collector_urls")
    if upload_url is None and (upload_queue or upload_protocol or upload_within is not None):
        raise click.UsageError("--upload-queue/--upload-protocol/--upload-within need --upload")
    queue: UploadQueue | None = None
    if upload_url is not None:
        _collector_url(upload_url)
        try:
            queue = UploadQueue(upload_queue or default_queue_dir())
        except OSError as exc:
            raise click.UsageError(f"cannot use the upload queue: {exc}") from exc

    def warn(msg: str) -> None:
        click.echo(f"warning: {msg}", err=True)

    try:
        results = asyncio.run(run_steps(
            steps, config, output=output, resume=resume, parallel=parallel,
            progress=lambda step: Progress(0, enabled=not no_progress), warn=warn,
            upload_queue=queue, budget=Budget(max_runtime) if max_runtime else None,
            history=history,
        ))
    except ConfigError as exc:  # an option value an experiment cannot use
        raise click.UsageError(str(exc)) from exc
    _print_results(results, output, summary=not no_summary, several=len(steps) > 1)
    if queue is not None and upload_url is not None:
        delivery = _deliver(queue.root, upload_url,
                            within=60.0 if upload_within is None else upload_within,
                            protocol=upload_protocol or "submit_measurement",
                            ca_file=config.ca_file)
        click.echo(f"upload: {delivery.message(upload_url)}", err=True)
    for result in results:
        for line in error_lines(result):
            click.echo(line, err=True)
    status = max(exit_status(result) for result in results)
    if status:
        sys.exit(status)


def _plan(
    experiments: tuple[str, ...], preset: str | None, config: ProbeConfig,
    urls: tuple[str, ...], files: tuple[Path, ...], test_lists: tuple[str, ...],
    categories: tuple[str, ...],
) -> list[Step]:
    """The run's steps (usage errors for anything that cannot be measured as asked)."""

    try:
        if preset:
            return preset_steps(preset, probe_cc=config.probe_cc, test_lists=test_lists,
                                categories=categories)
        items = gather_inputs(urls, files, test_lists, categories)
        steps, unused = experiment_steps(experiments or (DEFAULT_EXPERIMENT,), items)
    except (InputSourceError, PlanError) as exc:
        raise click.UsageError(str(exc)) from exc
    if len(steps) == 1:
        exp = steps[0].experiment
        if exp.inputs is InputKind.NONE and items:
            raise click.UsageError(f"the {exp.name} experiment takes no input; "
                                   "drop --input/--input-file/--test-list")
        if exp.inputs is not InputKind.NONE and not items:
            raise click.UsageError("nothing to measure: give --input, --input-file or "
                                   "--test-list")
    for text in unused:
        click.echo(f"warning: skipping input {text!r}: no experiment of this run takes it",
                   err=True)
    return steps


def _history(path: Path | None, max_runtime: float | None) -> History | None:
    """The measurement history (with --max-runtime or --history), read before measuring."""

    if path is None and max_runtime is None:
        return None
    try:
        return History.load(path or default_history_path())
    except HistoryError as exc:
        raise click.UsageError(str(exc)) from exc


def _print_results(results: list[RunResult], output: Path | None, *, summary: bool,
                   several: bool) -> None:
    """Per experiment: the summary table (stdout) and the summary line (stderr)."""

    for result in results:
        if several and summary and result.rows:
            click.echo(f"== {result.experiment} (report {result.report_id})")
        if summary and result.rows:
            click.echo(format_table(result.rows))
        prefix = f"{result.experiment}: " if several else ""
        click.echo(prefix + summary_line(result, output), err=True)


@probe.command("upload")
@click.option("--queue", "queue_dir", type=click.Path(path_type=Path, file_okay=False),
              metavar="DIR", help=_QUEUE_HELP)
@click.option("--url", metavar="URL", help="The collector (base URL).")
@click.option("--config", "config_file", type=click.Path(path_type=Path), metavar="FILE.json",
              help="Take the collector (collector_url / collector_urls[0]) and ca_file "
                   "from this probe config when --url / --ca-file are not given.")
@click.option("--within", type=click.FloatRange(min=0), default=60.0, show_default=True,
              metavar="S", help="Keep trying for at most S seconds.")
@click.option("--protocol", type=_PROTOCOLS, default="submit_measurement",
              show_default=True, help=_PROTOCOL_HELP)
@click.option("--ca-file", metavar="PEM", help="CA bundle to validate an https collector.")
def upload_cmd(queue_dir: Path | None, url: str | None, config_file: Path | None,
               within: float, protocol: str, ca_file: str | None) -> None:
    """Upload measurements left in the upload queue (e.g. after a run without connectivity).

    Every queued measurement is tried at once, then retried with backoff until the queue is
    empty or --within seconds have passed. Exits 1 if measurements are still queued.
    """

    if config_file is not None:
        config = _load_config(config_file)
        url = url or config.collector_url
        ca_file = ca_file if ca_file is not None else config.ca_file
    if not url:
        raise click.UsageError("give --url URL (or --config with a collector_url)")
    _collector_url(url)
    root = queue_dir or default_queue_dir()
    if not (root / "pending").is_dir():
        click.echo(f"nothing queued in {root}", err=True)
        return
    delivery = _deliver(root, url, within=within, protocol=protocol, ca_file=ca_file)
    click.echo(delivery.message(url), err=True)
    if delivery.still_queued or delivery.busy:
        sys.exit(1)


probe.add_command(lists, "lists")  # `censorscope probe lists …` = `censorscope lists …`


@probe.command("presets")
@click.option("--probe-cc", metavar="CC", default="ZZ",
              help="Show the test lists the presets use for this country.")
def presets_cmd(probe_cc: str) -> None:
    """List the presets of `probe run --preset NAME`: each experiment and its inputs.

    An experiment marked "(not registered)" makes its preset fail until it is installed.
    """

    known = {exp.name for exp in registered()}
    lists_for = preset_lists(probe_cc, available_lists())
    for preset in PRESETS.values():
        click.echo(f"{preset.name:10} {preset.description}")
        for step in preset.steps:
            if step.inputs == TEST_LISTS:
                what = "URLs of the test lists " + " + ".join(lists_for)
            elif step.targets:
                what = ", ".join(step.targets)
            else:
                what = "(no input)"
            missing = "" if step.experiment in known else " (not registered)"
            click.echo(f"    {step.experiment}{missing}: {what}")


@probe.command("experiments")
def experiments_cmd() -> None:
    """List the registered experiments (what `probe run --experiment` takes).

    Columns: name, OONI test name and version, input kind, description; then each of the
    experiment's options (`--option NAME.KEY=VALUE`), indented.
    """

    for exp in registered():
        click.echo(f"{exp.name:20} {exp.test_name:20} {exp.test_version:8} "
                   f"{exp.inputs.value:7} {exp.description}")
        for key, help_text in sorted(exp.options.items()):
            click.echo(f"    --option {exp.name}.{key}=…  {help_text}")
