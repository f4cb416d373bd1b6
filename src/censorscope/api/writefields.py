"""Checks of the fields people write through the API (findings, feedback): sizes and forms,
each refusal a 400 naming the field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

from .errors import bad_parameter

__all__ = ["MAX_LINKS", "MAX_LINK_LENGTH", "MAX_TEXT_BYTES", "check_links", "check_text"]

MAX_TEXT_BYTES: Final = 10_000  # a finding's text, a feedback comment: 10 kB of UTF-8
MAX_LINKS: Final = 20
MAX_LINK_LENGTH: Final = 2000


def _has_control(text: str, *, allow_newlines: bool) -> bool:
    allowed = "\n\r\t" if allow_newlines else ""
    return any((ord(ch) < 32 and ch not in allowed) or ord(ch) == 127 for ch in text)


def check_text(name: str, text: str, *, required: bool) -> str:
    """``text`` (stripped of surrounding white space): at most 10 kB, no control characters
    but newlines and tabs, not empty when ``required``."""
    value = text.strip()
    if required and not value:
        raise bad_parameter(name, "empty")
    size = len(value.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise bad_parameter(name, f"{size} bytes; at most {MAX_TEXT_BYTES} (UTF-8)")
    if _has_control(value, allow_newlines=True):
        raise bad_parameter(name, "control characters (other than newlines and tabs)")
    return value


def check_links(name: str, links: Sequence[str]) -> list[str]:
    """At most 20 absolute http(s) URLs with a host, each at most 2,000 characters, no
    white space or control characters; repeated ones kept once."""
    if len(links) > MAX_LINKS:
        raise bad_parameter(name, f"{len(links)} links; at most {MAX_LINKS}")
    out: list[str] = []
    for link in links:
        if len(link) > MAX_LINK_LENGTH:
            raise bad_parameter(name, f"a link longer than {MAX_LINK_LENGTH} characters")
        if any(ch.isspace() for ch in link) or _has_control(link, allow_newlines=False):
            raise bad_parameter(name, "a link with white space or control characters", link)
        try:
            parts = urlsplit(link)
            host = parts.hostname
        except ValueError:
            host = None
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not host:
            raise bad_parameter(name, "not an absolute http(s) URL", link)
        if link not in out:
            out.append(link)
    return out
