"""TLS SNI censor kinds, proven with curl and openssl s_client in the client namespace."""

from __future__ import annotations

import pytest

from censorscope.lab.schema import Policy

pytestmark = pytest.mark.lab

SRV = "203.0.113.10"
CURL_TIMEOUT = 28
CURL_SSL_CONNECT = 35


def pol(kind: str, **kw: object) -> Policy:
    return Policy(kind=kind, isp="isp1", **kw)  # type: ignore[arg-type]


def https(topo, name: str):
    return topo.curl(f"https://{name}/", "--resolve", f"{name}:443:{SRV}")


def s_client(topo, name: str):
    """openssl s_client handshake with SNI ``name`` to the server IP (1.5 s at most)."""
    return topo.client(
        "timeout", "1.5", "openssl", "s_client", "-connect", f"{SRV}:443",
        "-servername", name, "-brief", timeout=5,
    )


def handshake_done(r) -> bool:
    return "Protocol version" in r.stderr or "Cipher is" in r.stdout + r.stderr


def test_sni_drop_blocks_exact_name_only(topo, censor):
    censor(pol("sni_drop", sni=["tiktok.com"]))
    r = https(topo, "tiktok.com")
    assert r.returncode == CURL_TIMEOUT, r.stderr
    assert not handshake_done(s_client(topo, "tiktok.com"))
    # the same IP completes a handshake with another SNI, and with a longer name containing it
    assert handshake_done(s_client(topo, "other.example"))
    ok = https(topo, "www.tiktok.com")
    assert ok.returncode == 0 and "real content" in ok.stdout, ok.stderr


def test_sni_reset(topo, censor):
    censor(pol("sni_reset", sni=["www.tiktok.com"]))
    r = https(topo, "www.tiktok.com")
    assert r.returncode == CURL_SSL_CONNECT, r.stderr
    assert "reset" in r.stderr.lower()
    assert https(topo, "tiktok.com").returncode == 0


def test_sni_eof(topo, censor):
    censor(pol("sni_eof", sni=["www.tiktok.com"]))
    r = https(topo, "www.tiktok.com")
    assert r.returncode == CURL_SSL_CONNECT, r.stderr
    err = r.stderr.lower()
    assert "eof" in err or "ssl_error_syscall" in err, r.stderr
    assert "reset" not in err
    assert https(topo, "other.example").returncode == 0
