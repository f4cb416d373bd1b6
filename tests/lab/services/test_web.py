"""The lab web server (censorscope.lab.services.web) and proxy, run for real on loopback.

Clients are Python's http.client/ssl, curl and openssl s_client; certificates are checked against
the lab CA only.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from censorscope.lab.services.ca import WRONG_HOST_NAME, ensure_ca

HTTP, HTTPS, DNS = 18080, 18443, 15353
LARGE = 32 * 1024 * 1024


def sites(b: str) -> list[dict[str, Any]]:
    return [
        {"names": ["www.example.com"], "ips": [b + "1"], "title": "Example Domain"},
        {"names": ["www.example.org"], "ips": [b + "1"]},
        {"names": ["example.com"], "ips": [b + "1"], "behaviour": "redirect",
         "redirects": {"*": "https://www.example.com{path}"}},
        {"names": ["untrusted-root.badssl.com"], "ips": [b + "2"], "certificate": "untrusted"},
        {"names": ["expired.badssl.com"], "ips": [b + "2"], "certificate": "expired"},
        {"names": ["wrong.host.badssl.com"], "ips": [b + "2"], "certificate": "wrong_host"},
        {"names": ["bit.ly", "bitly.com"], "ips": [b + "3"], "http": False,
         "behaviour": "redirect",
         "redirects": {"/21645": "https://www.example.com/", "/32447": "http://www.example.com/"}},
        {"names": ["yandex.com", "ya.ru", "яндекс.рф"], "ips": [b + "4"]},
        {"names": ["largefile.com"], "ips": [b + "5"], "behaviour": "largefile"},
        {"names": ["www.cloudflare-cache.com"], "ips": [b + "6"], "behaviour": "captcha"},
        {"names": ["httpbin.com"], "ips": [b + "7"], "behaviour": "httpbin"},
    ]


def web_config(b: str, cert_dir: Path, client_networks: list[str]) -> dict[str, Any]:
    return {
        "cert_dir": str(cert_dir), "http_port": HTTP, "https_port": HTTPS,
        "client_networks": client_networks, "sites": sites(b),
        "blockpages": [{"ip": b + "8", "port": HTTP}],
        "proxies": [{"ip": b + "9", "resolver": f"{b}10:{DNS}", "http_port": HTTP,
                     "https_port": HTTPS, "upstream_http_port": HTTP,
                     "upstream_https_port": HTTPS}],
    }


@dataclass
class Lab:
    block: str
    ca: Path
    cert_dir: Path
    pid: int


@pytest.fixture(scope="module")
def lab(start_module_service, cert_dir, module_block) -> Lab:
    """Web server whose client_networks include 127.0.0.0/8 (we are the probe), plus DNS."""
    b = module_block()
    start_module_service("dns", {"listen": [b + "10"], "port": DNS, "records": {
        "www.example.com": [{"type": "A", "value": b + "1"}],
    }})
    svc = start_module_service("web", web_config(b, cert_dir, ["127.0.0.0/8"]))
    return Lab(b, ensure_ca(cert_dir), cert_dir, svc.proc.pid)


@pytest.fixture(scope="module")
def outsider_lab(start_module_service, cert_dir, module_block) -> Lab:
    """The same sites, but our address is not in client_networks."""
    b = module_block()
    svc = start_module_service("web", web_config(b, cert_dir, ["192.0.2.0/24"]))
    return Lab(b, ensure_ca(cert_dir), cert_dir, svc.proc.pid)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def fetch(ip: str, host: str, path: str = "/", *, tls: bool = False, ca: Path | None = None,
          sni: str | None = None, method: str = "GET", port: int | None = None) -> Response:
    """One HTTP(S) request to ``ip`` with Host ``host`` (TLS: SNI ``sni or host``, lab CA)."""
    conn: http.client.HTTPConnection
    if tls:
        ctx = ssl.create_default_context(cafile=str(ca))
        conn = _SNIConnection(ip, port or HTTPS, sni or host, ctx)
    else:
        conn = http.client.HTTPConnection(ip, port or HTTP, timeout=5)
    try:
        conn.request(method, path, headers={"Host": host})
        resp = conn.getresponse()
        body = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    finally:
        conn.close()


class _SNIConnection(http.client.HTTPConnection):
    def __init__(self, ip: str, port: int, sni: str, ctx: ssl.SSLContext) -> None:
        super().__init__(ip, port, timeout=5)
        self._sni, self._ctx = sni, ctx

    def connect(self) -> None:
        raw = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock = self._ctx.wrap_socket(raw, server_hostname=self._sni)


def peer_names(ip: str, sni: str | None, port: int = HTTPS) -> list[str]:
    """DNS names in the certificate served for ``sni`` (no verification)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((ip, port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=sni) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    cert = x509.load_der_x509_certificate(der)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.DNSName)


