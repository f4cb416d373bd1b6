"""A small private internet for probe tests, run inside ``unshare --mount --net`` (root).

Run as ``unshare --mount --net python netns_world.py OUTDIR [probe run args…]``. In the fresh
network namespace it brings ``lo`` up, gives it lab addresses (198.18.1.0/24), points the
system resolver (``/etc/resolv.conf``, bind-mounted in the private mount namespace) at an
"ISP" DNS server that lies about one name, starts a "public" DNS server, web sites over HTTP
and HTTPS (a throwaway CA), a DoH endpoint, the real control (``censorscope.control``), and
iptables censors (inside this namespace only). Then it runs ``censorscope probe run --config
OUTDIR/probe.json …`` as a subprocess and exits with its status; stdout/stderr are saved in
OUTDIR. Nothing leaves the namespace; everything dies with it.

Names (all ``*.example.test``): ``www`` 198.18.1.10 (``/`` redirects to
``https://secure.example.test/landing`` with a cookie; ``/loop`` redirects to itself),
``secure`` .11, ``dropped`` .12 (TCP to it is dropped), ``sni-blocked`` .13 (ClientHellos
naming it are dropped), ``censored`` (true .11; the ISP resolver answers .66), ``control``
.20, ``dns`` .30 (DoH), ``loopy`` → 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import ssl
import subprocess
import sys
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from dnslib import QTYPE, RCODE, RR, A, DNSRecord

IPS = {
    "www": "198.18.1.10", "secure": "198.18.1.11", "dropped": "198.18.1.12",
    "sni-blocked": "198.18.1.13", "control": "198.18.1.20", "dns": "198.18.1.30",
    "isp-dns": "198.18.1.53", "public-dns": "198.18.1.54", "blockpage": "198.18.1.66",
}
ZONE = {
    "www.example.test": [IPS["www"]],
    "secure.example.test": [IPS["secure"]],
    "dropped.example.test": [IPS["dropped"]],
    "sni-blocked.example.test": [IPS["sni-blocked"]],
    "censored.example.test": [IPS["secure"]],
    "control.example.test": [IPS["control"]],
    "dns.example.test": [IPS["dns"]],
    "loopy.example.test": ["127.0.0.1"],
}
ISP_LIES = {"censored.example.test": [IPS["blockpage"]]}
PAGE = (b"<html><head><title>Secure landing page</title></head><body>" + b"hello " * 200
        + b"</body></html>")
BLOCKPAGE = b"<html><head><title>Access denied</title></head><body>blocked</body></html>"


def sh(*args: str) -> None:
    subprocess.run(args, check=True)


def make_pki(directory: Path) -> tuple[str, str, str]:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "netns world CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.test")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("*.example.test"), x509.DNSName("example.test")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = (directory / n for n in ("ca.pem", "leaf.pem", "leaf.key"))
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return str(ca_file), str(cert_file), str(key_file)


def dns_answer(data: bytes, zone: dict[str, list[str]]) -> bytes:
    query = DNSRecord.parse(data)
    reply = query.reply()
    name = str(query.q.qname).rstrip(".").lower()
    if name not in zone:
        reply.header.rcode = RCODE.NXDOMAIN
    elif query.q.qtype == QTYPE.A:
        for ip in zone[name]:
            reply.add_answer(RR(query.q.qname, QTYPE.A, rdata=A(ip), ttl=60))
    return reply.pack()


class DNSServer(asyncio.DatagramProtocol):
    def __init__(self, zone: dict[str, list[str]]) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(dns_answer(data, self.zone), addr)


async def handle_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        pairs = (x.partition(":") for x in lines[1:] if x)
        headers = {k.strip().lower(): v.strip() for k, _, v in pairs}
        body = b""
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        host = headers.get("host", "").split(":")[0]
        local_ip = writer.get_extra_info("sockname")[0]
        status, extra, payload = 200, [("Content-Type", "text/html"), ("X-Site", "real")], PAGE
        if host == "dns.example.test" and method == "POST":
            payload = dns_answer(body, ZONE)
            extra = [("Content-Type", "application/dns-message")]
        elif local_ip == IPS["blockpage"]:
            payload, extra = BLOCKPAGE, [("Content-Type", "text/plain")]
        elif host == "www.example.test" and path == "/":
            status, payload = 302, b""
            extra = [("Location", "https://secure.example.test/landing"),
                     ("Set-Cookie", "session=abc; Path=/; Domain=example.test")]
        elif host == "www.example.test" and path == "/loop":
            status, payload, extra = 302, b"", [("Location", "/loop")]
        reason = {200: "OK", 302: "Found"}[status]
        out = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(payload)}",
               *(f"{k}: {v}" for k, v in extra)]
        if local_ip != IPS["blockpage"]:
            out.append("Connection: close")
        writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + payload)
        await writer.drain()
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def start_world(tmp: Path, ready: threading.Event, stop: asyncio.Event | None) -> None:
    from censorscope.control.measure import MeasureConfig
    from censorscope.control.policy import AddressPolicy
    from censorscope.control.server import ControlServer, ServerConfig

    ca_file, cert, key = make_pki(tmp)
    loop = asyncio.get_running_loop()
    isp_zone = {**ZONE, **ISP_LIES}
    await loop.create_datagram_endpoint(
        lambda: DNSServer(isp_zone), local_addr=(IPS["isp-dns"], 53))
    await loop.create_datagram_endpoint(
        lambda: DNSServer(ZONE), local_addr=(IPS["public-dns"], 53))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    tls.set_alpn_protocols(["http/1.1"])
    for name in ("www", "secure", "dropped", "sni-blocked", "dns", "blockpage"):
        await asyncio.start_server(handle_http, IPS[name], 80)
        if name != "blockpage":
            await asyncio.start_server(handle_http, IPS[name], 443, ssl=tls)
    control = ControlServer(
        ServerConfig(host=IPS["control"], port=443, tls_cert=cert, tls_key=key),
        MeasureConfig(resolver=f"udp://{IPS['public-dns']}:53", ca_file=ca_file, timeout=1.5,
                      dns_timeout=1.0, policy=AddressPolicy.from_cidrs(["198.18.0.0/15"])),
    )
    await control.start()
    (tmp / "world.json").write_text(json.dumps({"ca_file": ca_file}))
    ready.set()
    await asyncio.Event().wait()


def main() -> int:
    out = Path(sys.argv[1])
    probe_args = sys.argv[2:]
    out.mkdir(parents=True, exist_ok=True)
    sh("ip", "link", "set", "lo", "up")
    for ip in IPS.values():
        sh("ip", "addr", "add", f"{ip}/32", "dev", "lo")
    resolv = out / "resolv.conf"
    resolv.write_text(f"nameserver {IPS['isp-dns']}\noptions timeout:1 attempts:1\n")
    hosts = out / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    sh("mount", "--make-rprivate", "/")
    sh("mount", "--bind", str(resolv), "/etc/resolv.conf")
    sh("mount", "--bind", str(hosts), "/etc/hosts")
    sh("iptables", "-A", "OUTPUT", "-d", IPS["dropped"], "-p", "tcp", "-j", "DROP")
    sh("iptables", "-A", "OUTPUT", "-p", "tcp", "--dport", "443", "-m", "string", "--algo", "bm",
       "--string", "sni-blocked.example.test", "-j", "DROP")

    ready = threading.Event()
    thread = threading.Thread(
        target=lambda: asyncio.run(start_world(out, ready, None)), daemon=True
    )
    thread.start()
    if not ready.wait(20):
        print("world did not start", file=sys.stderr)
        return 99
    ca_file = json.loads((out / "world.json").read_text())["ca_file"]
    (out / "asn.tsv").write_text(
        "198.18.1.0/24\t64500\tWorld Hosting\tZZ\n198.18.1.53/32\t64501\tISP Net\tAZ\n"
        "198.18.1.66/32\t64666\tBlockpage Net\tAZ\n"
    )
    config = {
        "probe_cc": "AZ", "probe_asn": "AS64501", "probe_network_name": "ISP Net",
        "resolver_ip": IPS["isp-dns"],
        "control_urls": ["https://control.example.test/"],
        "ca_file": ca_file,
        "public_resolver": f"{IPS['public-dns']}:53",
        "doh_url": "https://dns.example.test/dns-query",
        "asn_table": str(out / "asn.tsv"),
        "public_ranges": ["198.18.0.0/15"],
        "doh_always": True,
        "timeouts": {"dns": 1.5, "tcp": 1.0, "tls": 1.0, "http": 2.0, "control": 8.0,
                     "dns_late_window": 0.2, "priority_window": 0.2},
    }
    (out / "probe.json").write_text(json.dumps(config))
    exe = Path(sys.executable).with_name("censorscope")
    proc = subprocess.run(
        [str(exe), "probe", "run", "--config", str(out / "probe.json"), *probe_args],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "160"},
    )
    (out / "stdout.txt").write_text(proc.stdout)
    (out / "stderr.txt").write_text(proc.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
