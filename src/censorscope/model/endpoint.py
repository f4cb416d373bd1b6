"""Hosts, ports and IP literals: the one way every layer tells them apart, joins and splits them.

Go's ``net`` package is the reference (probe-cli and oohelperd write every ``ip:port`` with
``net.JoinHostPort`` and read it with ``net.SplitHostPort``):

* ``join_host_port("2001:db8::1", 443)`` → ``"[2001:db8::1]:443"``; anything without a colon is
  written as is: ``"192.0.2.1:80"``, ``"example.org:80"``.
* ``split_host_port`` is the strict reader (for input: configuration, requests, flags): it
  wants a port and brackets around an IPv6 host, and raises ``ValueError`` otherwise.
* ``split_address`` is the lenient reader (for recorded data: an archival ``address`` that may
  be anything): it never raises and says ``None`` for what it cannot read.

Pure functions, no I/O.
"""

from __future__ import annotations

import ipaddress

__all__ = ["is_ip", "join_host_port", "split_address", "split_host_port", "split_ip_port"]


def is_ip(text: str) -> bool:
    """True for an IPv4 or IPv6 literal without brackets or port (``"::1"``, ``"192.0.2.1"``)."""

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def join_host_port(host: str, port: int | str | None) -> str:
    """``host:port`` as Go's ``net.JoinHostPort`` writes it: an IPv6 host (any host with a
    colon) in brackets. With ``port=None`` the host alone, without brackets (``"::1"``)."""

    if port is None:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def split_host_port(text: str) -> tuple[str, int]:
    """``"192.0.2.1:53"`` / ``"[::1]:53"`` / ``"example.org:80"`` → ``(host, port)``.

    Go's ``net.SplitHostPort`` (the host comes back without brackets and may be empty, as in
    ``":443"``) plus a port check: decimal digits, 0–65535. ``ValueError`` when the port is
    missing or bad, when an IPv6 host has no brackets (``"::1:53"``: too many colons), or when
    the brackets are malformed. The host is not checked further: use ``is_ip`` for that.
    """

    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or "[" in host:
            raise ValueError(f"{text!r}: missing ']' in address")
        if not rest.startswith(":"):
            raise ValueError(f"{text!r}: missing port in address")
        port = rest[1:]
    else:
        host, sep, port = text.rpartition(":")
        if not sep:
            raise ValueError(f"{text!r}: missing port in address")
        if ":" in host:
            raise ValueError(f"{text!r}: too many colons in address (IPv6 needs brackets)")
        if "[" in host or "]" in host:
            raise ValueError(f"{text!r}: unexpected bracket in address")
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise ValueError(f"{text!r}: invalid port {port!r}")
    return host, int(port)


def split_ip_port(text: str) -> tuple[str, int]:
    """``split_host_port`` for an endpoint that must be an IP literal: ``(ip, port)`` with the
    IP in its canonical form (``"[2001:DB8::0001]:53"`` → ``("2001:db8::1", 53)``).
    ``ValueError`` as ``split_host_port``, and when the host is not an IP address."""

    host, port = split_host_port(text)
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError:
        raise ValueError(f"{text!r} is not an IP-literal endpoint") from None


def split_address(address: object) -> tuple[str | None, int | None]:
    """A recorded ``address`` → ``(host, port)``, never raising.

    ``"1.2.3.4:443"`` / ``"[::1]:443"`` → (ip, port); a bare host or IPv6 literal → (it,
    None); an unreadable port → (host, None); a non-string or ``""`` → (None, None).
    """

    if not isinstance(address, str) or not address:
        return None, None
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host, int(port) if port.isascii() and port.isdigit() else None
    if address.count(":") == 1:
        host, _, port = address.partition(":")
        return host, int(port) if port.isascii() and port.isdigit() else None
    return address, None