def title(body: bytes) -> str:
    text = body.decode()
    return text[text.index("<title>") + 7 : text.index("</title>")]


# ---------------------------------------------------------------------------------- pages


def test_page_title_headers_and_distinct_bodies(lab):
    ip = lab.block + "1"
    com = fetch(ip, "www.example.com")
    org = fetch(ip, "www.example.org")
    assert com.status == org.status == 200
    assert title(com.body) == "Example Domain"
    assert "example" in title(org.body).lower() and title(org.body) != title(com.body)
    assert com.headers["x-lab-site"] == "www.example.com"
    assert int(com.headers["content-length"]) == len(com.body) > 1500
    assert com.body != org.body
    assert fetch(ip, "www.example.com").body == com.body  # deterministic
    https = fetch(ip, "www.example.com", tls=True, ca=lab.ca)
    assert https.status == 200 and https.body == com.body


def test_unknown_host_is_404(lab):
    assert fetch(lab.block + "1", "www.example.xyz").status == 404
    # a name of another IP's site is not served here
    assert fetch(lab.block + "1", "httpbin.com").status == 404


def test_idna_hosts(lab):
    ip = lab.block + "4"
    puny = "xn--d1acpjx3f.xn--p1ai"
    lower = fetch(ip, puny)
    assert lower.status == 200 and lower.headers["x-lab-site"] == "yandex.com"
    assert fetch(ip, puny.upper()).body == lower.body
    assert fetch(ip, "ya.ru").body == lower.body
    https = fetch(ip, puny, tls=True, ca=lab.ca)
    assert https.status == 200 and https.body == lower.body
    assert puny in peer_names(ip, puny)


# ---------------------------------------------------------------------------------- TLS


def test_sni_selects_certificate(lab):
    ip = lab.block + "1"
    assert peer_names(ip, "www.example.org") == ["www.example.org"]
    assert peer_names(ip, "www.example.com") == ["www.example.com"]
    assert peer_names(ip, "example.com") == ["example.com"]
    # no SNI, or an SNI not hosted here: the IP's first site
    assert peer_names(ip, None) == ["www.example.com"]
    assert peer_names(ip, "www.example.xyz") == ["www.example.com"]
    assert fetch(ip, "www.example.org", tls=True, ca=lab.ca).headers["x-lab-site"] == (
        "www.example.org"
    )


@pytest.mark.parametrize(("name", "code", "openssl_says"), [
    # s_client sees only the leaf (no chain sent): 21 where Python's verifier reports 20
    ("untrusted-root.badssl.com", 20, "21 (unable to verify the first certificate)"),
    ("expired.badssl.com", 10, "10 (certificate has expired)"),
    ("wrong.host.badssl.com", 62, "62 (hostname mismatch)"),
])
def test_bad_certificates(lab, name, code, openssl_says):
    ip = lab.block + "2"
    with pytest.raises(ssl.SSLCertVerificationError) as err:
        fetch(ip, name, tls=True, ca=lab.ca)
    assert err.value.verify_code == code
    out = subprocess.run(
        ["openssl", "s_client", "-connect", f"{ip}:{HTTPS}", "-servername", name,
         "-CAfile", str(lab.ca), "-verify_hostname", name],
        input="", capture_output=True, text=True, timeout=10, check=False,
    ).stdout
    assert f"Verify return code: {openssl_says}" in out


def test_wrong_host_certificate_names_another_host(lab):
    assert peer_names(lab.block + "2", "wrong.host.badssl.com") == [WRONG_HOST_NAME]


