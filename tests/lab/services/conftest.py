"""Fixtures: run the lab service programs for real, as subprocesses on loopback addresses.

Each program gets a unique ``127.a.b.*`` block, so fixed high ports never collide between tests
or xdist workers. ``start_service`` waits for the ``READY`` line (with a deadline), and on
teardown sends SIGTERM and checks the program exited cleanly.
"""

from __future__ import annotations

import json
import os
import random
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

READY_DEADLINE_S = 10.0


@dataclass
class Service:
    """A running service program."""

    proc: subprocess.Popen[str]
    config_path: Path
    ready_after_s: float

    def rewrite(self, config: dict[str, Any]) -> None:
        """Write a new config and SIGHUP the program."""
        self.config_path.write_text(json.dumps(config))
        self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode


def _wait_ready(proc: subprocess.Popen[str]) -> str:
    """The first stdout line, or '' if the program exits or the deadline passes."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=READY_DEADLINE_S):
            return ""
    return proc.stdout.readline()


def launch(module: str, config: dict[str, Any], path: Path) -> tuple[Service, str]:
    """Start ``censorscope.lab.services.<module>``; return it and its first stdout line."""
    path.write_text(json.dumps(config))
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", f"censorscope.lab.services.{module}", "--config", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    first = _wait_ready(proc)
    return Service(proc, path, time.monotonic() - started), first


StartService = Callable[[str, dict[str, Any]], Service]


def _starter(tmp: Path) -> tuple[StartService, list[Service]]:
    running: list[Service] = []
    counter = iter(range(1000))

    def start(module: str, config: dict[str, Any]) -> Service:
        svc, first = launch(module, config, tmp / f"{module}-{next(counter)}.json")
        running.append(svc)
        if first != "READY\n":
            svc.stop()
            assert svc.proc.stderr is not None
            pytest.fail(f"{module} did not print READY (got {first!r})")
        return svc

    return start, running


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[StartService]:
    start, running = _starter(tmp_path)
    yield start
    codes = [svc.stop() for svc in running]
    assert all(code == 0 for code in codes), f"service exit codes {codes}"


@pytest.fixture(scope="module")
def start_module_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartService]:
    start, running = _starter(tmp_path_factory.mktemp("svc"))
    yield start
    codes = [svc.stop() for svc in running]
    assert all(code == 0 for code in codes), f"service exit codes {codes}"


def new_block() -> str:
    """A random ``127.a.b.`` prefix for one test's addresses."""
    return f"127.{random.randint(2, 250)}.{random.randint(1, 250)}."


@pytest.fixture
def block() -> str:
    return new_block()


@pytest.fixture(scope="module")
def module_block() -> Callable[[], str]:
    """Hands out fresh address blocks to module-scoped fixtures."""
    return new_block


@pytest.fixture
def launch_service() -> Callable[[str, dict[str, Any], Path], tuple[Service, str]]:
    """``launch`` itself, for tests of failing start-ups (the caller stops the service)."""
    return launch


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("certs")
