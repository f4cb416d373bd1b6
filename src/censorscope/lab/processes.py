"""Start, track and stop the lab's processes.

A process is identified by its pid *and* its start time (``/proc/<pid>/stat`` field 22), so a
recycled pid is never signalled. Services are spawned with ``posix_spawn`` (fast, no ``Popen``
objects left behind) inside their namespace via ``ip netns exec``, in a new session, with stdout
on a pipe for the readiness line (``READY``) and stderr in a log file.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from censorscope.lab import netns
from censorscope.lab.errors import LabError

READY_LINE = b"READY\n"  # the whole line: the newline may come in a second write
READY_TIMEOUT_S = 8.0
STOP_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Tracked:
    """A process the lab started."""

    name: str
    pid: int
    start: int
    netns: str
    log: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Tracked:
        return cls(**d)


def start_time(pid: int) -> int | None:
    """Kernel start time of ``pid`` (clock ticks since boot), None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def alive(p: Tracked) -> bool:
    return start_time(p.pid) == p.start


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


@dataclass
class Pending:
    """A spawned process whose readiness line is still awaited."""

    proc: Tracked
    fd: int | None


def spawn(name: str, ns: str, argv: Sequence[str], log: Path, *, ready: bool = True) -> Pending:
    """Start ``argv`` in namespace ``ns``; with ``ready``, its stdout is piped for ``READY``."""
    ip = shutil.which("ip") or "/usr/sbin/ip"
    full = netns.exec_argv(ns, argv)
    log.parent.mkdir(parents=True, exist_ok=True)
    rfd = wfd = None
    actions: list[tuple[Any, ...]] = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
    ]
    if ready:
        rfd, wfd = os.pipe()
        actions += [(os.POSIX_SPAWN_DUP2, wfd, 1), (os.POSIX_SPAWN_CLOSE, rfd)]
    else:
        actions.append((os.POSIX_SPAWN_DUP2, 2, 1))
    env = dict(os.environ)
    try:
        pid = os.posix_spawn(ip, full, env, file_actions=actions, setsid=True)
    finally:
        if wfd is not None:
            os.close(wfd)
    st = start_time(pid)
    return Pending(Tracked(name, pid, st or 0, ns, str(log)), rfd)


def _tail(path: str, n: int = 1500) -> str:
    try:
        return Path(path).read_text(errors="replace")[-n:].strip()
    except OSError:
        return ""


def wait_ready(pending: Iterable[Pending], timeout: float = READY_TIMEOUT_S) -> list[Tracked]:
    """Wait until every pending process printed ``READY``; raise naming the first that did not."""
    waiting = {p.fd: p for p in pending if p.fd is not None}
    done = [p.proc for p in pending if p.fd is None]
    buffers: dict[int, bytes] = dict.fromkeys(waiting, b"")
    deadline = time.monotonic() + timeout
    failure: str | None = None
    try:
        while waiting and failure is None:
            left = deadline - time.monotonic()
            if left <= 0:
                p = next(iter(waiting.values()))
                failure = f"{p.proc.name} did not become ready within {timeout:.0f} s"
                break
            readable, _, _ = select.select(list(waiting), [], [], min(left, 0.5))
            for fd in readable:
                chunk = os.read(fd, 4096)
                p = waiting[fd]
                if not chunk:
                    _reap(p.proc.pid)
                    failure = f"{p.proc.name} exited before it was ready"
                    break
                buffers[fd] += chunk
                if READY_LINE in buffers[fd]:
                    os.close(fd)
                    del waiting[fd]
                    done.append(p.proc)
    finally:
        for fd in waiting:
            os.close(fd)
    if failure is not None:
        p_log = next((p.proc.log for p in pending if p.proc.name in failure), "")
        raise LabError(f"{failure}; log {p_log}:\n{_tail(p_log)}")
    return done


def stop(procs: Iterable[Tracked], timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the live processes, SIGKILL what is left after ``timeout``, reap our children."""
    live = [p for p in procs if alive(p)]
    for p in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while live and time.monotonic() < deadline:
        for p in live:
            _reap(p.pid)
        live = [p for p in live if alive(p)]
        if live:
            time.sleep(0.01)
    for p in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGKILL)
    for p in live:
        _wait_gone(p.pid, p.start)


def _wait_gone(pid: int, start: int | None, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        st = start_time(pid)
        if st is None or (start is not None and st != start):
            return
        time.sleep(0.01)


def kill_namespace_processes(names: Iterable[str]) -> None:
    """SIGKILL every process still running inside the namespaces ``names`` and wait for them."""
    victims: list[tuple[int, int | None]] = []
    for ns in names:
        for pid in netns.pids(ns):
            if pid == os.getpid():
                continue
            victims.append((pid, start_time(pid)))
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for pid, st in victims:
        _wait_gone(pid, st)


def signal_proc(p: Tracked, sig: int) -> None:
    if alive(p):
        os.kill(p.pid, sig)
