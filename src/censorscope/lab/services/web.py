"""The lab web server: many virtual hosts over HTTP/1.1 and HTTPS, blockpage servers, proxies.

Run as ``python -m censorscope.lab.services.web --config FILE.json`` (``WebServerConfig``).
For every site IP it listens on ``http_port`` (sites with ``http``), ``https_port`` (sites
with ``https``) and the site's ``plain_http_ports`` (plain HTTP on other ports, e.g. 443 for
Telegram's data centres); the certificate is chosen by SNI among the sites on the connection's
local IP (no/unknown SNI → the first site listed for that IP). ``Host`` selects the site the
same way; an unknown Host gets a 404 page. Each connection runs in its own thread.

Behaviours (``SiteConfig.behaviour``):

- ``page``: a deterministic HTML page per site (``<title>`` = title or derived from the name),
  with an uncommon header ``X-Lab-Site`` — for every path.
- ``redirect``: ``redirects[path]`` (full path with query first, then path, then ``"*"``) as
  ``Location`` with ``redirect_status`` (308 like bit.ly); ``{path}`` in the value is replaced by
  the request path; an unmapped path → 404.
- ``httpbin``: ``/redirect/N`` → 302 to ``/redirect/N-1`` … ``/get`` (JSON);
  ``/broken-redirect-http[s]`` → 302 ``Location: http://`` / ``https://`` to clients in
  ``client_networks``, the normal page to others; other paths → the page.
- ``captcha``: 503 + "Just a moment..." to clients in ``client_networks``, the 200 page to
  everyone else (same header names in both).
- ``largefile``: ``largefile_size`` bytes (32 MiB), streamed, ``Content-Length`` set.
- ``blockpage``: 200 "Access Denied" page for every request.

On every ``page`` and ``httpbin`` site, ``/download/<N>`` streams ``N`` bytes (at most
``DOWNLOAD_MAX``, 64 MiB) like ``largefile``: the object the ``throttling`` experiment fetches.

``blockpages`` entries are plain HTTP blockpage servers on their own IP; ``proxies`` entries are
transparent proxies (``censorscope.lab.services.proxy``) run inside this process.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import sys
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

from censorscope.lab.services import pages, proxy
from censorscope.lab.services._listeners import ConnHandler, ListenerSet
from censorscope.lab.services._runtime import run
from censorscope.lab.services.ca import issue
from censorscope.lab.services.config import SiteConfig, WebServerConfig, normalize_name

__all__ = ["WebServer", "WebState", "main"]

_CHUNK = 64 * 1024
_LARGE_CHUNK = bytes(range(256)) * (_CHUNK // 256)
DOWNLOAD_MAX = 64 << 20
_DOWNLOAD = re.compile(r"/download/(\d{1,9})")


@dataclass
class WebState:
    """Everything a connection needs, built once per (re)load of the config."""

    config: WebServerConfig
    sites_by_ip: dict[str, list[SiteConfig]] = field(default_factory=dict)
    site_ctx: dict[int, ssl.SSLContext] = field(default_factory=dict)  # by id(site)
    ip_ctx: dict[str, ssl.SSLContext] = field(default_factory=dict)
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)

    @classmethod
    def build(cls, config: WebServerConfig) -> WebState:
        state = cls(config)
        state.networks = [ipaddress.ip_network(n, strict=False) for n in config.client_networks]
        for site in config.sites:
            for ip in site.ips:
                state.sites_by_ip.setdefault(ip, []).append(site)
            if site.https:
                state.site_ctx[id(site)] = state._context(site)
        for ip, sites in state.sites_by_ip.items():
            https_sites = [s for s in sites if s.https]
            if https_sites:
                ctx = state._context(https_sites[0])
                ctx.sni_callback = state._sni_callback(ip)
                state.ip_ctx[ip] = ctx
        return state

    def _context(self, site: SiteConfig) -> ssl.SSLContext:
        if site.cert_file and site.key_file:
            cert, key = Path(site.cert_file), Path(site.key_file)
        else:
            cert, key = issue(Path(self.config.cert_dir), site.names, site.certificate)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx

    def _sni_callback(self, ip: str):  # type: ignore[no-untyped-def]
        def callback(sslobj: ssl.SSLObject, server_name: str | None, _ctx: ssl.SSLContext) -> None:
            site = self.site_for(ip, server_name or "", https=True)
            if site is not None:
                sslobj.context = self.site_ctx[id(site)]

        return callback

    def site_for(self, ip: str, host: str, https: bool = False) -> SiteConfig | None:
        """The site serving ``host`` on local address ``ip``."""
        try:
            name = normalize_name(host)
        except UnicodeError:
            return None
        for site in self.sites_by_ip.get(ip, ()):
            if name in site.names and (site.https or not https):
                return site
        return None

    def is_client(self, addr: str) -> bool:
        """True if ``addr`` is in one of the probe LANs (``client_networks``)."""
        ip = ipaddress.ip_address(addr)
        return any(ip in net for net in self.networks)


@dataclass(frozen=True)
class _Conn:
    state: WebState
    local_ip: str
    scheme: str
    blockpage_only: bool = False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "censorscope-lab"

    def version_string(self) -> str:
        return self.server_version
    timeout = 60
    server: _Conn  # type: ignore[assignment]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch(send_body=True)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 20))
        self._dispatch(send_body=True)

    def do_HEAD(self) -> None:
        self._dispatch(send_body=False)

    # ------------------------------------------------------------------ helpers

    def _send(
        self, status: int, body: bytes, site: str, ctype: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Lab-Site", site)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self._send_body:
            self.wfile.write(body)

    def _host_and_path(self) -> tuple[str, str]:
        target = self.path
        host = self.headers.get("Host", "")
        if target.startswith(("http://", "https://")):  # absolute-form
            parts = urlsplit(target)
            host = parts.netloc
            target = parts.path + ("?" + parts.query if parts.query else "") or "/"
        try:  # a raw UTF-8 Host header arrives decoded as latin-1
            host = host.encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass
        if host.startswith("["):
            host = host[1 : host.find("]")]
        else:
            host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        return host, target or "/"

    def _dispatch(self, send_body: bool) -> None:
        self._send_body = send_body
        conn = self.server
        if conn.blockpage_only:
            self._send(200, pages.blockpage(), "blockpage")
            return
        host, target = self._host_and_path()
        site = conn.state.site_for(conn.local_ip, host, https=conn.scheme == "https")
        if site is None:
            self._send(404, pages.not_found_page(host), "none")
            return
        behaviour = getattr(self, f"_serve_{site.behaviour}")
        behaviour(site, target)

    def _page(self, site: SiteConfig, status: int = 200) -> None:
        title = site.title or pages.derived_title(site.names[0])
        self._send(status, pages.site_page(site.names[0], title), site.names[0])

    # ------------------------------------------------------------------ behaviours

    def _download(self, site: SiteConfig, target: str) -> bool:
        """Serve ``/download/<N>`` (True), or leave the path to the behaviour (False)."""
        m = _DOWNLOAD.fullmatch(urlsplit(target).path)
        if m is None or int(m.group(1)) > DOWNLOAD_MAX:
            return False
        self._stream(site, int(m.group(1)))
        return True

    def _serve_page(self, site: SiteConfig, target: str) -> None:
        if not self._download(site, target):
            self._page(site)

    def _serve_blockpage(self, site: SiteConfig, target: str) -> None:
        self._send(200, pages.blockpage(), site.names[0])

    def _serve_redirect(self, site: SiteConfig, target: str) -> None:
        path = urlsplit(target).path or "/"
        location = site.redirects.get(target) or site.redirects.get(path)
        if location is None and "*" in site.redirects:
            location = site.redirects["*"].replace("{path}", path)
        if location is None:
            self._send(404, pages.not_found_page(target), site.names[0])
            return
        self._send(site.redirect_status, b"", site.names[0], headers={"Location": location})

    def _serve_captcha(self, site: SiteConfig, target: str) -> None:
        if self.server.state.is_client(self.client_address[0]):
            self._send(503, pages.captcha_page(), site.names[0])
        else:
            self._page(site)

    def _serve_httpbin(self, site: SiteConfig, target: str) -> None:
        if self._download(site, target):
            return
        path = urlsplit(target).path
        name = site.names[0]
        if path.startswith("/redirect/"):
            try:
                n = int(path.removeprefix("/redirect/"))
            except ValueError:
                n = -1
            if n >= 1:
                location = f"/redirect/{n - 1}" if n > 1 else "/get"
                self._send(302, b"", name, headers={"Location": location})
                return
            self._send(404, pages.not_found_page(target), name)
            return
        if path == "/get":
            url = f"{self.server.scheme}://{self.headers.get('Host', name)}{target}"
            body = pages.httpbin_get(url, dict(self.headers.items()), self.client_address[0])
            self._send(200, body, name, ctype="application/json")
            return
        broken = {"/broken-redirect-http": "http://", "/broken-redirect-https": "https://"}
        if path in broken and self.server.state.is_client(self.client_address[0]):
            self._send(302, b"", name, headers={"Location": broken[path]})
            return
        self._page(site)

    def _serve_largefile(self, site: SiteConfig, target: str) -> None:
        self._stream(site, self.server.state.config.largefile_size)

    def _stream(self, site: SiteConfig, size: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.send_header("X-Lab-Site", site.names[0])
        self.end_headers()
        if not self._send_body:
            return
        left = size
        while left > 0:
            chunk = _LARGE_CHUNK if left >= _CHUNK else _LARGE_CHUNK[:left]
            self.wfile.write(chunk)
            left -= len(chunk)


def _http_handler(conn: _Conn) -> ConnHandler:
    def handle(sock: socket.socket, addr: tuple[str, int]) -> None:
        local = _Conn(conn.state, sock.getsockname()[0], conn.scheme, conn.blockpage_only)
        if conn.scheme == "https":
            sock.settimeout(15)
            try:
                tls = conn.state.ip_ctx[local.local_ip].wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError, KeyError):
                return
            with tls:
                _Handler(tls, addr, local)  # type: ignore[arg-type]
            return
        _Handler(sock, addr, local)  # type: ignore[arg-type]

    return handle


class WebServer:
    """The web program: its sockets and current state."""

    def __init__(self) -> None:
        self.listeners = ListenerSet()

    def apply(self, config: WebServerConfig) -> None:
        state = WebState.build(config)
        tcp: dict[tuple[str, int], ConnHandler] = {}
        for site in config.sites:
            for ip in site.ips:
                if site.http:
                    tcp[(ip, config.http_port)] = _http_handler(_Conn(state, ip, "http"))
                if site.https:
                    tcp[(ip, config.https_port)] = _http_handler(_Conn(state, ip, "https"))
                for port in site.plain_http_ports:
                    tcp[(ip, port)] = _http_handler(_Conn(state, ip, "http"))
        for bp in config.blockpages:
            tcp[(bp.ip, bp.port)] = _http_handler(_Conn(state, bp.ip, "http", True))
        for px in config.proxies:
            tcp.update(proxy.handlers(px))
        self.listeners.reconcile(tcp, {})

    def close(self) -> None:
        self.listeners.close()


def main(argv: list[str] | None = None) -> int:
    return run("censorscope.lab.services.web", WebServerConfig, WebServer, argv)


if __name__ == "__main__":
    sys.exit(main())
