"""The 73 real test-helper request/response pairs (OONI fixtures, reference §2).

* every real request parses through ``protocol.parse_request``;
* every real response validates against ``schema`` (modern oohelperd ones strictly, the
  older helpers' ones in legacy mode);
* every pair, replayed against our control with its hosts mapped onto a loopback
  "lab-equivalent" address serving HTTP on :80 and HTTPS on :443, gets a response with the
  same shape: each key the real response has, ours has, with the same JSON type (``failure``
  may be null on one side and a string on the other), at every level.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import random
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from censorscope.control.client import call_control
from censorscope.control.protocol import parse_request
from censorscope.control.schema import response_problems
from censorscope.model.endpoint import is_ip
from censorscope.model.ipinfo import is_bogon

from .conftest import Loopback
from .sites import ControlProcess, Site, server_context, start_dns, start_site, stop_dns

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ooni-samples"
PAIRS_FILE = SAMPLES / "test-helper" / "th_request_response_pairs.jsonl"
PAIRS = [json.loads(line) for line in PAIRS_FILE.read_text(encoding="utf-8").splitlines()]
IDS = [f"{i:02d}-{Path(p['fixture']).parent.name or Path(p['fixture']).stem}"
       for i, p in enumerate(PAIRS)]
SHOW = bool(os.environ.get("CONTROL_SHOW_PAIRS"))
MAP_KEYS = {"tcp_connect", "tls_handshake", "quic_handshake", "ip_info", "headers"}


def test_the_fixture_has_73_pairs() -> None:
    assert len(PAIRS) == 73
    assert sum(p["request"] is not None for p in PAIRS) == 58
    assert sum(p["response"] is not None for p in PAIRS) == 71


@pytest.mark.parametrize("pair", [p for p in PAIRS if p["request"]],
                         ids=[i for i, p in zip(IDS, PAIRS, strict=True) if p["request"]])
def test_real_request_parses(pair: dict[str, Any]) -> None:
    raw = pair["request"]
    req = parse_request(json.dumps(raw).encode())
    probe_ips = {ep.rsplit(":", 1)[0].strip("[]") for ep in raw["tcp_connect"] or []}
    assert set(req.probe_ips) == {str(ipaddress.ip_address(ip)) for ip in probe_ips}
    assert req.scheme == urlsplit(raw["http_request"]).scheme
    assert req.host.isascii() and req.host == req.host.lower()


@pytest.mark.parametrize("pair", [p for p in PAIRS if p["response"]],
                         ids=[i for i, p in zip(IDS, PAIRS, strict=True) if p["response"]])
def test_real_response_validates(pair: dict[str, Any]) -> None:
    response = pair["response"]
    assert response_problems(response, strict=False) == []
    modern = "quic_handshake" in response
    assert (response_problems(response) == []) == modern


# --- shape equality ----------------------------------------------------------------------------


def shape_problems(real: Any, ours: Any, path: str = "$", key: str = "") -> list[str]:
    """Where ``ours`` lacks a key of ``real`` or has a different JSON type."""

    if real is None:
        return []  # legacy helpers sent null where today's send a value
    if key == "failure" and (ours is None or isinstance(ours, str)) and isinstance(real, str):
        return []
    if key in MAP_KEYS and isinstance(real, dict):
        if not isinstance(ours, dict):
            return [f"{path}: expected a map, got {type(ours).__name__}"]
        problems: list[str] = []
        for real_value in real.values():
            for ours_value in ours.values():
                problems += shape_problems(real_value, ours_value, f"{path}[*]")
        return problems
    if isinstance(real, dict):
        if not isinstance(ours, dict):
            return [f"{path}: expected an object, got {type(ours).__name__}"]
        problems = []
        for k, v in real.items():
            if k not in ours:
                problems.append(f"{path}: missing key {k!r}")
            else:
                problems += shape_problems(v, ours[k], f"{path}.{k}", k)
        return problems
    if isinstance(real, list):
        if not isinstance(ours, list):
            return [f"{path}: expected a list, got {type(ours).__name__}"]
        return [p for r in real[:1] for o in ours for p in shape_problems(r, o, f"{path}[]")]
    if key == "failure" and ours is None:
        return []
    if type(real) is not type(ours):
        return [f"{path}: expected {type(real).__name__}, got {type(ours).__name__}"]
    return []


def test_shape_problems_detects_differences() -> None:
    real = {"dns": {"failure": None, "addrs": ["1.2.3.4"]}, "tcp_connect": {"a": {"status": True}}}
    assert shape_problems(real, {"dns": {"failure": "x", "addrs": []},
                                 "tcp_connect": {"b": {"status": False, "failure": None}}}) == []
    assert shape_problems(real, {"dns": {"failure": None, "addrs": [1]},
                                 "tcp_connect": {}}) == ["$.dns.addrs[]: expected str, got int"]
    assert shape_problems(real, {"dns": {"addrs": []}, "tcp_connect": {"b": {"status": 1}}}) == [
        "$.dns: missing key 'failure'", "$.tcp_connect[*].status: expected bool, got int"
    ]


def _names() -> list[str]:
    names = set()
    for pair in PAIRS:
        url = pair["request"]["http_request"] if pair["request"] else pair["input"]
        host = urlsplit(url).hostname or ""
        names.add(host.encode("idna").decode().lower())
    return sorted(n for n in names if not is_ip(n))


class ShapeLab:
    def __init__(self, ip: str, control: ControlProcess) -> None:
        self.ip = ip
        self.control = control

    def map_request(self, pair: dict[str, Any]) -> dict[str, Any]:
        raw = pair["request"] or {"http_request": pair["input"]}
        parts = urlsplit(raw["http_request"])
        url = raw["http_request"]
        if is_ip(parts.hostname or ""):
            netloc = self.ip + (f":{parts.port}" if parts.port else "")
            url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        endpoints = []
        for ep in raw.get("tcp_connect") or []:
            ip, _, port = ep.rpartition(":")
            ip = ip.strip("[]")
            endpoints.append(ep if is_bogon(ip) else f"{self.ip}:{port}")
        out = dict(raw)
        out["http_request"] = url
        out["tcp_connect"] = endpoints
        return out


@pytest.fixture(scope="module")
def shape_lab(loopback: Loopback, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[ShapeLab]:
    ip = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    for port in (80, 443):
        try:
            with socket.socket() as probe:
                probe.bind((ip, port))
        except PermissionError:
            pytest.skip("binding ports 80/443 needs root (or a low unprivileged-port start)")
    ctx = server_context(*loopback.ca.issue("shape", [*_names(), ip]))

    async def setup() -> tuple[Any, str, Site, Site]:
        zone, dns = await start_dns()
        zone.default = [ip]
        return zone, dns, await start_site(ip, 80), await start_site(ip, 443, ctx=ctx)

    zone, dns, http, https = loopback.loop.run(setup())
    log = tmp_path_factory.mktemp("shape") / "control.log"
    args = [
        "--listen", "127.0.0.1:0", "--resolver", f"udp://{dns}", "--ca-file",
        loopback.ca.ca_file, "--asn-table", loopback.asn_table, "--timeout", "2",
        "--allow-range", f"{ip}/32",
    ]
    control = ControlProcess(args, log)
    try:
        yield ShapeLab(ip, control)
    finally:
        control.close()

        async def teardown() -> None:
            for site in (http, https):
                site.server.close()
                await site.server.wait_closed()
            await stop_dns(zone)

        loopback.loop.run(teardown())


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_live_response_has_the_real_shape(pair: dict[str, Any], shape_lab: ShapeLab) -> None:
    request = shape_lab.map_request(pair)
    ours = asyncio.run(call_control(shape_lab.control.url, request, timeout=30, ca_file=None,
                                    user_agent="ooniprobe-cli/3.20.0"))
    assert response_problems(ours) == []
    if SHOW:
        print(json.dumps({"request": request, "ours": ours, "real": pair["response"]}))
    if pair["response"] is not None:
        assert shape_problems(pair["response"], ours) == []
        # the same top-level keys as the modern helper (tls_handshake/ip_info are omitempty)
        if "quic_handshake" in pair["response"]:
            real_keys = set(pair["response"])
            assert real_keys - {"tls_handshake", "ip_info"} <= set(ours)
            assert ("tls_handshake" in real_keys) <= ("tls_handshake" in ours)
