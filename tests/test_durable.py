"""censorscope.durable.fsync_dir: syncs, raises on real failures, tolerates file systems that
cannot sync a directory."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from censorscope import durable
from censorscope.durable import fsync_dir


def test_fsync_dir_syncs_the_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(durable.os, "fsync", fsync)
    fsync_dir(tmp_path)
    fsync_dir(str(tmp_path))
    assert len(synced) == 2


def test_fsync_dir_raises_when_the_directory_is_missing(tmp_path: Path) -> None:
    # The probe's output copy swallowed this; a durability promise cannot.
    with pytest.raises(FileNotFoundError):
        fsync_dir(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        fsync_dir(tmp_path / "file")


@pytest.mark.parametrize(("code", "raises"), [
    (errno.EINVAL, False), (errno.ENOTSUP, False), (errno.EIO, True), (errno.ENOSPC, True),
])
def test_fsync_dir_tolerates_only_unsupported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              code: int, raises: bool) -> None:
    def fsync(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(durable.os, "fsync", fsync)
    if raises:
        with pytest.raises(OSError) as info:
            fsync_dir(tmp_path)
        assert info.value.errno == code
    else:
        fsync_dir(tmp_path)
