"""``plain_http_ports``: a site also answering plain HTTP on other ports (Telegram's data
centres speak HTTP on 443, WhatsApp's endpoints listen on 5222), run for real on loopback;
and the scenario check refusing a port the site already serves."""

from __future__ import annotations

import http.client

import pytest
from pydantic import ValidationError

from censorscope.lab.schema import Site

HTTP, HTTPS, EXTRA = 18080, 18443, 18444


def test_post_on_a_plain_http_port(start_service, block, cert_dir):  # type: ignore[no-untyped-def]
    start_service("web", {
        "cert_dir": str(cert_dir), "http_port": HTTP, "https_port": HTTPS,
        "client_networks": ["127.0.0.0/8"],
        "sites": [{"names": ["dc.telegram.lab"], "ips": [block + "1"], "https": False,
                   "plain_http_ports": [EXTRA]}]})
    for port in (HTTP, EXTRA):
        conn = http.client.HTTPConnection(block + "1", port, timeout=5)
        try:
            conn.request("POST", "/", body=b"", headers={"Host": f"{block}1:{port}"})
            resp = conn.getresponse()
            resp.read()
        finally:
            conn.close()
        assert resp.status == 404  # an HTTP answer: the Host names no site, as for Telegram
    with pytest.raises(OSError):  # HTTPS is off for this site
        http.client.HTTPConnection(block + "1", HTTPS, timeout=2).connect()


@pytest.mark.parametrize(("https", "http", "port"), [(True, False, 443), (False, True, 80)])
def test_a_port_the_site_serves_is_refused(https: bool, http: bool, port: int) -> None:
    with pytest.raises(ValidationError, match=f"plain_http_ports: port {port}"):
        Site(names=["x.example"], ips=["198.19.1.1"], https=https, http=http,
             plain_http_ports=[port])
