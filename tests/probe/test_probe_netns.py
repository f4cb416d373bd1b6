"""The probe CLI in a private network namespace with real DNS, web, DoH, control and censors.

``netns_world.py`` builds the world (see its docstring) inside ``unshare --mount --net``;
iptables rules there drop TCP to one address and ClientHellos naming one server, and the
"ISP" resolver lies about one name. Needs root.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.lab,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare")
                       or not shutil.which("iptables"), reason="needs root, unshare, iptables"),
]

WORLD = Path(__file__).with_name("netns_world.py")
URLS = [
    "http://www.example.test/", "https://dropped.example.test/",
    "https://sni-blocked.example.test/", "http://censored.example.test/",
    "http://loopy.example.test/", "http://www.example.test/loop",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("netns-world")
    args = ["unshare", "--mount", "--net", sys.executable, str(WORLD), str(out),
            "-o", str(out / "out.jsonl"), "--no-progress", "--parallel", "6"]
    for url in URLS:
        args += ["-i", url]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=180)
    stdout = (out / "stdout.txt").read_text() if (out / "stdout.txt").exists() else ""
    stderr = (out / "stderr.txt").read_text() if (out / "stderr.txt").exists() else proc.stderr
    assert proc.returncode == 0, stderr
    lines = [json.loads(x) for x in (out / "out.jsonl").read_text().splitlines()]
    return {"by_input": {m["input"]: m["test_keys"] for m in lines}, "stdout": stdout,
            "measurements": lines}


def _depth(record: dict[str, Any]) -> int:
    return int(next(t for t in record["tags"] if t.startswith("depth="))[6:])


def test_redirect_runs_a_new_dns_stage_and_flows_at_depth_one(run: dict[str, Any]) -> None:
    tk = run["by_input"]["http://www.example.test/"]
    system = [q for q in tk["queries"] if q["engine"] == "getaddrinfo"]
    assert [(q["hostname"], q["tags"]) for q in system] == [
        ("www.example.test", ["classic", "depth=0"]),
        ("secure.example.test", ["classic", "depth=1"]),
    ]
    assert [q["transaction_id"] for q in system] == [10001, 10002]
    assert {q["engine"] for q in tk["queries"]} == {"getaddrinfo", "udp", "doh"}
    answers = [a for q in tk["queries"] for a in q["answers"] or [] if a.get("ipv4")]
    assert all(a["asn"] == 64500 and a["as_org_name"] == "World Hosting" for a in answers)
    assert [(_depth(r), r["response"]["code"]) for r in tk["requests"]] == [(1, 200), (0, 302)]
    assert tk["requests"][0]["request"]["headers"]["Cookie"] == "session=abc"
    assert tk["requests"][0]["address"] == "198.18.1.11:443"
    # http:// at depth 0: cleartext GET flow plus a TLS-only flow on 443 (no GET)
    tls0 = [h for h in tk["tls_handshakes"] if _depth(h) == 0]
    assert [(h["address"], h["failure"]) for h in tls0] == [("198.18.1.10:443", None)]
    assert "fetch_body=false" in tls0[0]["tags"] and "tcptls_experiment" in tls0[0]["tags"]
    assert tls0[0]["transaction_id"] >= 50001
    assert tk["control_failure"] is None and tk["control"]["dns"]["addrs"] == ["198.18.1.10"]
    assert (tk["blocking"], tk["accessible"]) == (False, True)


def test_sni_drop_shows_clienthello_write_and_no_read(run: dict[str, Any]) -> None:
    tk = run["by_input"]["https://sni-blocked.example.test/"]
    assert [h["failure"] for h in tk["tls_handshakes"]] == ["generic_timeout_error"]
    tid = tk["tls_handshakes"][0]["transaction_id"]
    events = [e for e in tk["network_events"] if e["transaction_id"] == tid]
    io = [(e["operation"], e["failure"]) for e in events if e["operation"] in
          ("connect", "write", "read")]
    assert io[0] == ("connect", None)
    assert io[1][0] == "write" and io[1][1] is None
    assert io[-1] == ("read", "generic_timeout_error")
    assert not [x for x in io if x == ("read", None)], "nothing came back after the ClientHello"
    assert tk["requests"] == []


def test_dropped_tcp_times_out(run: dict[str, Any]) -> None:
    tk = run["by_input"]["https://dropped.example.test/"]
    assert [c["status"]["failure"] for c in tk["tcp_connect"]] == ["generic_timeout_error"]


def test_system_resolver_address_gets_the_fetch(run: dict[str, Any]) -> None:
    tk = run["by_input"]["http://censored.example.test/"]
    system = next(q for q in tk["queries"] if q["engine"] == "getaddrinfo")
    assert [(a["ipv4"], a["asn"]) for a in system["answers"]] == [("198.18.1.66", 64666)]
    assert [r["address"] for r in tk["requests"]] == ["198.18.1.66:80"]
    assert tk["dns_consistency"] == "inconsistent"


def test_loopback_answers_are_never_dialled(run: dict[str, Any]) -> None:
    tk = run["by_input"]["http://loopy.example.test/"]
    assert tk["tcp_connect"] == []
    assert tk["queries"][0]["answers"] is not None


def test_eleventh_redirect_fails(run: dict[str, Any]) -> None:
    tk = run["by_input"]["http://www.example.test/loop"]
    assert len(tk["requests"]) == 11
    assert [_depth(r) for r in tk["requests"]] == list(range(10, -1, -1))
    assert tk["requests"][0]["failure"] == "unknown_failure: stopped after too many redirects"
    assert all(r["failure"] is None for r in tk["requests"][1:])


def test_summary_table_names_the_failing_step(run: dict[str, Any]) -> None:
    tls = "tls 198.18.1.13:443 (sni sni-blocked.example.test): generic_timeout_error"
    assert tls in run["stdout"]
    assert "tcp 198.18.1.12:443: generic_timeout_error" in run["stdout"]
