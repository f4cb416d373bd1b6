"""A minimal three-namespace network for the censor tests: client — router — server.

::

    cc<hex>-cli  198.18.250.2/24 ──veth── 198.18.250.1  cc<hex>-rtr  203.0.113.1 ──veth──
        203.0.113.10, .11, .12/24  cc<hex>-srv   (HTTP :80, HTTPS :443 any SNI, DNS udp/53)
    cc<hex>-res  198.18.251.2/24 ──veth── 198.18.251.1  (the "ISP resolver" host's link)

Names carry a random prefix, so parallel workers never collide; everything is torn down.
The router's client-facing interfaces are ``<prefix>rc`` (probe LAN) and ``<prefix>rr``
(resolver link), its internet side ``<prefix>rs``.
"""

from __future__ import annotations

import os
import secrets
import select
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from censorscope.lab.censor import apply_router_plan, clear_router, plan_router
from censorscope.lab.schema import Policy

SERVER_IP = "203.0.113.10"
SERVER_IP2 = "203.0.113.11"
SERVER_IP3 = "203.0.113.12"
CLIENT_IP = "198.18.250.2"
NAMES = ["tiktok.com", "www.tiktok.com", "other.example", "video.example", "site.example"]
BIG_FILE_SIZE = 1024 * 1024
HERE = Path(__file__).parent


def _sh(*argv: str, check: bool = True, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), check=check, capture_output=True, text=True, **kw)  # type: ignore[call-overload,no-any-return]


def lab_available() -> str | None:
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("ip", "iptables-restore", "tc", "curl", "dig", "openssl"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    return None


@dataclass
class Topo:
    prefix: str
    cli: str
    rtr: str
    srv: str
    res: str
    lan_if: str
    res_if: str
    wan_if: str
    state_dir: Path
    pids: list[int] = field(default_factory=list)

    def exec(self, ns: str, *argv: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
        return _sh("ip", "netns", "exec", ns, *argv, check=False, timeout=timeout)

    def client(self, *argv: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
        return self.exec(self.cli, *argv, timeout=timeout)

    def curl(
        self, url: str, *extra: str, max_time: float = 1.5
    ) -> subprocess.CompletedProcess[str]:
        return self.client(
            "curl", "-sS", "-k", "--connect-timeout", "1", "--max-time", str(max_time),
            *([] if "-o" in extra else ["-o", "-"]), *extra, url, timeout=max_time + 5,
        )

    def apply(self, policies: list[Policy]) -> list[int]:
        plan = plan_router(
            policies, lan_ifaces=[self.lan_if, self.res_if], wan_iface=self.wan_if,
            state_dir=self.state_dir,
        )
        pids = apply_router_plan(self.rtr, plan)
        self.pids.extend(pids)
        return pids

    def clear(self) -> None:
        clear_router(self.rtr, self.pids)
        self.pids.clear()


def _wait_ready(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else b""
    proc.stdout.close()
    if line.strip() != b"READY":
        raise RuntimeError("lab servers did not start")


def _build(prefix: str, tmp: Path) -> Topo:
    t = Topo(prefix, f"{prefix}-cli", f"{prefix}-rtr", f"{prefix}-srv", f"{prefix}-res",
             f"{prefix}rc", f"{prefix}rr", f"{prefix}rs", tmp / "state")
    for ns in (t.cli, t.rtr, t.srv, t.res):
        _sh("ip", "netns", "add", ns)
        _sh("ip", "-n", ns, "link", "set", "lo", "up")
    _sh("ip", "link", "add", f"{prefix}c0", "netns", t.cli, "type", "veth",
        "peer", "name", t.lan_if, "netns", t.rtr)
    _sh("ip", "link", "add", f"{prefix}s0", "netns", t.srv, "type", "veth",
        "peer", "name", t.wan_if, "netns", t.rtr)
    _sh("ip", "link", "add", f"{prefix}r0", "netns", t.res, "type", "veth",
        "peer", "name", t.res_if, "netns", t.rtr)
    _sh("ip", "-n", t.cli, "addr", "add", f"{CLIENT_IP}/24", "dev", f"{prefix}c0")
    _sh("ip", "-n", t.res, "addr", "add", "198.18.251.2/24", "dev", f"{prefix}r0")
    _sh("ip", "-n", t.rtr, "addr", "add", "198.18.251.1/24", "dev", t.res_if)
    _sh("ip", "-n", t.rtr, "addr", "add", "198.18.250.1/24", "dev", t.lan_if)
    _sh("ip", "-n", t.rtr, "addr", "add", "203.0.113.1/24", "dev", t.wan_if)
    for ip in (SERVER_IP, SERVER_IP2, SERVER_IP3):
        _sh("ip", "-n", t.srv, "addr", "add", f"{ip}/24", "dev", f"{prefix}s0")
    for ns, dev in ((t.cli, f"{prefix}c0"), (t.rtr, t.lan_if), (t.rtr, t.wan_if),
                    (t.srv, f"{prefix}s0"), (t.res, f"{prefix}r0"), (t.rtr, t.res_if)):
        _sh("ip", "-n", ns, "link", "set", dev, "up")
    _sh("ip", "-n", t.cli, "route", "add", "default", "via", "198.18.250.1")
    _sh("ip", "-n", t.srv, "route", "add", "default", "via", "203.0.113.1")
    _sh("ip", "-n", t.res, "route", "add", "default", "via", "198.18.251.1")
    _sh("ip", "netns", "exec", t.rtr, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    return t


def _make_site(tmp: Path) -> tuple[Path, Path, Path]:
    site = tmp / "site"
    site.mkdir()
    (site / "index.html").write_text(
        "<html><head><title>Real site</title></head><body>real content</body></html>\n"
    )
    (site / "big.bin").write_bytes(os.urandom(BIG_FILE_SIZE))
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    san = ",".join(f"DNS:{n}" for n in NAMES)
    _sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-subj", "/CN=censor-test", "-addext", f"subjectAltName={san}", "-days", "1",
        "-keyout", str(key), "-out", str(cert))
    return site, cert, key


@pytest.fixture(scope="module")
def topo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topo]:
    reason = lab_available()
    if reason:
        pytest.skip(f"lab tests: {reason}")
    prefix = "cc" + secrets.token_hex(2)
    tmp = tmp_path_factory.mktemp(prefix)
    site, cert, key = _make_site(tmp)
    server: subprocess.Popen[bytes] | None = None
    t: Topo | None = None
    try:
        t = _build(prefix, tmp)
        server = subprocess.Popen(
            ["ip", "netns", "exec", t.srv, sys.executable, str(HERE / "lab_servers.py"),
             "--dir", str(site), "--cert", str(cert), "--key", str(key), "--answer", SERVER_IP,
             *(f"--dns-ip={ip}" for ip in (SERVER_IP, SERVER_IP2, SERVER_IP3))],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )
        _wait_ready(server)
        yield t
    finally:
        if t is not None and t.pids:
            clear_router(t.rtr, t.pids)
        if server is not None:
            server.terminate()
            try:
                server.wait(5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        for suffix in ("cli", "rtr", "srv", "res"):
            _sh("ip", "netns", "del", f"{prefix}-{suffix}", check=False)


@pytest.fixture
def censor(topo: Topo) -> Iterator[Callable[..., list[int]]]:
    """``censor(Policy(...), ...)`` applies the policies on the router; cleared after the test."""

    def apply(*policies: Policy) -> list[int]:
        return topo.apply(list(policies))

    try:
        yield apply
    finally:
        topo.clear()