def test_curl_trusts_the_lab_ca(lab):
    out = subprocess.run(
        ["curl", "-sS", "--fail", "--cacert", str(lab.ca), "--resolve",
         f"www.example.com:{HTTPS}:{lab.block}1", f"https://www.example.com:{HTTPS}/"],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout
    assert "<title>Example Domain</title>" in out


# ---------------------------------------------------------------------------------- behaviours


def test_redirects(lab):
    bitly = lab.block + "3"
    r = fetch(bitly, "bit.ly", "/21645", tls=True, ca=lab.ca)
    assert (r.status, r.headers["location"]) == (308, "https://www.example.com/")
    r = fetch(bitly, "bitly.com", "/32447", tls=True, ca=lab.ca)
    assert (r.status, r.headers["location"]) == (308, "http://www.example.com/")
    assert fetch(bitly, "bit.ly", "/unknown", tls=True, ca=lab.ca).status == 404
    with pytest.raises(ConnectionRefusedError):  # bit.ly is HTTPS only
        fetch(bitly, "bit.ly", "/21645")
    r = fetch(lab.block + "1", "example.com", "/some/path")
    assert (r.status, r.headers["location"]) == (308, "https://www.example.com/some/path")


@pytest.mark.parametrize("tls", [False, True])
def test_httpbin_redirect_chain(lab, tls):
    ip, path, hops = lab.block + "7", "/redirect/15", 0
    while True:
        r = fetch(ip, "httpbin.com", path, tls=tls, ca=lab.ca)
        if r.status != 302:
            break
        hops += 1
        path = r.headers["location"]
    assert hops == 15 and path == "/get" and r.status == 200
    doc = json.loads(r.body)
    assert doc["url"] == f"{'https' if tls else 'http'}://httpbin.com/get"


def test_broken_redirect_only_to_clients(lab, outsider_lab):
    for path, location, tls in [("/broken-redirect-http", "http://", False),
                                ("/broken-redirect-https", "https://", True)]:
        r = fetch(lab.block + "7", "httpbin.com", path, tls=tls, ca=lab.ca)
        assert (r.status, r.headers["location"]) == (302, location)
        other = fetch(outsider_lab.block + "7", "httpbin.com", path, tls=tls, ca=lab.ca)
        assert other.status == 200 and "location" not in other.headers


def test_captcha_only_to_clients(lab, outsider_lab):
    for tls in (False, True):
        probe = fetch(lab.block + "6", "www.cloudflare-cache.com", tls=tls, ca=lab.ca)
        other = fetch(outsider_lab.block + "6", "www.cloudflare-cache.com", tls=tls, ca=lab.ca)
        assert probe.status == 503 and title(probe.body) == "Just a moment..."
        assert other.status == 200 and title(other.body) != "Just a moment..."
        ignore = {"date", "content-length"}
        assert set(probe.headers) - ignore == set(other.headers) - ignore


@pytest.mark.parametrize("tls", [False, True])
def test_largefile(lab, tls):
    ip = lab.block + "5"
    head = fetch(ip, "largefile.com", method="HEAD", tls=tls, ca=lab.ca)
    assert head.status == 200 and int(head.headers["content-length"]) == LARGE
    got = fetch(ip, "largefile.com", tls=tls, ca=lab.ca)
    assert len(got.body) == LARGE


@pytest.mark.parametrize("tls", [False, True])
def test_download_of_n_bytes_on_page_and_httpbin_sites(lab, tls):
    for ip, host in ((lab.block + "1", "www.example.com"), (lab.block + "7", "httpbin.com")):
        got = fetch(ip, host, "/download/300000", tls=tls, ca=lab.ca)
        assert got.status == 200 and int(got.headers["content-length"]) == 300000
        assert len(got.body) == 300000 and got.body[:3] == bytes(range(3))
    # beyond the cap, or not a number: the site's own page
    for path in (f"/download/{64 * 1024 * 1024 + 1}", "/download/x"):
        page = fetch(lab.block + "1", "www.example.com", path, tls=tls, ca=lab.ca)
        assert page.status == 200 and title(page.body) == "Example Domain"


def test_slow_client_does_not_block_others(lab):
    slow = http.client.HTTPConnection(lab.block + "5", HTTP, timeout=5)
    try:
        slow.request("GET", "/", headers={"Host": "largefile.com"})
        resp = slow.getresponse()
        assert resp.read(1024) and resp.status == 200  # then stop reading
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=40) as pool:  # dozens of parallel connections
            many = list(pool.map(lambda _: fetch(lab.block + "1", "www.example.com"), range(80)))
        assert all(r.status == 200 for r in many)
        assert time.monotonic() - started < 5
    finally:
        slow.close()


