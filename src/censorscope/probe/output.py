"""The measurement file: one OONI measurement per line (JSONL), durable line by line.

Every line is written whole with ``os.write``, then ``fsync``ed, so a crash loses at most the
line being written. A failed write (disk full, file too large, I/O error) truncates the file
back to its last complete line and raises :class:`OutputError` with a plain message: every
measurement written before stays intact. ``scan_for_resume`` reads a file left by an
interrupted run, cuts a torn last line, and says which inputs of which report are done.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from censorscope.durable import fsync_dir as _fsync_dir

__all__ = ["JSONLWriter", "OutputError", "ResumeState", "scan_for_resume"]

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EFBIG: "the file has reached the maximum size allowed",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EIO: "an I/O error occurred",
}


class OutputError(OSError):
    """Writing the measurement file failed; ``written`` lines before it are intact."""

    def __init__(self, path: Path, cause: OSError, written: int) -> None:
        reason = _REASONS.get(cause.errno or 0, cause.strerror or str(cause))
        super().__init__(
            cause.errno,
            f"cannot write to {path}: {reason}. The {written} measurement(s) already written "
            f"are intact; free space and re-run with --resume to measure the rest.",
        )
        self.path = path
        self.written = written
        self.reason = reason

    def __str__(self) -> str:
        return str(self.strerror)


@dataclass
class ResumeState:
    """What an existing measurement file already holds."""

    report_id: str | None = None
    done: dict[str, set[str]] = field(default_factory=dict)  # report_id -> inputs
    lines: int = 0
    torn_bytes: int = 0
    bad_lines: int = 0
    by_test: dict[str, str] = field(default_factory=dict)  # test_name -> its last report_id

    def done_in(self, report_id: str | None) -> set[str]:
        return self.done.get(report_id or "", set())

    def report_for(self, test_name: str | None) -> str | None:
        """The last report of ``test_name`` in the file (any test's when ``None``, or when
        no line names its test)."""

        if test_name is None or not self.by_test:
            return self.report_id
        return self.by_test.get(test_name)


def scan_for_resume(path: Path) -> ResumeState:
    """Index ``path`` (missing → empty) and truncate a torn last line in place.

    A last line without its newline is torn if it does not parse (it is cut, and its input
    is measured again); if it parses, the newline is added.
    """

    state = ResumeState()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return state
    *complete, tail = data.split(b"\n")
    good_end = sum(len(line) + 1 for line in complete)
    for line in complete:
        _index(state, line)
    if tail.strip():
        if _index(state, tail):
            with path.open("ab") as fh:
                fh.write(b"\n")
                fh.flush()
                os.fsync(fh.fileno())
        else:
            state.bad_lines -= 1  # not corrupt: torn
            state.torn_bytes = len(tail)
            with path.open("r+b") as fh:
                fh.truncate(good_end)
                fh.flush()
                os.fsync(fh.fileno())
    return state


def _index(state: ResumeState, line: bytes) -> bool:
    if not line.strip():
        return True
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        state.bad_lines += 1
        return False
    if not isinstance(record, dict):
        state.bad_lines += 1
        return False
    report_id = str(record.get("report_id") or "")
    state.done.setdefault(report_id, set()).add(str(record.get("input")))
    if record.get("test_name") and report_id:
        state.by_test[str(record["test_name"])] = report_id
    state.report_id = report_id or state.report_id
    state.lines += 1
    return True


class JSONLWriter:
    """Appends measurements to ``path``, one fsynced line each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = 0
        created = not path.exists()
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise OutputError(path, exc, 0) from exc
        if created:
            _fsync_dir(path.parent)

    def write(self, measurement: dict[str, Any]) -> None:
        """Write one measurement durably, or leave the file as it was and raise."""

        line = orjson.dumps(measurement) + b"\n"
        offset = os.fstat(self._fd).st_size
        try:
            view = memoryview(line)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            os.fsync(self._fd)
        except OSError as exc:
            try:
                os.ftruncate(self._fd, offset)
                os.fsync(self._fd)
            except OSError:
                pass
            raise OutputError(self.path, exc, self.written) from exc
        self.written += 1

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> JSONLWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
