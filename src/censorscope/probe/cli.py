"""``censorscope probe``: run Web Connectivity measurements from the command line."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from .config import ConfigError, ProbeConfig, load_config_file
from .inputs import InputError, MeasurementInput, parse_input, read_input_file
from .progress import Progress
from .runner import run_probe
from .summary import format_table
from .testlists import TestListError, available_lists, load_test_list

__all__ = ["probe"]

_RUN_HELP = """Measure whether web sites are reachable from this network (Web Connectivity).

For each URL the probe resolves the name (system resolver, a Do53 resolver, DoH), connects
to every address, does TLS where due, fetches the page once (following redirects), asks the
control (test helper) for the same from an uncensored network, and records every network
event in OONI's format. It writes one OONI measurement per line and ends with a table:
URL, verdict hint (ok / anomaly: dns|tcp_ip|http-failure|http-diff / down / unknown), and
the first failing step.

\b
Examples:
  censorscope probe run --input https://www.example.org/ --output out.jsonl
  censorscope probe run --test-list az --category NEWS --parallel 8 -o az.jsonl
  censorscope probe run --config probe.json --input-file urls.txt -o out.jsonl --resume

\b
In the lab (after `censorscope lab up`):
  censorscope lab exec <isp>-p1 -- .venv/bin/censorscope probe run \\
      --config /run/censorscope/lab/<prefix>/probe-<isp>.json --input https://… -o out.jsonl

Settings come from --config FILE.json (the lab writes one per ISP) and flags override
them. Without a control URL the measurements still run, with blocking/accessible null.
"""


def _collect_inputs(
    urls: tuple[str, ...], files: tuple[Path, ...], test_list: str | None,
    categories: tuple[str, ...],
) -> list[str | MeasurementInput]:
    items: list[str | MeasurementInput] = list(urls)
    for path in files:
        try:
            items.extend(read_input_file(path))
        except OSError as exc:
            raise click.UsageError(f"cannot read --input-file {path}: {exc.strerror}") from exc
    if test_list:
        try:
            entries = load_test_list(test_list, categories=categories)
        except TestListError as exc:
            raise click.UsageError(str(exc)) from exc
        for entry in entries:
            try:
                items.append(parse_input(entry.url, category_code=entry.category_code))
            except InputError:
                items.append(entry.url)  # reported as invalid by the runner
    elif categories:
        raise click.UsageError("--category filters a --test-list; give --test-list too")
    return items


@click.group("probe")
def probe() -> None:
    """Run measurements (Web Connectivity) and list the bundled test lists."""


@probe.command("run", help=_RUN_HELP)
@click.option("--input", "-i", "urls", multiple=True, metavar="URL",
              help="A URL to measure (http:// or https://). Repeatable.")
@click.option("--input-file", "-f", "files", multiple=True, metavar="FILE",
              type=click.Path(path_type=Path),
              help="A text file with one URL per line (# starts a comment). Repeatable.")
@click.option("--test-list", "-l", metavar="CC|global|PATH.csv",
              help="A Citizen Lab test list: a country code (az, am, ru…), 'global', or a CSV "
                   "file. The bundled snapshot is used for codes (see `probe lists`).")
@click.option("--category", "-c", "categories", multiple=True, metavar="CODE",
              help="Keep only test-list URLs of this category code (NEWS, HUMR, GRP…). "
                   "Repeatable.")
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
@click.option("--no-progress", is_flag=True, help="Do not show progress on stderr.")
@click.option("--no-summary", is_flag=True, help="Do not print the summary table.")
def run_cmd(
    urls: tuple[str, ...], files: tuple[Path, ...], test_list: str | None,
    categories: tuple[str, ...], output: Path | None, resume: bool, parallel: int | None,
    config_file: Path | None, control_url: str | None, ca_file: str | None,
    resolver: str | None, doh_url: str | None, probe_cc: str | None, probe_asn: str | None,
    probe_network_name: str | None, asn_table: str | None, public_ranges: tuple[str, ...],
    timeout_scale: float | None, dns_timeout: float | None, tcp_timeout: float | None,
    tls_timeout: float | None, http_timeout: float | None, control_timeout: float | None,
    report_id: str | None, no_progress: bool, no_summary: bool,
) -> None:
    if resume and output is None:
        raise click.UsageError("--resume needs --output FILE.jsonl")
    try:
        config = load_config_file(config_file) if config_file else ProbeConfig()
        config = config.override(
            control_url=control_url, ca_file=ca_file, resolver=resolver, doh_url=doh_url,
            probe_cc=probe_cc, probe_asn=probe_asn, probe_network_name=probe_network_name,
            asn_table=asn_table, report_id=report_id,
            public_ranges=tuple(public_ranges) if public_ranges else None,
        )
        timeouts = config.timeouts
        if timeout_scale:
            timeouts = timeouts.scaled(timeout_scale)
        steps = {"dns": dns_timeout, "tcp": tcp_timeout, "tls": tls_timeout,
                 "http": http_timeout, "control": control_timeout}
        timeouts = timeouts.with_(**{k: v for k, v in steps.items() if v is not None})
        config = config.override(timeouts=timeouts)
        config.load_asn_table()  # fail early on a bad table
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    items = _collect_inputs(urls, files, test_list, categories)
    if not items:
        raise click.UsageError("nothing to measure: give --input, --input-file or --test-list")

    def warn(msg: str) -> None:
        click.echo(f"warning: {msg}", err=True)

    if not config.control_url:
        warn("no control URL configured: blocking/accessible will be null")
    if output is None:
        warn("no --output: measurements are not saved, only summarised")
    progress = Progress(0, enabled=not no_progress)
    result = asyncio.run(
        run_probe(items, config, output=output, resume=resume, parallel=parallel,
                  progress=progress, warn=warn)
    )
    if not no_summary and result.rows:
        click.echo(format_table(result.rows))
    parts = [f"report {result.report_id}: {len(result.rows)} measured"]
    if output is not None:
        parts.append(f"{result.written} written to {output}")
    if result.skipped:
        parts.append(f"{result.skipped} already done (resume)")
    if result.invalid:
        parts.append(f"{len(result.invalid)} invalid input(s) skipped")
    if result.control_failures:
        parts.append(f"{result.control_failures} without control")
    click.echo("; ".join(parts), err=True)
    for inp, message in result.crashed:
        click.echo(f"error: measuring {inp} failed: {message}", err=True)
    if result.output_error is not None:
        click.echo(f"error: {result.output_error}", err=True)
        sys.exit(1)
    if result.crashed:
        sys.exit(1)
    if result.invalid and not result.rows and not result.skipped:
        sys.exit(2)


@probe.command("lists")
def lists_cmd() -> None:
    """List the bundled Citizen Lab test lists.

    Citizen Lab test lists, citizenlab/test-lists @ 7f01e430, CC BY-NC-SA 4.0.
    """

    for name in available_lists():
        entries = load_test_list(name)
        click.echo(f"{name:8} {len(entries):5} URLs")
