"""Fixtures for lab runtime tests: a unique prefix per test and guaranteed teardown."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = os.geteuid() == 0


def new_prefix() -> str:
    """A fresh lab prefix ("t" + 4 hex chars) so parallel workers never collide."""
    return "t" + secrets.token_hex(2)


def lab_namespaces(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return [line.split()[0] for line in out.stdout.splitlines() if line.startswith(f"{prefix}-")]


def root_links_with(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if f"{prefix}-" in line]


def etc_netns_dirs(prefix: str) -> list[Path]:
    base = Path("/etc/netns")
    return [p for p in base.iterdir() if p.name.startswith(f"{prefix}-")] if base.exists() else []


def pids_alive(pids: list[int]) -> list[int]:
    """Those of ``pids`` that are still running processes (zombies count as gone)."""
    alive = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] != "Z":
            alive.append(pid)
    return alive


def assert_nothing_left(prefix: str, pids: list[int]) -> None:
    assert lab_namespaces(prefix) == []
    assert root_links_with(prefix) == []
    assert etc_netns_dirs(prefix) == []
    assert not Path(f"/run/censorscope/lab/{prefix}").exists()
    assert pids_alive(pids) == []


@pytest.fixture
def lab_prefix() -> str:
    if not ROOT:
        pytest.skip("lab tests need root")
    return new_prefix()


@pytest.fixture
def make_lab() -> Iterator[Callable[..., object]]:
    """``make_lab(prefix=None)`` → a :class:`Lab`; every lab made is torn down afterwards."""
    if not ROOT:
        pytest.skip("lab tests need root")
    from censorscope.lab.runtime import Lab

    made: list[Lab] = []

    def make(prefix: str | None = None) -> Lab:
        lab = Lab(prefix or new_prefix())
        made.append(lab)
        return lab

    try:
        yield make
    finally:
        for lab in made:
            lab.down()