def test_blockpage_server(lab):
    ip = lab.block + "8"
    for host in ("itsat.info", "www.example.org", "whatever"):
        r = fetch(ip, host)
        assert r.status == 200 and title(r.body) == "Access Denied"
    with pytest.raises(ConnectionRefusedError):  # like netemx: HTTPS port closed
        fetch(ip, "itsat.info", tls=True, ca=lab.ca)


# ---------------------------------------------------------------------------------- proxy


def test_proxy_http_returns_real_page(lab):
    direct = fetch(lab.block + "1", "www.example.com")
    proxied = fetch(lab.block + "9", "www.example.com")
    assert proxied.status == 200 and proxied.body == direct.body
    assert proxied.headers["x-lab-site"] == "www.example.com"
    # a name the proxy's resolver does not know: 502
    assert fetch(lab.block + "9", "www.example.xyz").status == 502


def test_proxy_tls_passes_real_certificate(lab):
    direct = fetch(lab.block + "1", "www.example.com", tls=True, ca=lab.ca)
    proxied = fetch(lab.block + "9", "www.example.com", tls=True, ca=lab.ca)  # verifies
    assert proxied.status == 200 and proxied.body == direct.body
    assert peer_names(lab.block + "9", "www.example.com") == ["www.example.com"]


def test_standalone_proxy_program(lab, start_service, block):
    start_service("proxy", {"proxies": [{
        "ip": block + "1", "resolver": f"{lab.block}10:{DNS}", "http_port": HTTP,
        "https_port": HTTPS, "upstream_http_port": HTTP, "upstream_https_port": HTTPS}]})
    r = fetch(block + "1", "www.example.com", tls=True, ca=lab.ca)
    assert r.status == 200 and title(r.body) == "Example Domain"


# ---------------------------------------------------------------------------------- reload


def test_sighup_reload(start_service, block, cert_dir):
    first = {"cert_dir": str(cert_dir), "http_port": HTTP, "https_port": HTTPS, "sites": [
        {"names": ["a.example"], "ips": [block + "1"], "title": "Before"},
        {"names": ["gone.example"], "ips": [block + "3"]},
    ]}
    svc = start_service("web", first)
    assert title(fetch(block + "1", "a.example").body) == "Before"
    second = {**first, "sites": [
        {"names": ["a.example"], "ips": [block + "1"], "title": "After"},
        {"names": ["new.example"], "ips": [block + "2"], "certificate": "expired"},
    ]}
    keep = http.client.HTTPConnection(block + "1", HTTP, timeout=5)  # open across the reload
    try:
        keep.request("GET", "/", headers={"Host": "a.example"})
        assert keep.getresponse().read()
        svc.rewrite(second)
        deadline = time.monotonic() + 3
        while title(fetch(block + "1", "a.example").body) != "After":
            assert time.monotonic() < deadline, "reload not applied"
            time.sleep(0.05)
        keep.request("GET", "/", headers={"Host": "a.example"})
        assert keep.getresponse().status == 200  # the kept connection still works
    finally:
        keep.close()
    assert fetch(block + "2", "new.example").status == 200
    with pytest.raises(ssl.SSLCertVerificationError):
        fetch(block + "2", "new.example", tls=True, ca=ensure_ca(cert_dir))
    with pytest.raises(ConnectionRefusedError):
        fetch(block + "3", "gone.example")
    assert svc.proc.poll() is None


def test_sigterm_during_download_exits_cleanly(start_service, block, cert_dir):
    svc = start_service("web", {"cert_dir": str(cert_dir), "http_port": HTTP, "https_port": HTTPS,
                                "sites": [{"names": ["largefile.com"], "ips": [block + "1"],
                                           "behaviour": "largefile"}]})
    slow = http.client.HTTPConnection(block + "1", HTTP, timeout=5)
    try:
        slow.request("GET", "/", headers={"Host": "largefile.com"})
        assert slow.getresponse().read(100)
        started = time.monotonic()
        assert svc.stop() == 0
        assert time.monotonic() - started < 3
    finally:
        slow.close()
