"""``censorscope control serve``: run the Web Connectivity test helper (control).

On the internet (DoH via dns.google and 15 s steps as OONI; 50 measurements in flight, 8 per
client address)::

    censorscope control serve --listen 0.0.0.0:443 --tls-cert cert.pem --tls-key key.pem \\
        --asn-table asn.tsv

In the lab, the helper must be allowed to dial the lab's own (documentation/benchmarking)
ranges, use the lab's resolver and trust the lab CA; run it inside the lab's control
namespace, e.g.::

    ip netns exec <lab>-control censorscope control serve --listen 0.0.0.0:8080 \\
        --resolver udp://198.18.0.53:53 --ca-file <lab>/ca.pem \\
        --allow-range 198.18.0.0/15 --allow-range 192.0.2.0/24 \\
        --allow-range 198.51.100.0/24 --allow-range 203.0.113.0/24 --timeout 3

(substitute the lab's resolver address and CA path; the lab also passes
``--report-refused-answers`` so that its "localhost everywhere" cases answer as OONI's helper
does). Without ``--allow-range`` those ranges are refused: a URL pointing at them gets HTTP 400,
and so does a name resolving only to them (without its answer).

The process prints ``censorscope-control listening on <scheme>://HOST:PORT`` on stdout once
bound (``--listen 127.0.0.1:0`` picks a free port) and writes one JSON access-log line per
request on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

import click

from censorscope.control.measure import DEFAULT_RESOLVER, MeasureConfig
from censorscope.control.policy import AddressPolicy
from censorscope.control.server import ControlServer, ServerConfig
from censorscope.model.endpoint import split_host_port
from censorscope.model.ipinfo import ASNTable


def _split_listen(value: str) -> tuple[str, int]:
    try:
        host, port = split_host_port(value)
    except ValueError:
        message = f"expected HOST:PORT, got {value!r}"
        raise click.BadParameter(message, param_hint="--listen") from None
    return host or "0.0.0.0", port


@click.group()
def control() -> None:
    """Run the test helper (control) that probes compare their measurements with."""


@control.command()
@click.option("--listen", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to bind.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), help="Serve HTTPS.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--resolver",
    default=DEFAULT_RESOLVER,
    show_default=True,
    help="udp://IP:PORT, https://HOST/dns-query (DoH) or 'system'.",
)
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False),
              help="CA bundle for TLS checks and fetches (default: system trust store).")
@click.option("--asn-table", type=click.Path(exists=True, dir_okay=False),
              help="TSV prefix<TAB>asn for ip_info.asn (default: asn 0).")
@click.option("--allow-range", "allow_ranges", multiple=True, metavar="CIDR",
              help="Treat this special-purpose range as dialable (repeatable).")
@click.option("--max-inflight", default=50, show_default=True, type=click.IntRange(1),
              help="503 when this many measurements run in total.")
@click.option("--max-inflight-per-client", default=8, show_default=True,
              type=click.IntRange(1),
              help="503 when one client address (IPv4, IPv6 /64) has this many running.")
@click.option("--timeout", default=15.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds per connect/handshake/HTTP step (DNS: min(4, this)).")
@click.option("--request-timeout", type=click.FloatRange(0.1), default=None,
              help="Cap on one whole measurement (504 above); default derived from --timeout.")
@click.option("--max-body", default=16 * 1024 * 1024, show_default=True,
              type=click.IntRange(0), help="Bytes of each fetched body to read.")
@click.option("--print-ready", is_flag=True, hidden=True,
              help="Also print READY once bound (for process supervisors such as the lab).")
@click.option("--report-refused-answers", is_flag=True,
              help="OONI's behaviour, for closed labs: a name resolving only to refused "
                   "addresses is measured (its answer reported with flag 4, never dialled) "
                   "instead of refused with 400 without its answer.")
@click.option("--reject-bogon-probe-ips", is_flag=True,
              help="400 when the probe's tcp_connect lists a refused IP (default: report it "
                   "with flag 4, never dial it — OONI's behaviour).")
def serve(
    listen: str,
    tls_cert: str | None,
    tls_key: str | None,
    resolver: str,
    ca_file: str | None,
    asn_table: str | None,
    allow_ranges: tuple[str, ...],
    max_inflight: int,
    max_inflight_per_client: int,
    timeout: float,
    request_timeout: float | None,
    max_body: int,
    reject_bogon_probe_ips: bool,
    report_refused_answers: bool,
    print_ready: bool,
) -> None:
    """Serve the OONI-compatible Web Connectivity test helper."""

    host, port = _split_listen(listen)
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together")
    try:
        policy = AddressPolicy.from_cidrs(allow_ranges)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--allow-range") from exc
    table = None
    if asn_table:
        with open(asn_table, encoding="utf-8") as fh:
            try:
                table = ASNTable.from_tsv(fh.read())
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--asn-table") from exc
    try:
        measure_config = MeasureConfig(
            resolver=resolver,
            ca_file=ca_file,
            timeout=timeout,
            dns_timeout=min(4.0, timeout),
            max_body=max_body,
            policy=policy,
            asn_table=table,
            reject_refused_probe_ips=reject_bogon_probe_ips,
            report_refused_answers=report_refused_answers,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--resolver") from exc
    server_config = ServerConfig(
        host=host,
        port=port,
        tls_cert=tls_cert,
        tls_key=tls_key,
        max_inflight=max_inflight,
        max_inflight_per_client=max_inflight_per_client,
        request_timeout=request_timeout,
    )
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    asyncio.run(_serve(ControlServer(server_config, measure_config), print_ready=print_ready))


async def _serve(server: ControlServer, *, print_ready: bool = False) -> None:
    host, port = await server.start()
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"censorscope-control listening on {server.scheme}://{shown}:{port}")
    if print_ready:
        click.echo("READY")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.close()
