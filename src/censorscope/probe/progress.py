"""Progress of a run on stderr: a redrawn bar on a terminal, one plain line per URL otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Counts finished measurements out of ``total``."""

    def __init__(self, total: int, *, stream: TextIO | None = None, tty: bool | None = None,
                 enabled: bool = True) -> None:
        self.total = total
        self.done = 0
        self.running = 0
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.enabled = enabled
        self._start = time.monotonic()
        self._drawn = False

    def started(self, url: str) -> None:
        self.running += 1
        if self.tty:
            self._draw(url)

    def finished(self, url: str, verdict: str) -> None:
        self.running -= 1
        self.done += 1
        if not self.enabled:
            return
        if self.tty:
            self._draw(url)
        else:
            self.stream.write(f"[{self.done}/{self.total}] {url} {verdict}\n")
            self.stream.flush()

    def _draw(self, url: str) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * self.done // max(self.total, 1)
        elapsed = time.monotonic() - self._start
        rate = self.done / elapsed * 60 if elapsed > 0 else 0.0
        line = (
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
            f"({self.running} running, {rate:.0f}/min) {url[:40]}"
        )
        self.stream.write(line.ljust(100)[:100])
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the bar's line so later output starts on a fresh line."""

        if self.tty and self._drawn and self.enabled:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
