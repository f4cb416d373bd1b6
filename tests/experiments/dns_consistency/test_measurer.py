"""The ``dns_consistency`` measurer against real loopback servers (no root needed).

Five UDP resolvers on 127.0.0.1 answer ``localhost`` each in their own way — honestly
(127.0.0.1), with a lie (127.0.0.2, where nothing serves TLS), NXDOMAIN, a bogon (10.1.2.3),
or a forged reply followed 200 ms later by the real one — next to the system resolver
(getaddrinfo: 127.0.0.1 and ::1) and a DoH server that is not there. The real control
(in-process as in Web Connectivity's tests, resolving through the honest resolver) is the
reference; a TLS server with a certificate valid for ``localhost`` listens on 127.0.0.1. The
test keys must hold every query (the late reply too), every TLS check, each resolver's class
and whoami's answer; the analysis of the measurement must agree and its statements must
check true.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from censorscope.experiments.dns_consistency.measurer import DNSConsistencyMeasurer
from censorscope.experiments.dns_consistency.options import DNSConsistencyOptions
from censorscope.experiments.interface import ProbeMetadata, Timeouts
from censorscope.pipeline.analyze.analyzer import score
from censorscope.pipeline.analyze.context import AnalysisContext
from censorscope.pipeline.evidence import Facts, check_verdict
from censorscope.pipeline.observe import measurement_row, observe
from tests.experiments.web_connectivity.test_measurer import _Control

sys.path.insert(0, str(Path(__file__).parents[2] / "net"))

from loopback import PKI, TCPServer, UDPDNSServer, dns_reply, make_pki, server_context, tls_handler

WHOAMI = "whoami.test.example"
LATE_GAP = 0.2  # seconds between the injector's forged reply and the real one
TIMEOUTS = Timeouts(dns=1.0, tcp=1.0, tls=1.0, control=8.0, dns_late_window=0.4)


def answering(ip: str | None, *, forged: str | None = None, rcode: int = dns.rcode.NOERROR):
    """A resolver's behaviour: ``ip`` for A queries of ``localhost`` (``forged`` first when
    given), 127.0.0.77 for the whoami name, nothing for other types."""

    def behave(query: dns.message.Message) -> list[bytes]:
        name = query.question[0].name.to_text().rstrip(".")
        a = query.question[0].rdtype == dns.rdatatype.A
        if name == WHOAMI:
            return [dns_reply(query, [("A", "127.0.0.77")] if a else [])]
        if rcode != dns.rcode.NOERROR:
            return [dns_reply(query, rcode=rcode)]
        replies = [dns_reply(query, [("A", forged)] if a else [])] if forged else []
        return [*replies, dns_reply(query, [("A", ip)] if a and ip else [])]

    return behave


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="module")
def measured(pki: PKI) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    with (UDPDNSServer(answering("127.0.0.1")) as honest,
          UDPDNSServer(answering("127.0.0.2")) as liar,
          UDPDNSServer(answering(None, rcode=dns.rcode.NXDOMAIN)) as nx,
          UDPDNSServer(answering("10.1.2.3")) as bogon,
          UDPDNSServer(answering("127.0.0.1", forged="127.0.0.2"),
                       gap=LATE_GAP) as injector,
          TCPServer(tls_handler(server_context(pki.good))) as tls):
        control = _Control(honest.address)
        try:
            names = {"honest": honest.address, "liar": liar.address, "nx": nx.address,
                     "bogon": bogon.address, "injector": injector.address}
            with socket.socket() as closed:  # a DoH server that is not there
                closed.bind(("127.0.0.1", 0))
                doh = f"https://localhost:{closed.getsockname()[1]}/dns-query"
            opts = DNSConsistencyOptions(
                resolvers=tuple(names.values()), doh_urls=(doh,), control_url=control.url,
                ca_file=pki.ca_file, whoami=WHOAMI, system_resolver="",
                public_ranges=(ipaddress.ip_network("127.0.0.0/8"),), timeouts=TIMEOUTS,
                allow_loopback=True, tls_port=tls.port)
            msm = asyncio.run(DNSConsistencyMeasurer(opts).run(
                "localhost", "localhost", probe=ProbeMetadata(), report_id="r",
                test_start_time=datetime.now(UTC)))
        finally:
            control.close()
    yield msm, {**names, "doh": doh}


def _resolver(m: dict[str, Any], address: str) -> dict[str, Any]:
    [r] = [r for r in m["test_keys"]["resolvers"] if r["address"] == address]
    return r


def test_each_resolver_is_classified(measured: tuple[dict[str, Any], dict[str, str]]) -> None:
    m, names = measured
    tk = m["test_keys"]
    assert m["test_name"] == "dns_consistency" and tk["domain"] == "localhost"
    assert tk["reference"] == "control" and tk["control"]["dns"]["addrs"] == ["127.0.0.1"]
    got = {name: _resolver(m, addr)["classification"] for name, addr in names.items()}
    assert got == {"honest": "consistent", "liar": "lie", "nx": "nxdomain", "bogon": "bogon",
                   "injector": "injected", "doh": "error"}
    [system] = [r for r in tk["resolvers"] if r["resolver"] == "system"]
    assert system["engine"] == "getaddrinfo" and system["classification"] == "consistent"
    assert tk["dns_consistency"] == "inconsistent"
    assert set(tk["inconsistent"]) == {f"udp {names[n]}" for n in ("liar", "nx", "bogon",
                                                                    "injector")}
    # an unreachable DoH server is skipped with a note, not an error of the measurement
    doh = _resolver(m, names["doh"])
    assert doh["failure"] == "connection_refused"
    assert doh["note"] == "DoH server unreachable (connection_refused): skipped"
    assert tk["failed"] == [f"doh {names['doh']}"]


def test_every_query_is_recorded_with_the_late_reply(
        measured: tuple[dict[str, Any], dict[str, str]]) -> None:
    m, names = measured
    tk = m["test_keys"]
    injector = _resolver(m, names["injector"])
    assert injector["replies"] == 2
    replies = [q for q in tk["queries"] if q["transaction_id"] == injector["transaction_id"]
               and q["query_type"] == "A"]
    assert [[a["ipv4"] for a in q["answers"]] for q in replies] == [["127.0.0.2"],
                                                                    ["127.0.0.1"]]
    assert replies[0]["tags"] == ["udp"] and replies[1]["tags"] == ["udp", "late_reply"]
    # the real reply is recorded as late: after the forged one by about the injector's gap
    # (half of it allowed for the probe being scheduled late on a busy machine)
    assert replies[1]["t"] - replies[0]["t"] >= LATE_GAP / 2
    nx = [q for q in tk["queries"] if q["resolver_address"] == names["nx"]]
    assert {q["query_type"]: q["failure"] for q in nx} == {"A": "dns_nxdomain_error",
                                                          "AAAA": "dns_nxdomain_error"}
    assert all(q["rcode"] == dns.rcode.NXDOMAIN for q in nx)
    # whoami queries are kept apart, not mistaken for answers of the measured name
    assert all(q["hostname"] == "localhost" for q in tk["queries"])
    assert tk["x_dns_whoami"]["udp_v4"][names["honest"]] == [{"address": "127.0.0.77"}]
    assert {q["hostname"] for q in tk["x_dns_whoami"]["queries"]} == {WHOAMI}


def test_every_answer_ip_is_tls_checked_except_bogons(
        measured: tuple[dict[str, Any], dict[str, str]]) -> None:
    m, names = measured
    tk = m["test_keys"]
    by_ip = {h["address"].rsplit(":", 1)[0].strip("[]"): h for h in tk["tls_handshakes"]}
    assert by_ip["127.0.0.1"]["failure"] is None and by_ip["127.0.0.1"]["server_name"] == \
        "localhost" and by_ip["127.0.0.1"]["no_tls_verify"] is False
    connects = {c["ip"]: c["status"]["failure"] for c in tk["tcp_connect"]}
    assert connects["127.0.0.2"] == "connection_refused"  # the lie: nothing serves it
    assert "10.1.2.3" not in connects
    assert _resolver(m, names["liar"])["answers"][0]["tls"] == "failed"
    assert _resolver(m, names["honest"])["answers"][0]["tls"] == "valid"
    assert any(e["operation"] == "tls_handshake_done" for e in tk["network_events"])


def test_the_analysis_agrees_and_its_statements_hold(
        measured: tuple[dict[str, Any], dict[str, str]]) -> None:
    m, _ = measured
    meta, rows = measurement_row(m, "u1"), observe(m, "u1")
    ctx = AnalysisContext.create(public_ranges=["127.0.0.0/8"])
    for raw in (m, None):
        v = score(meta, rows, ctx, raw)
        assert (v.outcome, v.rule_id, v.mechanism) == ("blocked", "dnsc.injected",
                                                       "dns.injection.other")
        assert check_verdict(v, Facts(meta, rows, raw)) == []
