"""When this probe last measured each input: the local history behind ``--max-runtime``.

One small JSON file (default ``$XDG_STATE_HOME/censorscope/url-history.json``, i.e.
``~/.local/state/censorscope/url-history.json``; ``probe run --history PATH`` changes it)::

    {"version": 1,
     "networks": {"AS29049": {"web_connectivity": {"https://x.org/": ["2026-12-04T17:00:00Z"]}}}}

Per network (the probe's ASN: what was measured from one network says nothing about another)
and experiment, each input keeps the times it was measured within :data:`WINDOW` (OONI counts
the current and the previous week) and always its latest one. The file is replaced atomically
(``durable.write_atomic``), so a crash leaves the old history or the new one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from censorscope.durable import write_atomic

__all__ = ["WINDOW", "History", "HistoryError", "Seen", "default_history_path"]

WINDOW = timedelta(days=7)
_MAX_TIMES = 64  # per input: enough to count a busy week, small enough to stay tiny
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class HistoryError(ValueError):
    """The history file cannot be read or is not a history."""


def default_history_path() -> Path:
    """``$XDG_STATE_HOME/censorscope/url-history.json`` (``~/.local/state/…`` by default)."""

    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "censorscope" / "url-history.json"


@dataclass(frozen=True)
class Seen:
    """How often an input was measured within the window, and when last (``None``: never)."""

    count: int = 0
    last: datetime | None = None


def _parse_time(text: Any, where: str) -> datetime:
    try:
        return datetime.strptime(str(text), _FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise HistoryError(f"{where}: {text!r} is not a time like 2026-12-04T17:00:00Z") from exc


@dataclass
class History:
    """The history file's content; :meth:`note` what was measured, :meth:`save` it."""

    path: Path
    networks: dict[str, dict[str, dict[str, list[datetime]]]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> History:
        """Read ``path`` (missing: an empty history); :class:`HistoryError` naming the file
        when it is not one."""

        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except OSError as exc:
            raise HistoryError(f"cannot read history {path}: {exc.strerror}") from exc
        except ValueError as exc:
            raise HistoryError(f"history {path} is not valid JSON: {exc}") from exc
        if not isinstance(raw, dict) or raw.get("version") != 1 \
                or not isinstance(raw.get("networks"), dict):
            raise HistoryError(f"history {path}: not a censorscope history (version 1)")
        out = cls(path)
        for network, experiments in raw["networks"].items():
            for experiment, inputs in (experiments or {}).items():
                table = out.networks.setdefault(network, {}).setdefault(experiment, {})
                for key, times in (inputs or {}).items():
                    where = f"history {path}: {network}/{experiment}/{key}"
                    table[key] = sorted(_parse_time(t, where) for t in times)
        return out

    def seen(self, network: str, experiment: str, key: str, now: datetime) -> Seen:
        """Measurements of ``key`` within :data:`WINDOW` before ``now``, and the last one."""

        times = self.networks.get(network, {}).get(experiment, {}).get(key, [])
        if not times:
            return Seen()
        return Seen(sum(1 for t in times if now - t <= WINDOW), times[-1])

    def note(self, network: str, experiment: str, key: str, when: datetime) -> None:
        """Record that ``key`` was measured at ``when`` (older times beyond the window go)."""

        table = self.networks.setdefault(network, {}).setdefault(experiment, {})
        times = sorted([*table.get(key, []), when.astimezone(UTC).replace(microsecond=0)])
        recent = [t for t in times[:-1] if times[-1] - t <= WINDOW]
        table[key] = [*recent, times[-1]][-_MAX_TIMES:]

    def save(self) -> None:
        """Replace the file atomically (its directory is created)."""

        data = {"version": 1, "networks": {
            network: {exp: {key: [t.strftime(_FORMAT) for t in times]
                            for key, times in sorted(inputs.items())}
                      for exp, inputs in sorted(experiments.items())}
            for network, experiments in sorted(self.networks.items())}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps(data, indent=1).encode() + b"\n", 0o644)
