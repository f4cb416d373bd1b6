"""The control answers OONI's real test-helper requests in the lab.

The real pairs of ``th_request_response_pairs.jsonl`` recorded in OONI's QA environment (the
others were recorded against real-world sites, or hold only a response; ``tests/control``
replays their shape against loopback sites): the lab's QA topology keeps those host names and
maps every address a.b.X.Y onto 198.19.X.Y. Each request, with its addresses
mapped, is sent from the probe host to the lab's control (HTTPS, ``0.th.ooni.org``). Every
response must have the real response's shape (``shape_problems``), and where the lab reproduces
the same server (no censorship touches the control's vantage point in these cases) the same
verdict-relevant values: TLS failure per endpoint and HTTP status code.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from censorscope.lab.runtime import Lab, LabState
from censorscope.model.ipinfo import is_bogon
from tests.control.test_real_pairs import PAIRS, shape_problems
from tests.e2e.labkit import lab_running, requires_root
from tests.e2e.qakit import SHARED, qa_all_phases

REPLAY = """
import asyncio, json, sys
from censorscope.control.client import call_control
cfg = json.loads(sys.argv[1])
async def main():
    for line in sys.stdin:
        req = json.loads(line)
        try:
            out = await call_control(cfg["url"], req, timeout=20, ca_file=cfg["ca"],
                                     user_agent="censorscope-e2e/1.0")
        except Exception as exc:
            out = {"__error__": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(out), flush=True)
asyncio.run(main())
"""


def lab_ip(ip: str) -> str:
    """The lab address of a QA-environment address (bogons stay what they are)."""
    addr = ipaddress.ip_address(ip)
    if addr.version != 4 or is_bogon(ip):
        return ip
    x, y = str(addr).split(".")[2:]
    return f"198.19.{x}.{y}"


def map_endpoint(ep: str) -> str:
    ip, _, port = ep.rpartition(":")
    return f"{lab_ip(ip.strip('[]'))}:{port}" if "." in ip else ep


def map_request(req: dict[str, Any]) -> dict[str, Any]:
    return dict(req, tcp_connect=[map_endpoint(ep) for ep in req.get("tcp_connect") or []])


# The pairs recorded in OONI's QA environment, whose hosts the lab reproduces (the others were
# recorded against real-world sites; tests/control replays their shape on loopback sites).
REPLAYABLE = [
    p for p in PAIRS if p["request"] and p["response"] and "/generated/" in p["fixture"]
]


def case_of(pair: dict[str, Any]) -> str:
    """The QA case a pair was recorded in (``…/generated/<case>/measurement.json``)."""
    return Path(pair["fixture"]).parent.name


@pytest.fixture(scope="module")
def replies() -> Iterator[list[dict[str, Any]]]:
    """Each request replayed with the lab in its own case's phase (the control's view of DNS
    differs in some cases, e.g. localhost everywhere); cases that change more than policies are
    replayed in the first shared phase and only their shape is compared."""
    with lab_running(qa_all_phases()) as (lab, state):
        out: list[dict[str, Any]] = []
        for pair in REPLAYABLE:
            lab.phase(case_of(pair) if case_of(pair) in SHARED else SHARED[0])
            out += _replay(lab, state, [pair])
        yield out


def _replay(lab: Lab, state: LabState, pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cfg = json.dumps({"url": "https://0.th.ooni.org/", "ca": str(state.ca_file)})
    stdin = "".join(json.dumps(map_request(p["request"])) + "\n" for p in pairs)
    host = state.probe_hosts("garr")[0]
    proc = lab.exec(host, [sys.executable, "-c", REPLAY, cfg], input=stdin,
                    capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


@requires_root
@pytest.mark.lab
@pytest.mark.slow
def test_control_answers_every_real_request_with_the_real_shape(
    replies: list[dict[str, Any]],
) -> None:
    assert len(REPLAYABLE) >= 45
    assert len(replies) == len(REPLAYABLE)
    problems: dict[str, list[str]] = {}
    for pair, ours in zip(REPLAYABLE, replies, strict=True):
        assert "__error__" not in ours, (pair["fixture"], ours)
        found = shape_problems(pair["response"], ours)
        if found:
            problems[pair["fixture"]] = found
    assert problems == {}


@requires_root
@pytest.mark.lab
@pytest.mark.slow
def test_control_values_match_the_qa_environment(replies: list[dict[str, Any]]) -> None:
    compared = 0
    mismatches: list[str] = []
    for pair, ours in zip(REPLAYABLE, replies, strict=True):
        real = pair["response"]
        if case_of(pair) not in SHARED:
            continue  # replayed outside its own condition: only the shape is comparable
        compared += 1
        real_tls = {
            map_endpoint(ep): v["failure"] for ep, v in real.get("tls_handshake", {}).items()
        }
        ours_tls = {ep: v["failure"] for ep, v in ours.get("tls_handshake", {}).items()}
        for ep, failure in real_tls.items():
            if ours_tls.get(ep, "<missing>") != failure:
                mismatches.append(f"{pair['fixture']}: tls {ep} {failure} != {ours_tls.get(ep)}")
        real_status = real["http_request"]["status_code"]
        if ours["http_request"]["status_code"] != real_status:
            mismatches.append(
                f"{pair['fixture']}: status {real_status} != {ours['http_request']['status_code']}"
            )
    assert compared >= 40
    assert mismatches == []


def test_address_mapping() -> None:
    assert lab_ip("93.184.216.34") == "198.19.216.34"
    assert lab_ip("10.10.34.35") == "10.10.34.35"
    assert map_endpoint("104.154.89.105:443") == "198.19.89.105:443"
    assert Path(__file__).name.startswith("test_")
