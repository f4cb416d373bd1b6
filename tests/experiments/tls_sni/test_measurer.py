"""The ``tls_sni`` measurer against real loopback TLS servers (no root needed).

An SNI-filtering server on 127.0.0.1 peeks at each ClientHello: one carrying the blocked name
is dropped (never answered) or reset, any other is served with a certificate for
``test.example``/``localhost`` from a throwaway CA. The target names do not resolve; the IP
comes from the ``ips`` option, as a user measuring a known address would give it.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from censorscope.experiments.interface import ExperimentSettings, ProbeMetadata, Timeouts
from censorscope.experiments.registry import get_experiment
from censorscope.experiments.tls_sni.experiment import make_measurer

sys.path.insert(0, str(Path(__file__).parents[2] / "net"))

from loopback import PKI, TCPServer, make_pki, reset, server_context, silent_after_first_read

BLOCKED = b"blocked.test.example"
TIMEOUTS = Timeouts(dns=1.0, tcp=1.0, tls=0.6)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


def sni_filter(pki: PKI, on_match: str) -> Callable[[socket.socket, threading.Event], None]:
    """A server that drops (``silent``) or resets (``reset``) ClientHellos naming BLOCKED."""
    ctx = server_context(pki.good)

    def handle(sock: socket.socket, stop: threading.Event) -> None:
        hello = sock.recv(65536, socket.MSG_PEEK)
        if BLOCKED in hello:
            if on_match == "reset":
                sock.recv(65536)
                reset(sock)
            else:
                stop.wait(5)
                sock.close()
            return
        try:
            tls = ctx.wrap_socket(sock, server_side=True)
        except OSError:
            sock.close()
            return
        tls.close()

    return handle


def measure(target: str, port: int, pki: PKI, **options: str) -> dict[str, Any]:
    settings = ExperimentSettings(ca_file=pki.ca_file, timeouts=TIMEOUTS, allow_loopback=True,
                                  options={"ips": "127.0.0.1", "port": str(port), **options})
    measurer = make_measurer(settings)
    return asyncio.run(measurer.run(target, get_experiment("tls_sni").parse_input(target),
                                    probe=ProbeMetadata(), report_id="r",
                                    test_start_time=datetime.now(UTC)))


@pytest.fixture
def dropping(pki: PKI) -> Iterator[TCPServer]:
    with TCPServer(sni_filter(pki, "silent")) as server:
        yield server


def the_ip(m: dict[str, Any]) -> dict[str, Any]:
    [result] = m["test_keys"]["results"]
    assert result["ip"] == "127.0.0.1"
    return result


def test_a_dropped_client_hello_with_the_name_is_sni_triggered(
        pki: PKI, dropping: TCPServer) -> None:
    m = measure("https://blocked.test.example/", dropping.port, pki,
                control_sni="test.example")
    tk = m["test_keys"]
    assert m["test_name"] == "tls_sni" and m["input"] == "https://blocked.test.example/"
    assert tk["target"] == tk["server_name"] == "blocked.test.example"
    r = the_ip(m)
    assert r["verdict"] == "sni_triggered" and r["reason_code"] == "name_triggered"
    assert r["sources"] == ["option"] and r["port"] == dropping.port
    target, control, no_sni = r["target"], r["control"], r["no_sni"]
    assert target["failure"] == "generic_timeout_error"
    assert target["failed_operation"] == "tls_handshake"
    assert target["client_hello_written"] and target["bytes_written"] > 100
    assert target["bytes_read"] == 0 and target["cert_valid_for_name"] is None
    assert control["handshake_completed"] and control["server_name"] == "test.example"
    assert no_sni["handshake_completed"] and no_sni["server_name"] == ""
    assert "cert_valid_for_name" not in control
    # the raw events are OONI's: three connects, three handshakes, their reads and writes
    assert len(tk["tcp_connect"]) == 3 and len(tk["tls_handshakes"]) == 3
    by_tid = {h["transaction_id"]: h for h in tk["tls_handshakes"]}
    assert by_tid[target["transaction_id"]]["server_name"] == "blocked.test.example"
    assert by_tid[target["transaction_id"]]["no_tls_verify"] is False
    assert by_tid[control["transaction_id"]]["no_tls_verify"] is True
    ops = [e["operation"] for e in tk["network_events"]
           if e["transaction_id"] == target["transaction_id"]]
    assert ops[:3] == ["connect", "tls_handshake_start", "write"]
    assert ops[-1] == "tls_handshake_done" and "read" in ops
    # control and no-SNI were made before the target (a censor's residual block cannot hurt them)
    assert control["transaction_id"] < no_sni["transaction_id"] < target["transaction_id"]
    assert tk["summary"] == {"verdict": "sni_triggered", "ips": 1,
                             "sni_triggered": ["127.0.0.1"], "ip_blocked": [], "ok": [],
                             "inconclusive": []}
    assert tk["queries"] and tk["queries"][0]["engine"] == "getaddrinfo"


def test_a_reset_after_the_client_hello_is_sni_triggered(pki: PKI) -> None:
    with TCPServer(sni_filter(pki, "reset")) as server:
        m = measure("blocked.test.example", server.port, pki)
    r = the_ip(m)
    assert r["verdict"] == "sni_triggered"
    assert r["target"]["failure"] == "connection_reset"
    assert r["control"]["server_name"] == "example.org"  # the default control name


def test_the_target_completing_with_a_valid_certificate_is_ok(
        pki: PKI, dropping: TCPServer) -> None:
    r = the_ip(measure(f"test.example:{dropping.port}", 443, pki))
    assert r["port"] == dropping.port  # the target's own port wins over the option
    assert r["verdict"] == "ok" and r["target"]["cert_valid_for_name"] is True


def test_a_certificate_for_another_name_is_inconclusive(pki: PKI, dropping: TCPServer) -> None:
    r = the_ip(measure("other.test.example", dropping.port, pki))
    assert r["target"]["failure"] == "ssl_invalid_hostname"
    assert r["target"]["cert_valid_for_name"] is False
    assert (r["verdict"], r["reason_code"]) == ("inconclusive", "certificate")


def test_a_server_silent_for_every_name_is_ip_blocked(pki: PKI) -> None:
    with TCPServer(silent_after_first_read) as server:
        r = the_ip(measure("test.example", server.port, pki))
    assert (r["verdict"], r["reason_code"]) == ("ip_blocked", "all_handshakes_failed")
    assert {r[k]["failure"] for k in ("target", "control", "no_sni")} == {"generic_timeout_error"}


def test_a_refused_connect_is_inconclusive(pki: PKI) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connects are refused
        r = the_ip(measure("test.example", port, pki))
    assert (r["verdict"], r["reason_code"]) == ("inconclusive", "connect_failed_other")
    assert r["target"]["failed_operation"] == "connect"
    assert r["target"]["failure"] == "connection_refused"


def test_no_ip_at_all_is_a_failure_of_the_measurement(pki: PKI) -> None:
    settings = ExperimentSettings(timeouts=TIMEOUTS, options={})
    m = asyncio.run(make_measurer(settings).run(
        "does-not-exist.invalid", "does-not-exist.invalid", probe=ProbeMetadata(),
        report_id="r", test_start_time=datetime.now(UTC)))
    tk = m["test_keys"]
    assert tk["results"] == [] and tk["summary"]["verdict"] == "inconclusive"
    assert tk["failure"] and tk["failure"].startswith("dns_")


@pytest.mark.parametrize(("key", "value", "message"), [
    ("ips", "1.2.3.4,nope", "ips: 'nope' is not an IP address"),
    ("control_sni", "10.0.0.1", "control_sni: '10.0.0.1' is an IP address"),
    ("port", "70000", "port: invalid port"),
])
def test_bad_options_are_refused_naming_the_key(key: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_measurer(ExperimentSettings(options={key: value}))
