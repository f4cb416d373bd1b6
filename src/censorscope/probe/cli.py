"""``censorscope probe``: run Web Connectivity measurements and upload them from the command line.

``probe run --upload URL`` puts every measurement in a durable local queue and delivers it to
the collector at the end of the run; ``probe upload`` delivers what is left later.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import math
import os
import ssl
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import click

from .config import ConfigError, ProbeConfig, load_config_file
from .inputs import InputError, MeasurementInput, parse_input, read_input_file
from .progress import Progress
from .queue import UploadQueue, default_queue_dir
from .runner import run_probe
from .summary import format_table
from .testlists import TestListError, available_lists, load_test_list
from .upload import Uploader

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


def _collector_from_config(path: Path) -> str | None:
    """``collector_url``, else the first of ``collector_urls``, of a probe config file."""

    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise click.UsageError(f"cannot read --config {path}: {exc}") from exc
    if not isinstance(data, dict):
        return None
    url = data.get("collector_url")
    urls = data.get("collector_urls")
    if not url and isinstance(urls, list) and urls:
        url = urls[0]
    return str(url) if url else None


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.UsageError(f"collector URL must be http(s)://host[:port][/path]: {url!r}")
    return url


@dataclass
class DeliveryReport:
    """What one delivery of a queue did, counted from the queue itself."""

    queue_dir: Path
    uploaded: int = 0
    discarded: int = 0
    refused: int = 0
    still_queued: int = 0
    last_error: str | None = None
    busy: bool = False

    def message(self, url: str) -> str:
        text = (f"{self.uploaded} uploaded, {self.still_queued} still queued in "
                f"{self.queue_dir}, {self.refused} refused")
        if self.refused:
            text += f" (see {self.queue_dir / 'refused'})"
        if self.discarded:
            text += (f"; {self.discarded} of the uploaded were discarded by the collector "
                     "(unknown probe_cc/probe_asn)")
        if self.busy:
            text += "; another upload from this queue is running, so this one did not start"
        if self.still_queued:
            if self.last_error:
                text += f"; last error: {self.last_error}"
            text += (f"; send them later with: censorscope probe upload --queue "
                     f"{self.queue_dir} --url {url}")
        return text


@contextlib.contextmanager
def _queue_lock(queue_dir: Path) -> Iterator[bool]:
    """An exclusive ``flock`` on QUEUE/upload.lock: one uploader per queue at a time."""

    fd = os.open(queue_dir / "upload.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _ssl_context(url: str, ca_file: str | None) -> ssl.SSLContext | None:
    if urlsplit(url).scheme != "https":
        return None
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise click.UsageError(f"cannot load the CA file {ca_file}: {exc}") from exc


async def _try_until(uploader: Uploader, within: float) -> None:
    """Every entry once now (backoff ignored), then retries with backoff until ``within``."""

    deadline = time.monotonic() + within
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            await uploader.upload_once(now=math.inf)
            await uploader.drain(deadline)


def deliver_queue(
    queue_dir: Path, url: str, *, within: float, protocol: str = "submit_measurement",
    ca_file: str | None = None,
) -> DeliveryReport:
    """Deliver ``queue_dir`` to the collector at ``url`` for at most ``within`` seconds.

    Interrupting it (deadline, Ctrl-C, a crash) is safe: an entry leaves the queue only
    once acknowledged, and a re-sent one gets the collector's first uid back.
    """

    queue = UploadQueue(queue_dir)
    report = DeliveryReport(queue_dir=queue_dir)
    acked_before = len(queue.acked())
    refused_before = len(queue.refused())
    with _queue_lock(queue.root) as locked:
        if not locked:
            report.busy = True
        elif within > 0:
            uploader = Uploader(queue, url, protocol=protocol,
                                timeout=min(30.0, max(within, 1.0)),
                                ssl_context=_ssl_context(url, ca_file))
            asyncio.run(_try_until(uploader, within))
    new_acks = queue.acked()[acked_before:]
    report.uploaded = len(new_acks)
    report.discarded = sum(1 for a in new_acks if not a.get("measurement_uid"))
    report.refused = len(queue.refused()) - refused_before
    pending = queue.pending()
    report.still_queued = len(pending)
    errors = [e.last_error for e in pending if e.last_error]
    report.last_error = errors[-1] if errors else None
    return report


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
    urls: tuple[str, ...], files: tuple[Path, ...], test_list: str | None,
    categories: tuple[str, ...], output: Path | None, resume: bool, parallel: int | None,
    config_file: Path | None, control_url: str | None, ca_file: str | None,
    resolver: str | None, doh_url: str | None, probe_cc: str | None, probe_asn: str | None,
    probe_network_name: str | None, asn_table: str | None, public_ranges: tuple[str, ...],
    timeout_scale: float | None, dns_timeout: float | None, tcp_timeout: float | None,
    tls_timeout: float | None, http_timeout: float | None, control_timeout: float | None,
    report_id: str | None, no_progress: bool, no_summary: bool, upload_url: str | None,
    upload_from_config: bool, upload_queue: Path | None, upload_protocol: str | None,
    upload_within: float | None,
) -> None:
    if resume and output is None:
        raise click.UsageError("--resume needs --output FILE.jsonl")
    if upload_from_config and not upload_url:
        if config_file is None:
            raise click.UsageError("--upload-from-config needs --config FILE.json")
        upload_url = _collector_from_config(config_file)
        if not upload_url:
            raise click.UsageError(f"{config_file} has no collector_url or collector_urls")
    if upload_url is None and (upload_queue or upload_protocol or upload_within is not None):
        raise click.UsageError("--upload-queue/--upload-protocol/--upload-within need --upload")
    queue: UploadQueue | None = None
    if upload_url is not None:
        _check_url(upload_url)
        try:
            queue = UploadQueue(upload_queue or default_queue_dir())
        except OSError as exc:
            raise click.UsageError(f"cannot use the upload queue: {exc}") from exc
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
    if output is None and queue is None:
        warn("no --output: measurements are not saved, only summarised")
    elif output is None and queue is not None:
        warn(f"no --output: measurements are kept only in the upload queue {queue.root} "
             "until the collector has them")
    progress = Progress(0, enabled=not no_progress)
    result = asyncio.run(
        run_probe(items, config, output=output, resume=resume, parallel=parallel,
                  progress=progress, warn=warn, upload_queue=queue)
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
    if queue is not None and upload_url is not None:
        delivery = deliver_queue(
            queue.root, upload_url, within=60.0 if upload_within is None else upload_within,
            protocol=upload_protocol or "submit_measurement", ca_file=config.ca_file,
        )
        click.echo(f"upload: {delivery.message(upload_url)}", err=True)
    for inp, message in result.crashed:
        click.echo(f"error: measuring {inp} failed: {message}", err=True)
    if result.output_error is not None:
        click.echo(f"error: {result.output_error}", err=True)
        sys.exit(1)
    if result.crashed:
        sys.exit(1)
    if result.invalid and not result.rows and not result.skipped:
        sys.exit(2)


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
        url = url or _collector_from_config(config_file)
        if ca_file is None:
            try:
                ca_file = load_config_file(config_file).ca_file
            except ConfigError as exc:
                raise click.UsageError(str(exc)) from exc
    if not url:
        raise click.UsageError("give --url URL (or --config with a collector_url)")
    _check_url(url)
    root = queue_dir or default_queue_dir()
    if not (root / "pending").is_dir():
        click.echo(f"nothing queued in {root}", err=True)
        return
    delivery = deliver_queue(root, url, within=within, protocol=protocol, ca_file=ca_file)
    click.echo(delivery.message(url), err=True)
    if delivery.still_queued or delivery.busy:
        sys.exit(1)


@probe.command("lists")
def lists_cmd() -> None:
    """List the bundled Citizen Lab test lists.

    Citizen Lab test lists, citizenlab/test-lists @ 7f01e430, CC BY-NC-SA 4.0.
    """

    for name in available_lists():
        entries = load_test_list(name)
        click.echo(f"{name:8} {len(entries):5} URLs")
