"""``censorscope collector``: serve OONI-compatible submissions, seal the spool, fetch by uid."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import signal
import sys
from pathlib import Path

import click

from censorscope.serve import Limits

__all__ = ["EXIT_IO_ERROR", "EXIT_OK", "EXIT_START_FAILED", "collector"]

EXIT_OK = 0  # stopped on SIGTERM/SIGINT: store fed, spool sealed
EXIT_START_FAILED = 1  # could not start (archive in use or unwritable, port taken): one line
EXIT_IO_ERROR = 74  # (EX_IOERR) stopped, but feeding or sealing hit an I/O error: the spool
# keeps every acknowledged measurement and the next start feeds and seals it


@click.group()
def collector() -> None:
    """The collector: receives measurements, archives them durably, feeds the store."""


def _token(token_file: Path | None) -> str | None:
    if token_file is not None:
        return token_file.read_text().strip() or None
    return os.environ.get("CENSORSCOPE_COLLECTOR_TOKEN") or None


@collector.command()
@click.option("--archive", "archive", type=click.Path(path_type=Path), required=True,
              envvar="CENSORSCOPE_ARCHIVE", help="Archive directory (spool, cans, index).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8480, show_default=True, type=int, help="0 = any free port.")
@click.option("--store", "store_url", default=None, envvar="CENSORSCOPE_STORE",
              help="Store URL fed from the spool (e.g. duckdb:///path/db.duckdb).")
@click.option("--admin-token-file", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="File with the bearer token for /admin/* "
              "(or $CENSORSCOPE_COLLECTOR_TOKEN); without one, admin endpoints are off.")
@click.option("--seal-interval", default=3600.0, show_default=True, type=float,
              help="Seconds between seals of the spool into cans (0 = only at stop).")
@click.option("--max-body", default=16 * 1024 * 1024, show_default=True, type=int,
              help="Largest request body, compressed or not (bytes).")
@click.option("--max-connections", default=1024, show_default=True, type=int,
              help="Connections served at once (503 beyond).")
@click.option("--max-connections-per-source", default=256, show_default=True, type=int,
              help="Connections from one client address (429 beyond).")
@click.option("--max-buffered", default=256 * 1024 * 1024, show_default=True, type=int,
              help="Request body bytes held at once, all clients (503 beyond).")
@click.option("--max-buffered-per-source", default=32 * 1024 * 1024, show_default=True,
              type=int, help="Request body bytes held at once from one address (429 beyond).")
@click.option("--collector-id", default=1, show_default=True, type=int)
@click.option("-v", "--verbose", is_flag=True)
def serve(archive: Path, host: str, port: int, store_url: str | None,
          admin_token_file: Path | None, seal_interval: float, max_body: int,
          max_connections: int, max_connections_per_source: int, max_buffered: int,
          max_buffered_per_source: int, collector_id: int, verbose: bool) -> None:
    """Serve POST /report, /report/{id}, /report/{id}/close and /api/v1/submit_measurement.

    Exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 if it could not start, 74 if the
    stop met an I/O error (disk full, read-only file system; every acknowledged measurement
    is in the spool, and the next start feeds and seals it)."""

    from censorscope.archive.live import ArchiveBusyError
    from censorscope.collector.server import Collector, CollectorConfig
    from censorscope.collector.sink import open_sink

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = CollectorConfig(
        archive=archive, host=host, port=port, admin_token=_token(admin_token_file),
        collector_id=collector_id, seal_interval=seal_interval,
        limits=Limits(max_body=max_body, max_connections=max_connections,
                      max_connections_per_source=max_connections_per_source,
                      max_buffered=max_buffered,
                      max_buffered_per_source=max(max_buffered_per_source, max_body)),
    )
    _raise_file_limit(max_connections + 256)

    async def run() -> int:
        sink = open_sink(store_url, archive) if store_url else None
        app = Collector(config, sink)
        try:
            await app.start()
        except (OSError, ArchiveBusyError) as exc:
            await app.stop()
            raise click.ClickException(f"cannot start: {exc}") from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        click.echo(f"collector listening on http://{host}:{app.port}", file=sys.stdout)
        sys.stdout.flush()
        await stop.wait()
        await app.stop()
        return EXIT_IO_ERROR if app.stop_errors else EXIT_OK

    sys.exit(asyncio.run(run()))


def _raise_file_limit(want: int) -> None:
    """Lift the soft open-file limit towards ``want`` (every connection is a descriptor; at
    the limit ``accept`` fails and asyncio stops accepting for a second)."""

    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < want:
            target = want if hard == resource.RLIM_INFINITY else min(want, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, target), hard))


@collector.command()
@click.option("--archive", "archive", type=click.Path(path_type=Path, file_okay=False),
              required=True, envvar="CENSORSCOPE_ARCHIVE")
@click.option("--store", "store_url", default=None, envvar="CENSORSCOPE_STORE",
              help="Feed this store from the spool first (as the server would).")
def seal(archive: Path, store_url: str | None) -> None:
    """Seal the spool into cans now (the collector must be stopped; if it runs, use
    POST /admin/seal)."""

    from censorscope.archive.live import ArchiveBusyError, LiveArchive
    from censorscope.collector.feeder import Feeder
    from censorscope.collector.sink import open_sink

    async def run() -> int:
        live = LiveArchive(archive)
        live.start()
        sink = open_sink(store_url, archive) if store_url else None
        try:
            if sink is None:
                return await live.seal()
            feeder = Feeder(archive, sink)

            async def fed_below() -> int:
                await asyncio.to_thread(feeder.catch_up, live.position)
                return feeder.safe_below()

            return await live.seal(fed_below)
        finally:
            await live.close()
            if sink is not None:
                sink.close()

    try:
        sealed = asyncio.run(run())
    except ArchiveBusyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"sealed {sealed} measurement(s)")


@collector.command()
@click.argument("uid")
@click.option("--archive", "archive", type=click.Path(path_type=Path, file_okay=False),
              required=True, envvar="CENSORSCOPE_ARCHIVE")
def fetch(uid: str, archive: Path) -> None:
    """Print the archived body of measurement UID."""

    from censorscope.archive.fetch import fetch_measurement

    body = fetch_measurement(archive, uid)
    if body is None:
        raise click.ClickException(f"{uid}: not in the archive")
    sys.stdout.buffer.write(body + b"\n")
