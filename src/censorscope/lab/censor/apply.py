"""Apply a router plan inside a network namespace, and clear it again.

``apply_router_plan`` loads the rules atomically with ``iptables-restore --noflush`` (declaring the
censor's chains flushes them, so applying twice replaces the rules), hooks the chains into
``FORWARD``/``PREROUTING`` once, installs the tc lines with ``tc -batch`` and starts the injector
daemon in the namespace when the plan needs one. ``clear_router`` stops the injector and removes
the chains, hooks and the censor's qdiscs. Both take a few tens of milliseconds (the injector's
start, ~0.1-0.2 s, dominates).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from censorscope.lab.censor.plan import (
    CHAIN_FORWARD,
    CHAIN_LAN,
    HOOKS,
    TC_HANDLE,
    RouterPlan,
)

READY_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 2.0


# Injector processes started by this Python process (so they can be reaped, not left as zombies).
_children: dict[int, subprocess.Popen[bytes]] = {}


class CensorError(RuntimeError):
    """A censor rule set or process could not be installed or removed."""


def _run(netns: str, argv: list[str], stdin: str | None = None, check: bool = True) -> str:
    proc = subprocess.run(
        ["ip", "netns", "exec", netns, *argv],
        input=stdin, capture_output=True, text=True, check=False,
    )
    if check and proc.returncode != 0:
        raise CensorError(
            f"{' '.join(argv)} in netns {netns} failed ({proc.returncode}): {proc.stderr.strip()}"
        )
    return proc.stdout


def _hooks(netns: str) -> set[str]:
    """The tables in which the jump from the built-in chain to the censor's chain exists."""
    saved = set(_run(netns, ["iptables-save"]).splitlines())
    return {table for table, builtin, chain in HOOKS if f"-A {builtin} -j {chain}" in saved}


def _with_hooks(text: str, hooked: set[str]) -> str:
    missing = {table: (builtin, chain) for table, builtin, chain in HOOKS if table not in hooked}
    out: list[str] = []
    table = ""
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:]
        if line == "COMMIT" and table in missing:
            builtin, chain = missing[table]
            out.append(f"-I {builtin} 1 -j {chain}")
        out.append(line)
    return "\n".join(out) + "\n"


def _censor_qdisc_ifaces(netns: str) -> list[str]:
    out = _run(netns, ["tc", "qdisc", "show"], check=False)
    ifaces = []
    for line in out.splitlines():
        parts = line.split()
        # "qdisc htb c5: dev X root refcnt 2 ..."
        if len(parts) > 4 and parts[1] == "htb" and parts[2] == f"{TC_HANDLE}:" and "root" in parts:
            ifaces.append(parts[parts.index("dev") + 1])
    return ifaces


def _clear_tc(netns: str) -> None:
    ifaces = _censor_qdisc_ifaces(netns)
    if ifaces:
        batch = "".join(f"qdisc del dev {i} root\n" for i in ifaces)
        _run(netns, ["tc", "-force", "-batch", "-"], stdin=batch, check=False)


def _start_injector(netns: str, plan: RouterPlan) -> int:
    assert plan.injector is not None
    plan.state_dir.mkdir(parents=True, exist_ok=True)
    cfg = plan.state_dir / f"injector-{netns}-q{plan.injector.queue_num}.json"
    plan.injector.write(cfg)
    log = plan.state_dir / f"injector-{netns}-q{plan.injector.queue_num}.log"
    with open(log, "ab") as log_f:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, sys.executable, "-m",
             "censorscope.lab.censor.injector", "--config", str(cfg)],
            stdout=subprocess.PIPE, stderr=log_f, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _children[proc.pid] = proc
    assert proc.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT_S
    line = b""
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
            if ready:
                line = proc.stdout.readline()
                break
    finally:
        proc.stdout.close()
    if line.strip() != b"READY":
        _stop_pid(proc.pid)
        tail = log.read_text(errors="replace")[-2000:]
        raise CensorError(f"injector in {netns} did not become ready: {tail}")
    return proc.pid


def apply_router_plan(netns: str, plan: RouterPlan) -> list[int]:
    """Install ``plan`` in router namespace ``netns``; return the pids of processes started."""
    hooked = _hooks(netns)
    try:
        _run(netns, ["iptables-restore", "--noflush"], stdin=_with_hooks(plan.iptables, hooked))
    except CensorError as exc:
        raise CensorError(f"{exc}\n--- rules ---\n{plan.iptables}") from exc
    _clear_tc(netns)
    if plan.tc:
        _run(netns, ["tc", "-batch", "-"], stdin="".join(line + "\n" for line in plan.tc))
    pids: list[int] = []
    if plan.injector is not None:
        pids.append(_start_injector(netns, plan))
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - not ours
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _stop_pid(pid: int) -> None:
    proc = _children.pop(pid, None)
    if proc is not None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def clear_router(netns: str, pids: list[int]) -> None:
    """Stop the injector(s) ``pids`` and remove every censor rule and qdisc from ``netns``."""
    for pid in pids:
        _stop_pid(pid)
    hooked = _hooks(netns)
    lines: list[str] = []
    for table, builtin, chain in HOOKS:
        chains = [chain, CHAIN_LAN] if chain == CHAIN_FORWARD else [chain]
        lines += [f"*{table}", *(f":{c} - [0:0]" for c in chains)]
        if table in hooked:
            lines.append(f"-D {builtin} -j {chain}")
        lines += [*(f"-X {c}" for c in chains), "COMMIT"]
    text = "\n".join(lines) + "\n"
    _run(netns, ["iptables-restore", "--noflush"], stdin=text)
    _clear_tc(netns)
