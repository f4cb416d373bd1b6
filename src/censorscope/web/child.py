"""``censorscope serve`` in a child process, ready when its pages answer: what the demo starts
for the explorer, and what the web, packaging and end-to-end tests start against a real server.

:func:`free_port` picks the asked port when it is free (else one the kernel picks), binding as
the server will (``SO_REUSEADDR``: connections of a previous run in TIME_WAIT do not keep the
port). :func:`serving` starts ``command serve --store URL --host H --port P [args]``, waits until
each of ``ready`` paths answers 200 (failing early, with the end of the server's log, if the
server exits), yields the process and its base URL, and stops it with SIGINT at the end (SIGKILL
if it has not stopped in 30 s).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

__all__ = ["free_port", "serving"]


def free_port(preferred: int = 0, host: str = "127.0.0.1") -> int:
    """``preferred`` if nothing listens there, else a port the kernel picks."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free TCP port")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(log: Path) -> str:
    with contextlib.suppress(OSError):
        return log.read_text("utf-8", errors="replace")[-2000:]
    return ""


@contextlib.contextmanager
def serving(command: Sequence[str], store_url: str, port: int, log: Path, *,
            host: str = "127.0.0.1", args: Sequence[str] = (),
            ready: Sequence[str] = ("/",), wait: float = 60.0,
            cwd: Path | None = None, env: Mapping[str, str] | None = None,
            ) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``command serve`` (``command`` is how to run censorscope, e.g. ``["censorscope"]``) on
    the store at ``store_url``; its output goes to ``log``. Yields the process and its base URL
    once every path of ``ready`` answers 200."""
    base = f"http://{host}:{port}"
    with log.open("ab") as fh:
        proc = subprocess.Popen([*command, "serve", "--store", store_url, "--host", host,
                                 "--port", str(port), *args], stdout=fh,
                                stderr=subprocess.STDOUT, cwd=cwd,
                                env=dict(env) if env is not None else None)
    try:
        deadline = time.monotonic() + wait
        while not all(_answers(base + path) for path in ready):
            if proc.poll() is not None:
                raise RuntimeError(f"censorscope serve exited ({proc.returncode}); its log "
                                   f"{log} ends:\n{_tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"censorscope serve did not answer at {base} in "
                                   f"{wait:.0f} s; see {log}")
            time.sleep(0.2)
        yield proc, base
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
