"""Fixtures: loopback sites + DNS zone in a background loop, and control processes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from dnslib import RCODE

from .sites import (  # start_control: a fixture, used by name
    CA,
    ControlProcess,
    DNSZone,
    LoopThread,
    Site,
    server_context,
    start_control,  # noqa: F401
    start_dns,
    start_site,
    stop_dns,
    stop_sites,
)

TEST_ASN = 64500


@dataclass
class Loopback:
    """Everything the control is tested against."""

    loop: LoopThread
    ca: CA
    zone: DNSZone
    dns: str  # "ip:port"
    http: Site
    https: Site
    expired: Site
    wrong_host: Site
    closed_port: int
    asn_table: str

    def base_args(self) -> list[str]:
        return [
            "--listen", "127.0.0.1:0",
            "--resolver", f"udp://{self.dns}",
            "--ca-file", self.ca.ca_file,
            "--asn-table", self.asn_table,
            "--timeout", "2",
        ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def loopback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loopback]:
    directory = tmp_path_factory.mktemp("control-pki")
    ca = CA.create(directory)
    ok_ctx = server_context(*ca.issue("ok", ["ok.test", "hang.test"]))
    expired_ctx = server_context(*ca.issue("expired", ["expired.test"], expired=True))
    wrong_ctx = server_context(*ca.issue("other", ["other.test"]))
    asn_table = directory / "asn.tsv"
    asn_table.write_text(f"127.0.0.0/8\t{TEST_ASN}\tLOOPBACK-AS\tZZ\n")
    loop = LoopThread()

    async def setup() -> tuple[DNSZone, str, Site, Site, Site, Site]:
        zone, dns = await start_dns()
        http = await start_site("127.0.0.1")
        https = await start_site("127.0.0.1", ctx=ok_ctx)
        expired = await start_site("127.0.0.1", ctx=expired_ctx)
        wrong = await start_site("127.0.0.1", ctx=wrong_ctx)
        return zone, dns, http, https, expired, wrong

    zone, dns, http, https, expired, wrong = loop.run(setup())
    for name in ("ok.test", "hang.test", "expired.test", "wrong.test"):
        zone.records[name] = ["127.0.0.1"]
    zone.rcodes["servfail.test"] = RCODE.SERVFAIL
    zone.records["empty.test"] = []
    env = Loopback(loop, ca, zone, dns, http, https, expired, wrong, _free_port(), str(asn_table))
    try:
        yield env
    finally:
        async def teardown() -> None:
            await stop_sites([http, https, expired, wrong])
            await stop_dns(zone)

        loop.run(teardown())
        loop.close()


@pytest.fixture(scope="module")
def lab_control(
    loopback: Loopback, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControlProcess]:
    """A control allowed to dial 127.0.0.0/8 (the stand-in for the lab's ranges)."""

    log = tmp_path_factory.mktemp("control-log") / "control.log"
    proc = ControlProcess([*loopback.base_args(), "--allow-range", "127.0.0.0/8"], log)
    try:
        yield proc
    finally:
        proc.close()


def run(coro: object) -> object:
    """``asyncio.run`` for tests (the client is async)."""

    return asyncio.run(coro)  # type: ignore[arg-type]
