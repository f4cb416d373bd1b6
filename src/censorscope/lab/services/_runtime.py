"""The life cycle shared by every service program.

``--config FILE.json`` → load → ``apply`` (bind) → print ``READY`` → wait for signals:
SIGHUP reloads the file and calls ``apply`` again (sockets still wanted stay open; a bad file
is reported on stderr and the old config keeps running); SIGTERM/SIGINT close and exit 0.
Signals are blocked in every thread and taken synchronously with ``sigwait`` in the main one.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from typing import Protocol, TypeVar

from pydantic import BaseModel

from censorscope.lab.services.config import load

__all__ = ["Service", "run"]

_C = TypeVar("_C", bound=BaseModel)
_C_contra = TypeVar("_C_contra", bound=BaseModel, contravariant=True)


class Service(Protocol[_C_contra]):
    def apply(self, config: _C_contra) -> None: ...
    def close(self) -> None: ...


def run(
    prog: str, model: type[_C], factory: Callable[[], Service[_C]], argv: list[str] | None = None
) -> int:
    """Run a service program until SIGTERM; return the exit status."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--config", required=True, help="JSON config file")
    args = parser.parse_args(argv)
    signals = {signal.SIGHUP, signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)  # inherited by every thread started later
    try:
        config = load(args.config, model)
    except Exception as exc:
        print(f"{prog}: bad config {args.config}: {exc}", file=sys.stderr)
        return 2
    service = factory()
    try:
        service.apply(config)
    except Exception as exc:
        print(f"{prog}: cannot start: {exc}", file=sys.stderr)
        service.close()
        return 1
    print("READY", flush=True)
    try:
        while True:
            sig = signal.sigwait(signals)
            if sig != signal.SIGHUP:
                return 0
            try:
                service.apply(load(args.config, model))
                print(f"{prog}: reloaded {args.config}", file=sys.stderr, flush=True)
            except Exception as exc:
                msg = f"{prog}: reload failed, keeping old config: {exc}"
                print(msg, file=sys.stderr, flush=True)
    finally:
        service.close()
