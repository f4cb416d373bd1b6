"""File durability: the one ``fsync_dir`` and ``write_atomic`` of the code base.

Why here: it does I/O, so it cannot live in ``model`` (pure vocabulary), and its callers sit on
both sides of the layering — the probe (JSONL output, upload queue) and the collector and
archive (spool, cans, feeder). The probe must not import ``archive`` (server side) nor the
collector import ``probe``. A leaf module at the package root that imports only the standard
library can be imported by every layer without creating an edge between them.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

__all__ = ["fsync_dir", "write_atomic"]

# fsync(2) on a directory fails with these where the file system cannot sync directories
# (some FUSE and network file systems); there is nothing more to make durable there.
_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF})


def fsync_dir(path: Path | str) -> None:
    """Make a directory's entries (files created, renamed, removed in it) durable.

    Call it after creating or renaming a file whose existence an acknowledgement or a resume
    relies on. Raises ``OSError`` when the directory cannot be opened or the sync fails (an
    I/O error: the entries may not be on disk); a file system that does not support syncing a
    directory at all is not an error.
    """

    fd = os.open(Path(path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` all at once: written to ``.<name>.<pid>.tmp`` beside it,
    fsync'd, renamed over ``path``, and the directory synced. A crash leaves the old file or
    the new one, never a mix (a stale ``.*.tmp`` may stay behind)."""

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)
