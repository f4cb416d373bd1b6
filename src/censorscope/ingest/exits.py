"""Exit statuses of ``ingest``, ``analyze``, ``reprocess`` and ``verify``, and opening the store
for them with a one-line error instead of a traceback.

- 0: everything read and written;
- 1: some input was rejected (a broken record or damaged file, named on stderr) — or, for
  ``verify``, a false statement was found;
- 2: usage error, or a store that cannot be opened (bad URL, not a database, unreachable);
- 3: the store is busy: another process holds it (a DuckDB file is opened by one writer at a
  time, e.g. a running collector or ingest); the message names the holder when known;
- 130: interrupted (Ctrl-C); what was written before stays written.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from censorscope.store import display_url, open_store
from censorscope.store.base import Store, StoreBusy

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERRUPTED", "EXIT_STORE_BUSY", "EXIT_USAGE", "fail",
           "open_store_or_exit"]

EXIT_BAD_INPUT = 1
EXIT_USAGE = 2
EXIT_STORE_BUSY = 3
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """``censorscope: message`` on stderr, then exit with ``code``."""
    click.echo(f"censorscope: {message}", err=True)
    sys.exit(code)


def open_store_or_exit(url: str) -> Store:
    """The store at ``url``; a busy store exits 3, any other failure to open exits 2."""
    try:
        return open_store(url)
    except StoreBusy as exc:
        fail(str(exc), EXIT_STORE_BUSY)
    except Exception as exc:  # any failure to open: one line, no traceback
        fail(f"cannot open the store {display_url(url)}: {exc}")
