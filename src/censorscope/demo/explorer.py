"""The explorer over the demo's store: ``censorscope serve`` on a free port (the asked one
when it is free), ready when its pages answer; stopped with SIGTERM (then SIGKILL)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

__all__ = ["free_port", "serving"]


def free_port(preferred: int, host: str = "127.0.0.1") -> int:
    """``preferred`` if nothing listens there, else a port the kernel picks."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # as the server will bind it: connections of a previous run in TIME_WAIT do not
            # keep the port from being used again
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free TCP port")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def serving(cli: str, store_url: str, port: int, log: Path, host: str = "127.0.0.1",
            wait: float = 60.0) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``censorscope serve`` in the background; yields it and its base URL once ``/`` and
    ``/api/v1/incidents`` answer 200; stops it at the end."""
    base = f"http://{host}:{port}"
    with log.open("ab") as fh:
        proc = subprocess.Popen([cli, "serve", "--store", store_url, "--host", host,
                                 "--port", str(port)], stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + wait
        while not (_answers(base + "/") and _answers(base + "/api/v1/incidents")):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the explorer did not come up at {base}; see {log}")
            time.sleep(0.2)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
