"""The probe's durable upload queue: measurements wait here until a collector acknowledges them.

A directory of files that survives crashes and restarts::

    <queue>/pending/<entry>.json        the measurement, exactly as it will be sent
    <queue>/pending/<entry>.state       attempts, next attempt time, last error, report_id
    <queue>/refused/<entry>.json        refused by the collector (a 4xx): kept, not retried
    <queue>/refused/<entry>.error.json  why it was refused
    <queue>/acked.jsonl                 one line per acknowledged entry with its measurement_uid

Every file is written to a temporary name, fsync'd, then renamed into place, so an entry is
either fully there or not at all. An entry is deleted only after the collector has answered
with a measurement_uid (or deliberately discarded it), never before.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from censorscope.durable import fsync_dir as _fsync_dir
from censorscope.durable import write_atomic as _write_atomic

__all__ = ["Backoff", "Entry", "UploadQueue", "default_queue_dir"]


def default_queue_dir() -> Path:
    """``$XDG_DATA_HOME/censorscope/upload-queue`` (``~/.local/share/…`` by default)."""

    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "censorscope" / "upload-queue"


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: attempt n waits ``U(1-jitter, 1) × min(cap, base·2ⁿ⁻¹)``."""

    base: float = 2.0
    cap: float = 600.0
    jitter: float = 0.5

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        raw = min(self.cap, self.base * 2.0 ** min(max(0, attempts - 1), 60))
        low = 1.0 - self.jitter
        draw = rng.uniform(low, 1.0) if rng is not None else random.uniform(low, 1.0)
        return raw * draw


@dataclass
class Entry:
    """One queued measurement and its delivery state."""

    id: str
    path: Path
    attempts: int = 0
    next_attempt: float = 0.0
    last_error: str | None = None
    report_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> bytes:
        return self.path.read_bytes()


class UploadQueue:
    """The queue directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.pending_dir = self.root / "pending"
        self.refused_dir = self.root / "refused"
        for directory in (self.root, self.pending_dir, self.refused_dir):
            directory.mkdir(parents=True, exist_ok=True)
        for stale in self.pending_dir.glob(".*.tmp"):  # a crash in the middle of a write
            stale.unlink(missing_ok=True)

    def put(self, measurement: dict[str, Any] | bytes) -> str:
        """Queue a measurement durably; its entry id."""

        body = measurement if isinstance(measurement, bytes) else orjson.dumps(measurement)
        entry_id = f"{time.time_ns():020d}-{hashlib.sha256(body).hexdigest()[:16]}"
        _write_atomic(self.pending_dir / f"{entry_id}.json", body)
        return entry_id

    def _state_path(self, entry_id: str) -> Path:
        return self.pending_dir / f"{entry_id}.state"

    def _entry(self, path: Path) -> Entry:
        entry = Entry(id=path.stem, path=path)
        try:
            state = orjson.loads(self._state_path(entry.id).read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return entry
        entry.attempts = int(state.get("attempts", 0))
        entry.next_attempt = float(state.get("next_attempt", 0.0))
        entry.last_error = state.get("last_error")
        entry.report_id = state.get("report_id")
        return entry

    def pending(self) -> list[Entry]:
        """Every entry awaiting acknowledgement, oldest first."""

        return [self._entry(p) for p in sorted(self.pending_dir.glob("*.json"))]

    def due(self, now: float | None = None) -> list[Entry]:
        """The pending entries whose backoff has expired."""

        moment = time.time() if now is None else now
        return [e for e in self.pending() if e.next_attempt <= moment]

    def refused(self) -> list[tuple[str, dict[str, Any]]]:
        """``(entry id, error)`` of every refused entry."""

        out = []
        for path in sorted(self.refused_dir.glob("*.error.json")):
            out.append((path.name[: -len(".error.json")], orjson.loads(path.read_bytes())))
        return out

    def _save_state(self, entry: Entry) -> None:
        _write_atomic(self._state_path(entry.id), orjson.dumps({
            "attempts": entry.attempts, "next_attempt": entry.next_attempt,
            "last_error": entry.last_error, "report_id": entry.report_id,
        }))

    def remember_report(self, entry: Entry, report_id: str) -> None:
        """Pin the report an entry is submitted to, so a retry re-sends identical bytes."""

        entry.report_id = report_id
        self._save_state(entry)

    def defer(self, entry: Entry, error: str, backoff: Backoff, now: float | None = None) -> None:
        """A failed attempt that may succeed later: wait, with backoff."""

        entry.attempts += 1
        entry.last_error = error
        entry.next_attempt = (time.time() if now is None else now) + backoff.delay(entry.attempts)
        self._save_state(entry)

    def ack(self, entry: Entry, measurement_uid: str | None) -> None:
        """The collector has the measurement: log its uid, then delete the entry."""

        line = orjson.dumps({"entry": entry.id, "measurement_uid": measurement_uid,
                             "report_id": entry.report_id, "acked_at": time.time()})
        fd = os.open(self.root / "acked.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        entry.path.unlink(missing_ok=True)
        self._state_path(entry.id).unlink(missing_ok=True)
        _fsync_dir(self.pending_dir)

    def refuse(self, entry: Entry, status: int, error: Any) -> None:
        """The collector refused it (4xx): move it aside with the error; no more retries."""

        _write_atomic(self.refused_dir / f"{entry.id}.error.json", orjson.dumps({
            "status": status, "error": error, "attempts": entry.attempts + 1,
            "report_id": entry.report_id, "refused_at": time.time(),
        }))
        os.replace(entry.path, self.refused_dir / entry.path.name)
        self._state_path(entry.id).unlink(missing_ok=True)
        _fsync_dir(self.refused_dir)
        _fsync_dir(self.pending_dir)

    def acked(self) -> list[dict[str, Any]]:
        """Every acknowledgement logged so far."""

        path = self.root / "acked.jsonl"
        if not path.exists():
            return []
        return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
