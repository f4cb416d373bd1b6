"""Throttling (delay, loss, rate cap by SNI or IP:port), measured with curl and a UDP client."""

from __future__ import annotations

import sys

import pytest

from censorscope.lab.schema import Policy

pytestmark = pytest.mark.lab

SRV = "203.0.113.10"
SRV2 = "203.0.113.11"
SRV3 = "203.0.113.12"
TIMES = "%{time_connect} %{time_appconnect} %{time_total} %{size_download}\n"
BIG = 1024 * 1024

# Sends 40 DNS queries at once from one socket and prints how many replies came back in 0.5 s.
UDP_BURST = r"""
import socket, sys, time
from dnslib import DNSRecord
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect((sys.argv[1], 53))
for i in range(40):
    q = DNSRecord.question(f"n{i}.example", "A")
    sock.send(q.pack())
sock.settimeout(0.05)
got, deadline = set(), time.monotonic() + 0.5
while time.monotonic() < deadline:
    try:
        got.add(DNSRecord.parse(sock.recv(4096)).header.id)
    except TimeoutError:
        pass
sock.close()
print(len(got))
"""


def pol(kind: str, **kw: object) -> Policy:
    return Policy(kind=kind, isp="isp1", **kw)  # type: ignore[arg-type]


def timed(topo, url: str, *extra: str, max_time: float = 5) -> list[float]:
    r = topo.curl(url, "-o", "/dev/null", "-w", TIMES, *extra, max_time=max_time)
    assert r.returncode == 0, r.stderr
    return [float(x) for x in r.stdout.split()]


def tls_handshake_s(topo, name: str, path: str = "/") -> float:
    connect, appconnect, _, _ = timed(
        topo, f"https://{name}{path}", "--resolve", f"{name}:443:{SRV}"
    )
    return appconnect - connect


def test_throttle_delay_by_sni_both_directions(topo, censor):
    censor(pol("throttle", sni=["video.example"], delay_ms=250))
    # ClientHello held 250 ms on the way out, the server's flight 250 ms on the way back
    assert tls_handshake_s(topo, "video.example") >= 0.48
    assert tls_handshake_s(topo, "other.example") < 0.3  # same IP, other SNI: not throttled


def test_throttle_delay_does_not_serialise_flows(topo, censor):
    censor(pol("throttle", sni=["video.example"], delay_ms=300))
    script = (
        "for i in 1 2 3 4 5 6 7 8; do curl -sk -o /dev/null --max-time 5 -w '%{time_appconnect}\\n'"
        f" --resolve video.example:443:{SRV} https://video.example/ & done; wait"
    )
    r = topo.client("sh", "-c", script, timeout=15)
    times = [float(x) for x in r.stdout.split()]
    assert len(times) == 8 and all(t >= 0.58 for t in times), r.stdout
    # Serialised delays would make the last handshake wait >= 8 handshakes * 2 flights * 0.3 s
    # = 4.8 s (or time out at 5 s: appconnect 0). curl's own times leave out the start-up of the
    # eight processes, which a loaded machine stretches (the wall time once took 2.8 s).
    assert max(times) < 3.0, r.stdout


def test_throttle_rate_by_ip_port_with_tc(topo, censor):
    censor(pol("throttle", ips=[SRV3], ports=[80], rate_kbit=8000))
    _, _, total, size = timed(topo, f"http://{SRV3}/big.bin")
    assert size == BIG
    print(f"tc rate cap: {total:.2f} s")
    assert total >= 0.8, total  # 8 Mbit at 8 Mbit/s, minus the htb burst
    assert total < 2.5, total
    _, _, fast, _ = timed(topo, f"http://{SRV}/big.bin")  # same server, other IP
    assert fast < 0.7, fast


def test_throttle_rate_by_sni_in_injector(topo, censor):
    censor(pol("throttle", sni=["video.example"], rate_kbit=8000))
    _, _, total, size = timed(
        topo, "https://video.example/big.bin", "--resolve", f"video.example:443:{SRV}"
    )
    assert size == BIG
    print(f"injector rate cap: {total:.2f} s")
    assert 0.8 <= total < 2.5, total
    _, _, fast, _ = timed(
        topo, "https://other.example/big.bin", "--resolve", f"other.example:443:{SRV}"
    )
    assert fast < 0.7, fast


def test_throttle_rate_by_sni_is_per_connection(topo, censor):
    censor(pol("throttle", sni=["video.example"], rate_kbit=800))
    # an aborted download (1 MiB at 100 kB/s needs 10 s) leaves its backlog in the injector ...
    r = topo.curl("https://video.example/big.bin", "-o", "/dev/null",
                  "--resolve", f"video.example:443:{SRV}", max_time=1)
    assert r.returncode == 28, r.stderr
    # ... which must not hold up the next connection: it has a token bucket of its own
    assert tls_handshake_s(topo, "video.example") < 0.5


def test_throttle_loss_by_ip(topo, censor):
    def answered(ip: str) -> int:
        r = topo.client(sys.executable, "-c", UDP_BURST, ip, timeout=10)
        assert r.returncode == 0, r.stderr
        return int(r.stdout)

    censor(pol("throttle", ips=[SRV2], loss=0.5))
    lossy = answered(SRV2)
    # 50 % loss each way: ~10 of 40 round trips survive (P(outside 1..25) < 1e-4)
    assert 1 <= lossy <= 25, lossy
    assert answered(SRV) == 40
