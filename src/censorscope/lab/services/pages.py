"""The bodies the lab web server sends: site pages, CAPTCHA, blockpage, 404, httpbin JSON.

Everything is deterministic (same site → same bytes), so the probe and the control see identical
pages unless a censor interferes.
"""

from __future__ import annotations

import hashlib
import html
import json

__all__ = [
    "BLOCKPAGE",
    "CAPTCHA_TITLE",
    "blockpage",
    "captcha_page",
    "derived_title",
    "httpbin_get",
    "not_found_page",
    "site_page",
]

CAPTCHA_TITLE = "Just a moment..."

_WORDS = (
    "network measurement observatory lantern harbour meadow granite pioneer archive orchard "
    "compass festival horizon library mountain quarterly resilient spectrum telegraph village "
    "whisper yellow zeppelin bicycle cathedral dolphin elephant fountain glacier hemisphere"
).split()

BLOCKPAGE = (
    b"<html><head><title>Access Denied</title></head><body><h1>Access Denied</h1>"
    b"<p>Access to this website has been blocked by order of the authorities.</p>"
    b"</body></html>\n"
)


def derived_title(name: str) -> str:
    """``www.example.com`` → ``Example — censorscope lab``."""
    labels = [x for x in name.split(".") if x not in ("www", "")]
    core = labels[0] if labels else name
    return f"{core.capitalize()} — censorscope lab"


def _paragraphs(seed: str, count: int) -> list[str]:
    out = []
    digest = hashlib.sha256(seed.encode()).digest()
    for i in range(count):
        digest = hashlib.sha256(digest + bytes([i])).digest()
        words = [_WORDS[b % len(_WORDS)] for b in digest[:24]]
        out.append(" ".join(words).capitalize() + ".")
    return out


def site_page(site_key: str, title: str) -> bytes:
    """A few KB of HTML distinct per site, with ``<title>`` = ``title``."""
    t = html.escape(title)
    paras = "\n".join(f"<p>{html.escape(p)}</p>" for p in _paragraphs(site_key, 12))
    return (
        f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title></head>\n"
        f"<body><h1>{t}</h1>\n<p>This is {html.escape(site_key)}, a site of the censorscope "
        f"lab.</p>\n{paras}\n</body></html>\n"
    ).encode()


def captcha_page() -> bytes:
    """Cloudflare-like "Just a moment..." interstitial (sent with status 503)."""
    return (
        f"<!DOCTYPE html><html lang=\"en-US\"><head><title>{CAPTCHA_TITLE}</title>"
        "<meta charset=\"UTF-8\"></head><body><div class=\"main-wrapper\"><h1>Checking if the "
        "site connection is secure</h1><p>Enable JavaScript and cookies to continue</p>"
        "</div></body></html>\n"
    ).encode()


def blockpage() -> bytes:
    return BLOCKPAGE


def not_found_page(host: str) -> bytes:
    h = html.escape(host)
    return (
        f"<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>"
        f"<p>No site {h} here, or no such path.</p></body></html>\n"
    ).encode()


def httpbin_get(url: str, headers: dict[str, str], origin: str) -> bytes:
    """httpbin's ``/get`` JSON."""
    doc = {"args": {}, "headers": headers, "origin": origin, "url": url}
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
