"""Servers for the censor tests, run inside the test topology's server namespace.

``python lab_servers.py --dir DIR --cert C --key K --answer IP`` serves DIR over HTTP on :80 and
HTTPS on :443 (any SNI, one certificate), and a DNS server on udp/:53 of every ``--dns-ip``
that answers every A query with ``--answer``. Prints READY when all are bound; exits on SIGTERM.
"""

from __future__ import annotations

import argparse
import functools
import signal
import socket
import ssl
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from dnslib import QTYPE, RR, A, DNSRecord


class QuietHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class TLSServer(QuietServer):
    ctx: ssl.SSLContext

    def get_request(self) -> tuple[socket.socket, object]:
        sock, addr = self.socket.accept()
        # The handshake runs in the handler thread (first read), so a stalled client never
        # blocks the accept loop.
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


def dns_loop(sock: socket.socket, answer: str) -> None:
    while True:
        try:
            data, addr = sock.recvfrom(4096)
        except OSError:
            return
        try:
            query = DNSRecord.parse(data)
        except Exception:
            continue
        reply = query.reply()
        if query.q.qtype == QTYPE.A:
            reply.add_answer(RR(query.q.qname, QTYPE.A, rdata=A(answer), ttl=300))
        sock.sendto(reply.pack(), addr)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--answer", required=True)
    ap.add_argument("--dns-ip", action="append", required=True, help="bind the DNS server here")
    args = ap.parse_args()
    handler = functools.partial(QuietHandler, directory=args.dir)
    http = QuietServer(("0.0.0.0", 80), handler)
    tls = TLSServer(("0.0.0.0", 443), handler)
    tls.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.ctx.load_cert_chain(args.cert, args.key)
    dns_socks = []
    for ip in args.dns_ip:  # one socket per address, so replies come from the queried address
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((ip, 53))
        dns_socks.append(sock)
    for target in (http.serve_forever, tls.serve_forever):
        threading.Thread(target=target, daemon=True).start()
    for sock in dns_socks:
        threading.Thread(target=dns_loop, args=(sock, args.answer), daemon=True).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print("READY", flush=True)
    sys.stdout.close()
    done.wait()


if __name__ == "__main__":
    main()
