"""Helpers for end-to-end tests: a lab under a fresh prefix, and the probe run inside it.

The probe runs as a real process inside the probe host's network namespace
(``censorscope lab exec <isp>-p1 -- censorscope probe run …``), exactly as a user would run it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from censorscope.lab.runtime import Lab, LabState
from censorscope.lab.schema import Scenario

CENSORSCOPE = str(Path(sys.executable).with_name("censorscope"))

requires_root = pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root")

# Short steps: the lab is one machine, so 2-3 s is plenty for anything that is not blocked.
LAB_TIMEOUTS = [
    "--dns-timeout", "2", "--tcp-timeout", "2", "--tls-timeout", "2",
    "--http-timeout", "4", "--control-timeout", "12",
]


def _leftovers(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return [ln.split()[0] for ln in out.stdout.splitlines() if ln.startswith(f"{prefix}-")]


def new_prefix() -> str:
    """An unused lab prefix (1-6 characters) unique to this test process."""
    while True:
        prefix = "e" + secrets.token_hex(2)
        if not _leftovers(prefix):
            return prefix


@contextlib.contextmanager
def lab_running(
    scenario: str | Scenario, phase: str | None = None
) -> Iterator[tuple[Lab, LabState]]:
    """Bring ``scenario`` up under a fresh prefix; always tear it down and check nothing is left."""
    lab = Lab(new_prefix())
    try:
        state = lab.up(scenario, phase)
        yield lab, state
    finally:
        lab.down()
        assert _leftovers(lab.prefix) == []


def probe_run(
    lab: Lab, state: LabState, isp: str, inputs: list[str], out: Path, *extra: str,
    timeout: float = 120,
) -> list[dict[str, Any]]:
    """Run ``censorscope probe run`` in the first probe host of ``isp``; return the measurements."""
    host = state.probe_hosts(isp)[0]
    argv = [CENSORSCOPE, "probe", "run", "--config", str(state.state_dir / f"probe-{isp}.json"),
            "--no-progress", "-o", str(out), *LAB_TIMEOUTS, *extra]
    for url in inputs:
        argv += ["--input", url]
    proc = lab.exec(host, argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
