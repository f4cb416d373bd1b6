"""Fixtures for the control's hostile-client tests (``test_control_*``; their names start with
``control_`` or end with ``_control``): a DNS zone and HTTP sites on loopback (in a background
loop), canary listeners, and real ``censorscope control serve`` processes."""

from __future__ import annotations

import contextlib
import select
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.control.sites import (
    ControlProcess,
    DNSZone,
    LoopThread,
    Site,
    start_control,  # noqa: F401 (a fixture, used by name)
    start_dns,
    start_site,
    stop_dns,
    stop_sites,
)


@dataclass
class Canary:
    """Listeners on every local IPv4 address (``0.0.0.0``) and, if there is IPv6, every local
    IPv6 address (``::``), on one port: any connection the control makes to this machine on
    that port — through any spelling of a local address — shows up here."""

    port: int
    sockets: list[socket.socket] = field(default_factory=list)

    @classmethod
    def open(cls) -> Canary:
        v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        v4.bind(("0.0.0.0", 0))
        v4.listen(64)
        v4.setblocking(False)
        canary = cls(int(v4.getsockname()[1]), [v4])
        with contextlib.suppress(OSError):
            v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            v6.bind(("::", canary.port))
            v6.listen(64)
            v6.setblocking(False)
            canary.sockets.append(v6)
        return canary

    def connections(self, wait: float = 0.2) -> int:
        """Connections accepted since the last call (waiting ``wait`` s for the first)."""

        count = 0
        ready, _, _ = select.select(self.sockets, [], [], wait)
        while ready:
            for sock in ready:
                with contextlib.suppress(BlockingIOError):
                    conn, _ = sock.accept()
                    conn.close()
                    count += 1
            ready, _, _ = select.select(self.sockets, [], [], 0)
        return count

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


@dataclass
class Env:
    loop: LoopThread
    zone: DNSZone
    dns: str
    site: Site

    def args(self, *extra: str) -> list[str]:
        return ["--listen", "127.0.0.1:0", "--resolver", f"udp://{self.dns}", "--timeout", "2",
                *extra]


@pytest.fixture(scope="module")
def control_lab() -> Iterator[Env]:
    loop = LoopThread()

    async def setup() -> tuple[DNSZone, str, Site]:
        zone, dns = await start_dns()
        site = await start_site("127.0.0.1")
        return zone, dns, site

    zone, dns, site = loop.run(setup())
    zone.records["ok.test"] = ["127.0.0.1"]
    try:
        yield Env(loop, zone, dns, site)
    finally:
        async def teardown() -> None:
            await stop_sites([site])
            await stop_dns(zone)

        loop.run(teardown())
        loop.close()


@pytest.fixture
def control_canary() -> Iterator[Canary]:
    c = Canary.open()
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def strict_control(control_lab: Env, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[ControlProcess]:
    """A control as on the internet: no ``--allow-range``."""

    proc = ControlProcess(control_lab.args(), tmp_path_factory.mktemp("strict") / "control.log")
    try:
        yield proc
    finally:
        proc.close()
