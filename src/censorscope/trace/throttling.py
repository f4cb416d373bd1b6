"""The throttling sampler (OONI's ``internal/throttling``): ``bytes_received_cumulative`` events.

While a flow runs, a ``ThrottlingSampler`` asks its ``Trace`` for a snapshot of the bytes
received so far per ``address``/``proto`` at memoryless intervals (exponentially distributed,
mean 250 ms, clamped to 25–650 ms, as OONI's ``memoryless.Ticker``); stopping it takes one
last snapshot, so the final sample of a connection equals every byte read from it.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from censorscope.trace.trace import Trace

__all__ = ["SamplerInterval", "ThrottlingSampler"]


@dataclass(frozen=True)
class SamplerInterval:
    """The memoryless ticker's distribution, in seconds (OONI's defaults)."""

    mean: float = 0.25
    min: float = 0.025
    max: float = 0.65

    def draw(self, rng: random.Random) -> float:
        """One interval: exponential with mean ``mean``, clamped to [``min``, ``max``]."""

        return min(max(rng.expovariate(1.0 / self.mean), self.min), self.max)


class ThrottlingSampler:
    """Samples ``trace``'s received-bytes counters until ``stop`` (one per flow)."""

    def __init__(
        self, trace: Trace, interval: SamplerInterval | None = None, *, seed: int | None = None
    ) -> None:
        self.trace = trace
        self.interval = interval or SamplerInterval()
        self._rng = random.Random(seed)
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    def start(self) -> None:
        """Start sampling in a background task (needs a running loop)."""

        if self._task is None and not self._stopped:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval.draw(self._rng))
            self.trace.sample_bytes_received(time.monotonic())

    async def stop(self) -> None:
        """Take the final snapshot, then end the background task (idempotent)."""

        if self._stopped:
            return
        self._stopped = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        self.trace.sample_bytes_received(time.monotonic())
        if task is not None:
            await asyncio.wait([task])
