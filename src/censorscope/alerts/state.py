"""What was announced when: the alert state, kept in a JSON file next to the feed.

Why a file and not a store table: the state is about *deliveries* — what this feed and these
webhooks were told — not about measurements. Two alert set-ups over one store (a public feed,
a team's webhook) keep their own states; a ClickHouse store has no cheap row updates for a
state machine; and a DuckDB store held by a running collector can still be read by detection
without alerts needing to write into it. The file is ``FEED.state.json`` by default.

The file holds:

- ``threads``: one per story — the episodes (incident or outage ids) merged into it, its
  status (``open``/``closed``), what was last announced (scope, networks, end), a scope
  change waiting to hold, and the latest payload;
- ``alerts``: every alert made, in order, each with its delivery log (one record per sink:
  status ``pending``/``delivered``/``failed``/``rejected``, attempts, last HTTP status or
  error, time).

:func:`locked_state` holds an exclusive lock (``flock`` on ``FILE.lock``) for a whole run, so
two runs never announce the same change twice; :func:`save` replaces the file atomically.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from censorscope.durable import write_atomic

__all__ = ["STATE_VERSION", "AlertRecord", "AlertState", "Delivery", "StateError", "Thread",
           "load", "locked_state", "save"]

STATE_VERSION: Final = 1


class StateError(ValueError):
    """The state file cannot be read (not JSON, another version, a missing field)."""


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def _parse_t(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass
class Thread:
    """One story: the episodes merged into it and what was announced about it."""

    thread: str  # the id of its first episode
    kind: str
    subject: str
    ids: list[str]
    status: str  # open | closed
    scope: str | None  # announced
    asns: list[int]  # announced (only grows: a network flapping in and out alerts once)
    start: datetime
    end: datetime | None  # the latest end seen (None: ongoing)
    title: str
    payload: dict[str, Any]
    evidence: list[str]
    pending_scope: str | None = None
    pending_since: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(start=_t(self.start), end=_t(self.end), pending_since=_t(self.pending_since))
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Thread:
        d = dict(d)
        d.update(start=_parse_t(d["start"]), end=_parse_t(d["end"]),
                 pending_since=_parse_t(d.get("pending_since")))
        return cls(**d)


@dataclass
class Delivery:
    """The delivery of one alert to one sink (a webhook URL without its secrets)."""

    sink: str
    status: str = "pending"  # pending | delivered | failed | rejected
    attempts: int = 0
    http_status: int | None = None
    error: str | None = None
    at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = _t(self.at)
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Delivery:
        return cls(**{**d, "at": _parse_t(d.get("at"))})


@dataclass
class AlertRecord:
    """One alert: ``event`` (opened/updated/closed) about a thread, made at ``made_at``."""

    id: str  # "<thread>/<seq within the thread>"
    seq: int  # position in the whole state (1, 2, …)
    event: str
    kind: str
    thread: str
    made_at: datetime
    title: str
    summary: str
    body: str  # plain text: per network, since when, how, which endpoints
    payload: dict[str, Any]  # the episode's to_json() at the time of the alert
    evidence: list[dict[str, str]]  # [{"uid", "url"}]
    deliveries: list[Delivery] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(made_at=_t(self.made_at), deliveries=[d.to_json() for d in self.deliveries])
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AlertRecord:
        return cls(**{**d, "made_at": _parse_t(d["made_at"]),
                      "deliveries": [Delivery.from_json(x) for x in d.get("deliveries", [])]})


@dataclass
class AlertState:
    threads: list[Thread] = field(default_factory=list)
    alerts: list[AlertRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "threads": [t.to_json() for t in self.threads],
                "alerts": [a.to_json() for a in self.alerts]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AlertState:
        if d.get("version") != STATE_VERSION:
            raise StateError(f"state version {d.get('version')!r}, expected {STATE_VERSION}")
        return cls([Thread.from_json(t) for t in d["threads"]],
                   [AlertRecord.from_json(a) for a in d["alerts"]])


def load(path: Path) -> AlertState:
    """The state in ``path`` (an empty state when the file does not exist)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return AlertState()
    try:
        return AlertState.from_json(json.loads(data))
    except StateError as exc:
        raise StateError(f"{path}: {exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise StateError(f"{path}: not an alert state file ({exc})") from None


def save(path: Path, state: AlertState) -> None:
    write_atomic(path, json.dumps(state.to_json(), indent=1, sort_keys=True).encode() + b"\n")


@contextmanager
def locked_state(path: Path) -> Iterator[AlertState]:
    """The state of ``path`` under an exclusive lock held until the block ends (the caller
    saves with :func:`save` inside the block)."""
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield load(path)
    finally:
        os.close(fd)  # closing releases the lock
