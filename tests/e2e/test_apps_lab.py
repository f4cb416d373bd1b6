"""The messaging experiments in the lab (scenario ``apps``): OONI's verdict keys, and the
verdict of ``censorscope analyze``, under the open phase and a blocked phase per technique.

Each test brings the lab up once, runs ``censorscope probe run --experiment APP`` in the lab
probe's namespace for every phase in turn (``lab phase`` between runs), then analyzes the
files with ``censorscope analyze --lab``, loads the measurements in OONI's own ``oonidata``
models, and stores them (``ingest``) to check every evidence statement (``verify``). The
expected keys are what OONI's tests compute for the phase's censorship (see the ``testkeys``
modules); the expected verdicts are the messaging rules that match it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.labkit import CENSORSCOPE, lab_running, probe_run, requires_root
from tests.interop.conftest import load_with_oonidata

pytestmark = [requires_root, pytest.mark.lab, pytest.mark.slow]

DATA_CENTRES = ",".join(f"198.19.61.{i}" for i in range(1, 7))
WA_ENDPOINTS = [f"e{i}.whatsapp.net" for i in range(1, 17)]
FB_SERVICES = ("b_api", "b_graph", "edge", "external_cdn", "scontent_cdn", "star")

Expected = tuple[dict[str, Any], tuple[str, str | None, str]]  # keys, (outcome, layer, rule)


def _measure(app: str, phases: dict[str, Expected], tmp_path: Path, *options: str) -> None:
    """Run ``app`` in every phase, check OONI's keys, the analysis and oonidata loading.
    ``{ca_file}`` in an option is the lab CA's file."""
    files: list[Path] = []
    measurements: list[dict[str, Any]] = []
    with lab_running("apps", next(iter(phases))) as (lab, state):
        for i, (phase, (keys, _)) in enumerate(phases.items()):
            if i:
                lab.phase(phase)
            out = tmp_path / f"{app}-{phase}.jsonl"
            given = [o.format(ca_file=state.ca_file) for o in options]
            [m] = probe_run(lab, state, "lab", [], out, "--experiment", app, *given)
            assert (m["test_name"], m["input"], m["probe_asn"]) == (app, None, "AS64500")
            got = {k: m["test_keys"][k] for k in keys}
            assert got == keys, phase
            files.append(out)
            measurements.append(m)
    proc = subprocess.run([CENSORSCOPE, "analyze", "--lab", *map(str, files)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    verdicts = [json.loads(line) for line in proc.stdout.splitlines()]
    for (phase, (_, want)), v in zip(phases.items(), verdicts, strict=True):
        assert (v["outcome"], v["layer"], v["rule_id"]) == want, (phase, v["evidence"])
        assert v["test_name"] == app and v["evidence"]
    loaded = load_with_oonidata(measurements)
    assert loaded == {"loaded": len(measurements), "errors": []}
    # stored and re-checked: every evidence statement of every verdict holds
    store = f"duckdb:///{tmp_path / 'apps.duckdb'}"
    for argv in (["ingest", "--store", store, "--jobs", "1", *map(str, files)],
                 ["verify", "--store", store, "--json"]):
        proc = subprocess.run([CENSORSCOPE, *argv], capture_output=True, text=True,
                              timeout=120, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["verdicts"] == len(phases)
    assert report["false"] == 0 and report["without_data"] == 0
    assert report["true"] == report["statements"] >= len(phases)


def test_telegram_lab(tmp_path: Path) -> None:
    def keys(http: bool, tcp: bool, web: str | None) -> dict[str, Any]:
        return {"telegram_http_blocking": http, "telegram_tcp_blocking": tcp,
                "telegram_web_status": "ok" if web is None else "blocked",
                "telegram_web_failure": web}

    _measure("telegram", {
        "open": (keys(False, False, None), ("ok", None, "telegram.ok")),
        # nothing answers: both keys stay true (TCP failed at connect)
        "telegram-dc-blackhole": (keys(True, True, None),
                                  ("blocked", "tcp", "telegram.dc.unreachable")),
        # connects work, every POST is reset: HTTP blocking only
        "telegram-dc-http-reset": (keys(True, False, None),
                                   ("blocked", "http", "telegram.dc.http_failed")),
        "telegram-web-sni-drop": (keys(False, False, "generic_timeout_error"),
                                  ("blocked", "tls", "telegram.web.failed")),
    }, tmp_path, "--option", f"telegram.data_centres={DATA_CENTRES}",
        "--option", "telegram.parallelism=12")


def test_whatsapp_lab(tmp_path: Path) -> None:
    def keys(endpoints: bool, registration: str | None, web: str | None) -> dict[str, Any]:
        return {
            "whatsapp_endpoints_status": "blocked" if endpoints else "ok",
            "whatsapp_endpoints_blocked": WA_ENDPOINTS if endpoints else [],
            "whatsapp_endpoints_dns_inconsistent": [],
            "registration_server_status": "ok" if registration is None else "blocked",
            "registration_server_failure": registration,
            "whatsapp_web_status": "ok" if web is None else "blocked",
            "whatsapp_web_failure": web,
        }

    _measure("whatsapp", {
        "open": (keys(False, None, None), ("ok", None, "whatsapp.ok")),
        "whatsapp-endpoints-tcp-drop": (keys(True, None, None),
                                        ("blocked", "tcp", "whatsapp.endpoints.unreachable")),
        "whatsapp-web-sni-drop": (keys(False, None, "generic_timeout_error"),
                                  ("blocked", "tls", "whatsapp.web.failed")),
        "whatsapp-nxdomain": (keys(True, "dns_nxdomain_error", "dns_nxdomain_error"),
                              ("blocked", "dns", "whatsapp.endpoints.unreachable")),
    }, tmp_path, "--option", "whatsapp.parallelism=16")


def test_signal_lab(tmp_path: Path) -> None:
    _measure("signal", {
        "open": ({"signal_backend_status": "ok", "signal_backend_failure": None},
                 ("ok", None, "signal.ok")),
        "signal-sni-reset": ({"signal_backend_status": "blocked",
                              "signal_backend_failure": "connection_reset"},
                             ("blocked", "tls", "signal.failed")),
    }, tmp_path, "--option", "signal.ca_file={ca_file}")  # the lab CA plays Signal's CA


def test_facebook_messenger_lab(tmp_path: Path) -> None:
    def keys(dns: bool, tcp: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"facebook_dns_blocking": not dns, "facebook_tcp_blocking": not tcp,
                               "facebook_stun_dns_consistent": dns,
                               "facebook_stun_reachable": None}
        for svc in FB_SERVICES:
            out[f"facebook_{svc}_dns_consistent"] = dns
            out[f"facebook_{svc}_reachable"] = tcp if dns else None
        return out

    _measure("facebook_messenger", {
        "open": (keys(True, True), ("ok", None, "fbm.ok")),
        # every answer is 198.19.66.6 (AS64510): inconsistent, reachability not judged
        "facebook-dns-lie": (keys(False, True), ("blocked", "dns", "fbm.dns.outside_as32934")),
        "facebook-tcp-drop": (keys(True, False), ("blocked", "tcp", "fbm.tcp.failed")),
    }, tmp_path)
