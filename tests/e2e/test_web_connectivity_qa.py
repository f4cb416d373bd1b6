"""The probe against OONI's 50 Web Connectivity QA scenarios, in the lab.

One lab per test worker holds the QA topology with every case as a phase; each test switches to
its case, runs the real probe in the probe host's namespace, and checks the OONI verdict keys
``blocking`` and ``accessible`` against the values of OONI's own QA table
(``tests/lab/qa_expectations.json``, transcribed from probe-cli's webconnectivityqa). It also
compares a deterministic digest of the measurement with the scenario's golden file
(``tests/golden/web_connectivity/qa/<case>.json``; regenerate with CENSORSCOPE_UPDATE_GOLDEN=1)
and loads the measurement with OONI's own Python models.

Excluded: ``dnsBlockingAndroidDNSCacheNoData`` — it emulates Android's getaddrinfo, which maps
every lookup error to ``android_dns_cache_no_data``; a Linux probe's getaddrinfo reports the
real NXDOMAIN, so the case does not apply (OONI's table marks it for the Android build).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from censorscope.lab.runtime import Lab, LabState
from tests.e2e.labkit import lab_running, probe_run, requires_root
from tests.e2e.qakit import CASES, EXPECTATIONS, SHARED, qa_all_phases
from tests.interop.conftest import load_with_oonidata

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "web_connectivity" / "qa"

CLASSIC_KEYS = (
    "blocking", "accessible", "dns_consistency", "dns_experiment_failure",
    "http_experiment_failure", "x_blocking_flags", "x_dns_flags", "x_null_null_flags",
    "control_failure",
)


@pytest.fixture(scope="module")
def qa_lab() -> Iterator[tuple[Lab, LabState]]:
    """One lab per test worker, built on first use (only cases in SHARED use it)."""
    with lab_running(qa_all_phases()) as running:
        yield running


def digest(m: dict[str, Any]) -> dict[str, Any]:
    """The deterministic part of a measurement: verdict keys and what failed where."""
    tk = m["test_keys"]
    return {
        "input": m["input"],
        "keys": {k: tk.get(k) for k in CLASSIC_KEYS},
        "queries": sorted(
            {(q["engine"], q["hostname"], q["query_type"], str(q.get("failure")),
              ",".join(sorted(a.get("ipv4") or a.get("ipv6") or a.get("hostname") or ""
                              for a in (q.get("answers") or []))))
             for q in tk["queries"]}
        ),
        "tcp_connect": sorted(
            {(t["ip"], t["port"], str(t["status"]["failure"])) for t in tk["tcp_connect"]}
        ),
        "tls_handshakes": sorted(
            {(t["address"], t["server_name"], str(t["failure"])) for t in tk["tls_handshakes"]}
        ),
        "requests": sorted(
            {(r["request"]["url"], str(r["failure"]), (r.get("response") or {}).get("code") or 0)
             for r in tk["requests"]}
        ),
    }


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


@requires_root
@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_probe_matches_ooni_qa(
    case: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    expected = EXPECTATIONS[case]
    if case in SHARED:
        lab, state = request.getfixturevalue("qa_lab")
        lab.phase(case)
        [m] = probe_run(lab, state, "garr", [expected["input"]], tmp_path / "out.jsonl")
    else:
        with lab_running(f"qa.{case}") as (lab, state):
            [m] = probe_run(lab, state, "garr", [expected["input"]], tmp_path / "out.jsonl")
    tk = m["test_keys"]
    got = {"blocking": tk["blocking"], "accessible": tk["accessible"]}
    want = {"blocking": expected["blocking"], "accessible": expected["accessible"]}
    assert got == want, json.dumps(digest(m), indent=1)

    loaded = load_with_oonidata([m])
    assert loaded == {"loaded": 1, "errors": []}

    golden = GOLDEN / f"{case}.json"
    current = _as_json(digest(m))
    if os.environ.get("CENSORSCOPE_UPDATE_GOLDEN") == "1" or not golden.exists():
        golden.write_text(json.dumps(current, indent=1, ensure_ascii=False) + "\n")
    assert current == json.loads(golden.read_text())
