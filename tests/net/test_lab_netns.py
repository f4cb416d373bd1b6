"""Failures that need a private network namespace: a connect timeout (SYN dropped by
iptables inside the namespace) and getaddrinfo of names that do not exist (the namespace's
own resolv.conf points at a loopback DNS server, so no query leaves the namespace)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from censorscope.model import failures as F

pytestmark = pytest.mark.lab

PYTHON = sys.executable
DROP_IP = "198.18.250.1"

CONNECT_SCRIPT = f"""
import asyncio, json
from censorscope.net.conn import connect_tcp
from censorscope.net.errors import NetError
try:
    asyncio.run(connect_tcp("{DROP_IP}", 443, timeout=1.0))
    print(json.dumps({{"failure": None}}))
except NetError as err:
    print(json.dumps({{"failure": err.failure, "operation": err.operation}}))
"""

GETADDRINFO_SCRIPT = """
import asyncio, json, socket, sys, threading
import dns.message, dns.rcode
from censorscope.net.errors import NetError
from censorscope.net.dns import resolve_getaddrinfo

def serve(sock):
    while True:
        try:
            data, peer = sock.recvfrom(4096)
        except OSError:
            return
        reply = dns.message.make_response(dns.message.from_wire(data))
        reply.set_rcode(dns.rcode.NXDOMAIN)
        sock.sendto(reply.to_wire(), peer)

sock = None
if sys.argv[1] == "nxdomain":
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 53))
    threading.Thread(target=serve, args=(sock,), daemon=True).start()
try:
    asyncio.run(resolve_getaddrinfo("does-not-exist.example", timeout=4))
    print(json.dumps({"failure": None}))
except NetError as err:
    print(json.dumps({"failure": err.failure, "operation": err.operation,
                      "getaddrinfo_error": err.getaddrinfo_error}))
finally:
    if sock is not None:
        sock.close()
"""


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=20)


@pytest.fixture
def namespace() -> Iterator[str]:
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("iptables") is None:
        pytest.fail("lab tests need root, iproute2 and iptables")
    name = f"csnt-{secrets.token_hex(4)}"
    etc = Path("/etc/netns") / name
    try:
        _run("ip", "netns", "add", name)
        _run("ip", "-n", name, "link", "set", "lo", "up")
        _run("ip", "-n", name, "addr", "add", f"{DROP_IP}/32", "dev", "lo")
        _run("ip", "netns", "exec", name, "iptables", "-A", "INPUT", "-d", DROP_IP,
             "-p", "tcp", "-j", "DROP")
        etc.mkdir(parents=True)
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        yield name
    finally:
        shutil.rmtree(etc, ignore_errors=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=20)


def _in_namespace(name: str, script: str, *args: str) -> dict[str, object]:
    done = subprocess.run(
        ["ip", "netns", "exec", name, PYTHON, "-c", script, *args],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_connect_to_a_dropping_address_times_out(namespace: str) -> None:
    result = _in_namespace(namespace, CONNECT_SCRIPT)
    assert result == {"failure": F.GENERIC_TIMEOUT_ERROR, "operation": F.CONNECT}


def test_getaddrinfo_of_a_missing_name_is_nxdomain(namespace: str) -> None:
    result = _in_namespace(namespace, GETADDRINFO_SCRIPT, "nxdomain")
    assert result["failure"] == F.DNS_NXDOMAIN_ERROR
    assert result["operation"] == F.RESOLVE
    assert isinstance(result["getaddrinfo_error"], int)


def test_getaddrinfo_without_a_reachable_resolver_still_fails_with_a_string(
    namespace: str,
) -> None:
    result = _in_namespace(namespace, GETADDRINFO_SCRIPT, "no-server")
    assert result["failure"] in {F.DNS_TEMPORARY_FAILURE, F.GENERIC_TIMEOUT_ERROR}
    assert result["operation"] == F.RESOLVE
