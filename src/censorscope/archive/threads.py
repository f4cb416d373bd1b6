"""Run blocking archive work in a thread without letting a cancellation cut it loose.

``asyncio.to_thread`` cancelled from outside leaves its thread running while the caller's
locks are released, so a second seal or rotation could start on top of the first. Here the
caller, if cancelled, waits for the thread to finish before the cancellation goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["finish_in_thread"]

T = TypeVar("T")


async def finish_in_thread(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker thread, awaited to completion even if we are cancelled."""

    future = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        while not future.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(future)
        if not future.cancelled():
            future.exception()  # retrieved: an error in the abandoned work is not re-raised
        raise
