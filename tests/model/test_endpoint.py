"""Hosts, ports and IP literals (censorscope.model.endpoint), Go's net.JoinHostPort and
net.SplitHostPort being the reference."""

from __future__ import annotations

from typing import Any

import pytest

from censorscope.model.endpoint import (
    is_ip,
    join_host_port,
    split_address,
    split_host_port,
    split_ip_port,
)


@pytest.mark.parametrize(("text", "ip"), [
    ("192.0.2.1", True), ("2001:db8::1", True), ("::1", True), ("::ffff:192.0.2.1", True),
    ("[::1]", False), ("192.0.2.1:80", False), ("example.org", False), ("", False),
    ("1.2.3", False), ("256.0.0.1", False),
])
def test_is_ip(text: str, ip: bool) -> None:
    assert is_ip(text) is ip


@pytest.mark.parametrize(("host", "port", "joined"), [
    ("192.0.2.1", 80, "192.0.2.1:80"),
    ("2001:db8::1", 443, "[2001:db8::1]:443"),
    ("example.org", "8080", "example.org:8080"),
    ("", 443, ":443"),
    ("::1", None, "::1"),  # no port: the host alone (the pipeline's copy wrote "::1:None")
    ("192.0.2.1", None, "192.0.2.1"),
])
def test_join_host_port(host: str, port: int | str | None, joined: str) -> None:
    assert join_host_port(host, port) == joined


@pytest.mark.parametrize(("text", "parts"), [
    ("192.0.2.1:53", ("192.0.2.1", 53)),
    ("[::1]:53", ("::1", 53)),
    ("[2001:db8::1]:443", ("2001:db8::1", 443)),
    ("example.org:80", ("example.org", 80)),
    (":443", ("", 443)),  # Go allows an empty host
    ("[::1]:0", ("::1", 0)),
    ("0.0.0.0:65535", ("0.0.0.0", 65535)),
])
def test_split_host_port(text: str, parts: tuple[str, int]) -> None:
    assert split_host_port(text) == parts
    assert split_host_port(join_host_port(*parts)) == parts


@pytest.mark.parametrize("bad", [
    "192.0.2.1",  # missing port (net.dns's copy: int("") ValueError; probe's: default port)
    "[::1]",  # missing port
    "::1:53",  # IPv6 without brackets: net.dns's and the control's CLI copies took it
    "2001:db8::1",
    "[::1:53",  # missing ']'
    "[::1]53",
    "a]b:53", "[a[b]:53",
    "192.0.2.1:",  # empty port
    "192.0.2.1:http",
    "192.0.2.1:+53", "192.0.2.1: 53", "192.0.2.1:5\u00b33",
    "192.0.2.1:65536",
])
def test_split_host_port_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        split_host_port(bad)


def test_split_ip_port_wants_an_ip_and_canonicalises_it() -> None:
    assert split_ip_port("192.0.2.1:53") == ("192.0.2.1", 53)
    assert split_ip_port("[2001:DB8::0001]:53") == ("2001:db8::1", 53)
    for bad in ("example.org:53", ":53", "[::1]", "::1:53", "1.2.3:53"):
        with pytest.raises(ValueError):
            split_ip_port(bad)


@pytest.mark.parametrize(("address", "parts"), [
    ("1.2.3.4:443", ("1.2.3.4", 443)),
    ("[::1]:443", ("::1", 443)),
    ("[::1]", ("::1", None)),
    ("::1", ("::1", None)),  # a bare IPv6 literal is a host without port
    ("1.2.3.4", ("1.2.3.4", None)),
    ("1.2.3.4:x", ("1.2.3.4", None)),
    ("1.2.3.4:\u00b2", ("1.2.3.4", None)),  # a Unicode digit is not a port (and does not raise)
    ("example.org:80", ("example.org", 80)),
    ("", (None, None)),
    (None, (None, None)),
    (443, (None, None)),
])
def test_split_address_never_raises(address: Any, parts: tuple[Any, Any]) -> None:
    assert split_address(address) == parts
