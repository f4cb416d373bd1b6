"""Thin wrappers over iproute2 for network namespaces: create in batches, list, clean up.

Every lab namespace is named ``<prefix>-<host>``; prefixes contain no dash, so ``<prefix>-`` finds
exactly one lab's namespaces even when its state file is gone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from censorscope.lab.errors import LabError

NETNS_DIR = Path("/run/netns")
ETC_NETNS = Path("/etc/netns")
PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,5}$")


def check_prefix(prefix: str) -> str:
    """Validate a lab prefix (1–6 chars, lowercase letters and digits, no dash)."""
    if not PREFIX_RE.match(prefix):
        raise LabError(
            f"bad lab prefix {prefix!r}: use 1-6 lowercase letters/digits, starting with a letter"
        )
    return prefix


def ns_name(prefix: str, host: str) -> str:
    return f"{prefix}-{host}"


def list_namespaces(prefix: str) -> list[str]:
    """Names of the existing namespaces of the lab ``prefix``."""
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.startswith(f"{prefix}-"))


def exists(ns: str) -> bool:
    return (NETNS_DIR / ns).exists()


def ip_batch(lines: Iterable[str], netns: str | None = None) -> subprocess.Popen[bytes]:
    """Start ``ip [-n NS] -batch -`` fed with ``lines``; call :func:`wait_batch` on the result."""
    argv = ["ip", *(["-n", netns] if netns else []), "-batch", "-"]
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None
    proc.stdin.write(("\n".join(lines) + "\n").encode())
    proc.stdin.close()
    proc.stdin = None  # communicate() must not flush it again
    return proc


def wait_batch(proc: subprocess.Popen[bytes], what: str) -> None:
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise LabError(f"{what}: {err.decode(errors='replace').strip()}")


def run_batch(lines: Sequence[str], netns: str | None = None, what: str = "ip") -> None:
    wait_batch(ip_batch(lines, netns), what)


def exec_argv(ns: str, argv: Sequence[str]) -> list[str]:
    """The argv that runs ``argv`` inside namespace ``ns`` (with its /etc/netns files)."""
    return ["ip", "netns", "exec", ns, *argv]


def pids(ns: str) -> list[int]:
    """Processes whose network namespace is ``ns``."""
    res = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, check=False)
    return [int(x) for x in res.stdout.split() if x.isdigit()]


def delete(names: Iterable[str]) -> None:
    """Delete namespaces (their interfaces, bridges, rules and qdiscs go with them)."""
    lines = [f"netns delete {n}" for n in names if exists(n)]
    if lines:
        res = subprocess.run(
            ["ip", "-force", "-batch", "-"], input="\n".join(lines) + "\n",
            capture_output=True, text=True, check=False,
        )
        left = [n for n in names if exists(n)]
        if left:
            raise LabError(f"could not delete namespaces {left}: {res.stderr.strip()}")


def write_etc(ns: str, nameserver: str, hostname: str) -> None:
    """/etc/netns/<ns>/{resolv.conf,hosts}: programs run in ``ns`` resolve through the lab."""
    d = ETC_NETNS / ns
    d.mkdir(parents=True, exist_ok=True)
    (d / "resolv.conf").write_text(
        f"# censorscope lab {ns}\nnameserver {nameserver}\noptions timeout:2 attempts:1\n"
    )
    (d / "hosts").write_text(f"127.0.0.1\tlocalhost {hostname}\n::1\tlocalhost ip6-localhost\n")


def etc_dirs(prefix: str) -> list[Path]:
    try:
        return sorted(p for p in ETC_NETNS.iterdir() if p.name.startswith(f"{prefix}-"))
    except FileNotFoundError:
        return []


def remove_etc(prefix: str) -> None:
    for d in etc_dirs(prefix):
        shutil.rmtree(d, ignore_errors=True)
