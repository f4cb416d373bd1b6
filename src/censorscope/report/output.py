"""Write a report directory atomically: all or nothing.

:func:`atomic_directory` yields a fresh temporary directory beside the destination
(``.<name>.tmp-XXXX`` in the same parent, so the final rename stays on one file system). When
the block ends normally, the files are fsync'd, an existing destination is moved aside, the
temporary directory is renamed to the destination and the old one removed; on any error the
temporary directory is removed and the destination is left as it was. A reader never sees a
half-written report.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from censorscope.durable import fsync_dir

__all__ = ["atomic_directory", "write_bytes", "write_text"]


def write_text(path: Path, content: str) -> None:
    """Write ``content`` (UTF-8) to ``path``, creating its parent directories."""
    write_bytes(path, content.encode("utf-8"))


def write_bytes(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` and fsync it, creating its parent directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())


def _sync_tree(root: Path) -> None:
    for directory, _, _ in os.walk(root):
        fsync_dir(Path(directory))


def _fresh(parent: Path, prefix: str) -> Path:
    """A new directory ``parent/prefix<random>`` with the usual permissions (the umask's,
    not ``mkdtemp``'s owner-only mode: the report is for others to read)."""
    while True:
        path = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path


@contextlib.contextmanager
def atomic_directory(destination: Path) -> Iterator[Path]:
    """A temporary directory that becomes ``destination`` when the block succeeds (see the
    module docstring). OSError when the parent cannot be written."""
    destination = destination.absolute()
    parent = destination.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = _fresh(parent, f".{destination.name}.tmp-")
    try:
        yield tmp
        _sync_tree(tmp)
        old: Path | None = None
        if destination.exists() or destination.is_symlink():
            old = _fresh(parent, f".{destination.name}.old-")
            os.rmdir(old)
            os.replace(destination, old)
        try:
            os.replace(tmp, destination)
        except BaseException:
            if old is not None:
                os.replace(old, destination)
            raise
        fsync_dir(parent)
        if old is not None:
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
