"""``censorscope serve``: the API on uvicorn (one process, or ``--workers N`` processes);
``serve_command`` makes the same command for another app (the explorer, ``censorscope.web``).

Before serving, the store is opened once read-only and its schema checked, so a wrong URL, a
store that is not migrated, or a DuckDB file held by a writer is one line and an exit status,
not a failing server: 2 bad store (no such store, not a censorscope store, older schema) or an
unusable ``--tokens`` file, 3 busy (a writer holds the DuckDB file; the line names it).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from censorscope.store import default_url, migrations, open_store
from censorscope.store.base import StoreBusy

from .app import ENV_SETTINGS, ENV_STORE, create_app, settings_to_json
from .settings import Settings
from .tokens import TokenFile, TokenFileError

__all__ = ["EXIT_BAD_STORE", "EXIT_BUSY", "check_store", "check_writes", "serve",
           "serve_command"]

EXIT_BAD_STORE = 2
EXIT_BUSY = 3


def check_store(url: str) -> str | None:
    """None when the API can read the store at ``url``, else why not."""
    store = open_store(url, read_only=True)
    try:
        version = store.schema_version()
    finally:
        store.close()
    if version == 0:
        return f"{url} is not a censorscope store (no schema: ingest into it first)"
    if version < migrations.LATEST:
        return (f"{url} has schema version {version}, this censorscope needs "
                f"{migrations.LATEST}: run a writer (e.g. censorscope ingest) to migrate it")
    return None


def check_writes(tokens_file: str | None) -> str | None:
    """None when the token file (if any) can be used, else why not."""
    if tokens_file is None:
        return None
    try:
        TokenFile(tokens_file)
    except TokenFileError as exc:
        return f"{exc} (make tokens with: censorscope token new --role analyst --tokens FILE)"
    return None


def serve_command(build: Callable[..., Any], factory: str, *, name: str = "serve",
                  what: str = "the API (OpenAPI at /openapi.json)",
                  banner: Callable[[str, int], str] | None = None) -> click.Command:
    """The ``serve`` command for the app ``build(url, settings=…)`` makes; ``--workers N``
    start it through the import-string ``factory`` (which reads ``$CENSORSCOPE_API_STORE``
    and ``$CENSORSCOPE_API_SETTINGS``). ``banner(host, port)``: one more line to print when
    serving (the explorer's address)."""

    @click.command(name, help=f"Serve {what} on the store, read-only.")
    @click.option("--store", "store_url", default=None, metavar="URL",
                  help="Store URL (default $CENSORSCOPE_STORE or duckdb:censorscope.duckdb).")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
    @click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
                  help="Worker processes (each opens the store read-only on its own).")
    @click.option("--store-linger", default=2.0, show_default=True, type=float,
                  help="Seconds an idle store connection stays open (DuckDB: a writer can "
                       "open the file once the server has let go of it); negative: keep it "
                       "open.")
    @click.option("--trust-forwarded-for", is_flag=True,
                  help="Rate-limit by the first X-Forwarded-For address (behind a proxy).")
    @click.option("--no-quotas", is_flag=True,
                  help="No per-client quotas (a proxy in front limits the clients; "
                       "benchmarks).")
    @click.option("--log-level", default="info", show_default=True,
                  type=click.Choice(["critical", "error", "warning", "info", "debug"]))
    @click.option("--tokens", "tokens_file", default=None, metavar="FILE",
                  help="Bearer tokens of the writes (findings, feedback), one "
                       "'<sha256 hex> <role>' per line (censorscope token new); "
                       "default: no writes.")
    @click.option("--annotations", "annotations_file", default=None, metavar="FILE",
                  help="SQLite file of findings and feedback (default: beside a DuckDB "
                       "store, else ./censorscope-annotations.sqlite).")
    def serve(store_url: str | None, host: str, port: int, workers: int, store_linger: float,
              trust_forwarded_for: bool, no_quotas: bool, log_level: str,
              tokens_file: str | None, annotations_file: str | None) -> None:
        import uvicorn

        url = store_url or default_url()
        try:
            problem = check_store(url)
        except StoreBusy as exc:
            click.echo(f"serve: {exc}", err=True)
            sys.exit(EXIT_BUSY)
        except Exception as exc:  # a store that cannot be opened: one line, not a traceback
            click.echo(f"serve: cannot open the store {url}: {exc}", err=True)
            sys.exit(EXIT_BAD_STORE)
        if problem is not None:
            click.echo(f"serve: {problem}", err=True)
            sys.exit(EXIT_BAD_STORE)
        problem = check_writes(tokens_file)
        if problem is not None:
            click.echo(f"serve: {problem}", err=True)
            sys.exit(EXIT_BAD_STORE)
        settings = Settings(store_linger=None if store_linger < 0 else store_linger,
                            trust_forwarded_for=trust_forwarded_for,
                            tokens_file=tokens_file and os.path.abspath(tokens_file),
                            annotations_file=annotations_file
                            and os.path.abspath(annotations_file))
        if no_quotas:
            settings = dataclasses.replace(settings, quotas=())
        click.echo(f"serve: http://{host}:{port}/api/v1/ on {url} "
                   f"({workers} worker{'s' if workers > 1 else ''}; Ctrl-C stops)", err=True)
        if banner is not None:
            click.echo(banner(host, port), err=True)
        if workers == 1:
            uvicorn.run(build(url, settings=settings), host=host, port=port,
                        log_level=log_level)
            return
        os.environ[ENV_STORE] = url
        os.environ[ENV_SETTINGS] = settings_to_json(settings)
        uvicorn.run(factory, factory=True, host=host, port=port, workers=workers,
                    log_level=log_level)

    return serve


serve = serve_command(create_app, "censorscope.api.app:app_from_env")
