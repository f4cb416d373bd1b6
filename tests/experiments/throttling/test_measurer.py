"""The throttling measurer against a real paced HTTP server on loopback, and its scorer.

The server sends ``/paced/<bytes per second>/<n>`` on a fixed schedule (chunk k leaves at
start + k·chunk/rate, so a late wake-up never lowers the average rate) and
``/download/<n>`` at full speed; ``/short`` is a 100-byte page (a blockpage's size).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import dataclasses
import itertools
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from censorscope.experiments.interface import ExperimentSettings, ProbeMetadata, Timeouts
from censorscope.experiments.registry import get_experiment
from censorscope.experiments.throttling.download import BODY_SNAPSHOT, MAX_IO_EVENTS
from censorscope.experiments.throttling.experiment import make_measurer, summary_row
from censorscope.experiments.throttling.options import ThrottlingOptions, control_for
from censorscope.model.verdict import Verdict
from censorscope.pipeline.analyze.analyzer import score
from censorscope.pipeline.analyze.context import AnalysisContext
from censorscope.pipeline.evidence import CLAIMS, Facts, check_verdict, render
from censorscope.pipeline.observe import measurement_row, observe

CHUNK = 2048


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        parts = head.split(b" ", 2)[1].decode().strip("/").split("/")
        if parts[0] == "short":
            body_len, rate = 100, None
        elif parts[0] == "paced":
            body_len, rate = int(parts[2]), float(parts[1])
        else:
            body_len, rate = int(parts[1]), None
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                     % body_len)
        loop = asyncio.get_running_loop()
        start, sent = loop.time(), 0
        while sent < body_len:
            n = min(CHUNK, body_len - sent)
            writer.write((bytes(range(256)) * (CHUNK // 256))[:n])
            sent += n
            await writer.drain()
            if rate is not None and sent < body_len:
                await asyncio.sleep(max(0.0, start + sent / rate - loop.time()))
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
        pass  # the client went away, or the test is over
    finally:
        writer.close()


def run(body: Callable[[str], Awaitable[None]]) -> None:
    """Run ``body(base URL)`` with the paced server on loopback, in one event loop."""

    async def main() -> None:
        srv = await asyncio.start_server(_serve, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        async with srv:
            await body(f"http://127.0.0.1:{port}")

    asyncio.run(main())


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def options(**kw: Any) -> ThrottlingOptions:
    base: dict[str, Any] = {"size": 100_000, "allow_loopback": True,
                            "timeouts": Timeouts(tcp=2, tls=2, http=8)}
    base.update(kw)
    return ThrottlingOptions(**base)


async def measure(url: str, opts: ThrottlingOptions) -> dict[str, Any]:
    m = make_measurer(ExperimentSettings())
    m.options = opts
    return await m.run(url, url, probe=ProbeMetadata(probe_cc="ZZ", probe_asn=64500),
                       report_id="20261204T000000Z_throttling_ZZ_64500_n1_abcdefgh",
                       test_start_time=datetime.now(UTC))


def scored(msm: dict[str, Any], raw: bool = True) -> tuple[Verdict, Facts]:
    meta, rows = measurement_row(msm, "uid-1"), observe(msm, "uid-1")
    ctx = AnalysisContext()
    ctx.learn(meta, rows)
    return score(meta, rows, ctx, msm if raw else None), Facts(meta, rows, msm if raw else None)


RATE = 40_000.0  # bytes/s: 320 kbit/s


async def _paced_target_is_throttled_against_a_fast_control(server: str) -> None:
    msm = await measure(f"{server}/paced/{RATE:.0f}/100000",
                        options(control_url=f"{server}/download/100000"))
    assert msm["test_name"] == "throttling" and msm["test_version"] == "0.1.0"
    tk = msm["test_keys"]
    target, control = tk["target"], tk["control"]
    assert tk["verdict"] == "throttled", (tk["verdict_reason"], target, control)
    assert tk["ratio"] <= 0.25
    assert target["plateau_kbps"] == pytest.approx(RATE * 8 / 1000, rel=0.15)
    assert target["plateau_method"] == "windows" and target["plateau_windows"] > 10
    assert target["bytes"] == control["bytes"] == 100_000
    assert target["complete"] and target["failure"] is None and target["status_code"] == 200
    assert 2.0 < target["body_time"] < 4.0 and target["total_time"] >= target["body_time"]
    assert 0 <= target["time_to_first_byte"] < 1 and target["tls_handshake_time"] is None
    assert control["url"] == f"{server}/download/100000" and tk["control_url"] == control["url"]
    # throughput over time: one rate per sample interval, around the pace
    rates = [r for _, r in target["throughput"]]
    assert len(rates) >= 20 and sorted(rates)[len(rates) // 2] == pytest.approx(320, rel=0.3)

    # OONI's records: both downloads, their samples, truncated bodies, capped I/O events
    samples = [e for e in tk["network_events"] if e["operation"] == "bytes_received_cumulative"]
    assert {e["transaction_id"] for e in samples} == {1, 2}
    ts = [e["t"] for e in samples if e["transaction_id"] == 1]
    gaps = [b - a for a, b in itertools.pairwise(ts)]
    assert sorted(gaps)[len(gaps) // 2] == pytest.approx(0.1, abs=0.03)
    assert samples[-1]["num_bytes"] > 100_000  # body + head, TCP level
    for tid in (1, 2):
        io = [e for e in tk["network_events"]
              if e["transaction_id"] == tid and e["operation"] in ("read", "write")]
        assert 0 < len(io) <= MAX_IO_EVENTS
    assert [r["transaction_id"] for r in tk["requests"]] == [2, 1]
    for r in tk["requests"]:
        body = r["response"]["body"]
        assert r["response"]["body_is_truncated"] is True and r["response"]["code"] == 200
        assert isinstance(body, dict) and body["format"] == "base64"
        assert base64.b64decode(body["data"]) == bytes(range(256)) * (BODY_SNAPSHOT // 256)
    assert [c["transaction_id"] for c in tk["tcp_connect"]] == [1, 2]
    hint, step = summary_row(msm)
    assert hint == f"throttled {target['plateau_kbps']}/{control['plateau_kbps']} kbit/s"
    assert step == "-"

    # the scorer recomputes the rates from the events and agrees; every statement is true
    verdict, facts = scored(msm)
    assert (verdict.outcome, verdict.layer, verdict.mechanism, verdict.rule_id) == (
        "impaired", "throttling", "throttle.ip", "throttling.slow")
    assert verdict.rules_version == "cs-throttling-1"
    assert check_verdict(verdict, facts) == []
    texts = " | ".join(e.text for e in verdict.evidence)
    assert f"plateau {target['plateau_kbps']} kbit/s" in texts and "throttled" in texts

    # without the raw measurement there are no samples: insufficient, and said so
    verdict, facts = scored(msm, raw=False)
    assert (verdict.outcome, verdict.rule_id) == ("insufficient", "test.no_data")
    assert [e.claim for e in verdict.evidence] == ["scorer.raw_needed"]
    assert check_verdict(verdict, facts) == []


def test_paced_target_is_throttled_against_a_fast_control() -> None:
    run(_paced_target_is_throttled_against_a_fast_control)


async def _tampered_facts_and_events_are_caught(server: str) -> None:
    msm = await measure(f"{server}/paced/{RATE:.0f}/60000",
                        options(size=60_000, control_url=f"{server}/download/60000"))
    verdict, facts = scored(msm)
    assert check_verdict(verdict, facts) == []
    for i, ev in enumerate(verdict.evidence):
        for key, value in ev.facts.items():
            changed = dict(ev.facts)
            changed[key] = (value * 2 if isinstance(value, int | float) and value
                            else f"{value}x")
            text = render(CLAIMS[ev.claim].template, changed)
            bad = dataclasses.replace(ev, facts=changed, text=text)
            items = list(verdict.evidence)
            items[i] = bad
            lie = dataclasses.replace(verdict, evidence=tuple(items))
            assert check_verdict(lie, facts), (ev.claim, key)
    # the probe's samples doctored (the target twice as fast): the stated rates do not hold
    doctored = copy.deepcopy(msm)
    for e in doctored["test_keys"]["network_events"]:
        if e["operation"] == "bytes_received_cumulative" and e["transaction_id"] == 1:
            e["num_bytes"] *= 2
    assert check_verdict(verdict, dataclasses.replace(facts, raw=doctored))


def test_tampered_facts_and_events_are_caught() -> None:
    run(_tampered_facts_and_events_are_caught)


async def _unthrottled_target_is_ok(server: str) -> None:
    msm = await measure(f"{server}/download/100000",
                        options(control_url=f"{server}/"))  # same path on the control
    tk = msm["test_keys"]
    assert tk["control"]["url"] == f"{server}/download/100000"
    assert tk["verdict"] == "ok", tk["verdict_reason"]
    assert tk["target"]["complete"] and tk["target"]["body_time"] < 1.0
    verdict, facts = scored(msm)
    assert (verdict.outcome, verdict.rule_id) == ("ok", "throttling.ok")
    assert check_verdict(verdict, facts) == []


def test_unthrottled_target_is_ok() -> None:
    run(_unthrottled_target_is_ok)


async def _deadline_after_progress_counts_as_slow_not_failed(server: str) -> None:
    msm = await measure(f"{server}/paced/{RATE:.0f}/1000000",
                        options(size=1_000_000, control_url=f"{server}/download/1000000",
                                timeouts=Timeouts(tcp=2, tls=2, http=2.5)))
    tk = msm["test_keys"]
    target = tk["target"]
    assert target["failure"] == "generic_timeout_error"
    assert target["failed_operation"] == "http_round_trip"
    assert 0 < target["bytes"] < 1_000_000 and not target["complete"]
    assert tk["requests"][-1]["failure"] == "generic_timeout_error"
    assert tk["verdict"] == "throttled", tk["verdict_reason"]
    verdict, facts = scored(msm)
    assert (verdict.outcome, verdict.mechanism) == ("impaired", "throttle.ip")
    assert check_verdict(verdict, facts) == []


def test_deadline_after_progress_counts_as_slow_not_failed() -> None:
    run(_deadline_after_progress_counts_as_slow_not_failed)


async def _short_body_is_not_a_download(server: str) -> None:
    msm = await measure(f"{server}/short", options(control_url=f"{server}/download/100000"))
    tk = msm["test_keys"]
    assert tk["target"]["bytes"] == 100 and not tk["target"]["complete"]
    assert tk["verdict"] == "inconclusive"
    verdict, facts = scored(msm)
    assert (verdict.outcome, verdict.rule_id) == ("insufficient", "throttling.inconclusive")
    assert check_verdict(verdict, facts) == []


def test_short_body_is_not_a_download() -> None:
    run(_short_body_is_not_a_download)


async def _refused_target_with_control_is_blocked_at_tcp(server: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}/download/100000"
    msm = await measure(url, options(control_url=f"{server}/download/100000"))
    tk = msm["test_keys"]
    assert tk["target"]["failure"] == "connection_refused"
    assert tk["target"]["failed_operation"] == "connect"
    assert tk["verdict"] == "inconclusive" and tk["requests"][-1]["transaction_id"] == 2
    assert summary_row(msm)[1] == "connect: connection_refused"
    verdict, facts = scored(msm)
    assert (verdict.outcome, verdict.layer, verdict.mechanism, verdict.rule_id) == (
        "blocked", "tcp", "tcp.refused", "throttling.target_failed")
    assert [e.claim for e in verdict.evidence] == ["rows.tcp_failed",
                                                   "throttling.control_answered"]
    assert check_verdict(verdict, facts) == []
    # the same without a control: no evidence of blocking
    msm = await measure(url, options())
    verdict, facts = scored(msm)
    assert (verdict.outcome, verdict.rule_id) == ("insufficient",
                                                  "throttling.target_failed_no_ctrl")
    assert check_verdict(verdict, facts) == []


def test_refused_target_with_control_is_blocked_at_tcp() -> None:
    run(_refused_target_with_control_is_blocked_at_tcp)


async def _no_control_flat_policer_is_throttled(server: str) -> None:
    msm = await measure(f"{server}/paced/{RATE:.0f}/100000", options())
    tk = msm["test_keys"]
    assert tk["control"] is None and tk["ratio"] is None
    assert tk["target"]["plateau_cv"] <= 0.1, tk["target"]
    assert tk["verdict"] == "throttled"
    verdict, facts = scored(msm)
    assert (verdict.outcome, verdict.layer, verdict.mechanism, verdict.rule_id) == (
        "impaired", "throttling", None, "throttling.policer_no_ctrl")
    assert check_verdict(verdict, facts) == []


def test_no_control_flat_policer_is_throttled() -> None:
    run(_no_control_flat_policer_is_throttled)


def test_registry_entry_and_options() -> None:
    exp = get_experiment("throttling")
    assert (exp.test_name, exp.test_version, exp.inputs.value) == ("throttling", "0.1.0", "urls")
    assert set(exp.options) == {"control_url", "size", "sample_interval"}
    assert exp.warnings(ExperimentSettings()) and not exp.warnings(
        ExperimentSettings(options={"control_url": "https://c.example/"}))
    opts = ThrottlingOptions.from_settings(ExperimentSettings(options={
        "size": "65536", "sample_interval": "0.25", "control_url": " https://c.example/x "}))
    assert (opts.size, opts.sample_interval, opts.control_url) == (
        65536, 0.25, "https://c.example/x")
    defaults = ThrottlingOptions.from_settings(ExperimentSettings())
    assert (defaults.size, defaults.sample_interval, defaults.control_url) == (524288, 0.1, None)
    for key, value in (("size", "big"), ("size", "0"), ("sample_interval", "0"),
                       ("sample_interval", "nan"), ("control_url", "ftp://c.example/")):
        with pytest.raises(ValueError, match=f"throttling.{key}"):
            make_measurer(ExperimentSettings(options={key: value}))


def test_control_url_takes_the_target_path_when_it_has_none() -> None:
    target = "https://t.example/download/524288?x=1"
    assert control_for("https://c.example", target) == "https://c.example/download/524288?x=1"
    assert control_for("https://c.example/", target) == "https://c.example/download/524288?x=1"
    assert control_for("https://c.example/big.bin", target) == "https://c.example/big.bin"


def test_the_collector_accepts_the_test_name() -> None:
    from censorscope.collector.testnames import canonical_test_name

    assert canonical_test_name("throttling") == "throttling"
