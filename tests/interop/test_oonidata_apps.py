"""OONI's own models (oonidata) load the messaging experiments' measurements as their nettest
models (``Telegram``, ``Whatsapp``, ``Signal``, ``FacebookMessenger``, not the base model),
blocked and open, measured on loopback; the real OONI samples of the same tests load too, so
the harness knows these models. The lab versions are loaded in ``tests/e2e/test_apps_lab.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.experiments.apps.appkit import (
    TCPServer,
    closed_port,
    http_handler,
    https_server,
    make_pki,
    response,
    run_app,
    table,
)
from tests.interop.conftest import SAMPLES, load_with_oonidata

APPS = ("telegram", "whatsapp", "signal", "facebook_messenger")
# a 2019 miniooni development build wrote no "input" key, which oonidata requires
KNOWN_UNLOADABLE = {"fastpath/telegram_nourl.json"}


def test_real_app_samples_load() -> None:
    names, samples = [], []
    for path in sorted(SAMPLES.glob("*/*.json")):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and data.get("test_name") in APPS and "report_id" in data:
            names.append(str(path.relative_to(SAMPLES)))
            samples.append(data)
    assert {m["test_name"] for m in samples} == set(APPS)
    result = load_with_oonidata(samples)
    assert {names[e["line"] - 1] for e in result["errors"]} == KNOWN_UNLOADABLE
    assert result["loaded"] == len(samples) - len(KNOWN_UNLOADABLE)


def test_our_app_measurements_load(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    refused = closed_port()
    ms: list[dict[str, Any]] = []
    with TCPServer(http_handler(response(404))) as plain, https_server(pki) as tls:
        web = f"https://localhost:{tls.port}/"
        for port in (plain.port, refused):  # open, then every endpoint refused
            ms.append(run_app("telegram", {"data_centres": "127.0.0.1", "ports": str(port),
                                           "web_url": web}, ca_file=pki.ca_file))
            ms.append(run_app("whatsapp", {"endpoints": "localhost", "endpoint_ports": str(port),
                                           "registration_url": web, "web_url": web},
                              ca_file=pki.ca_file))
            ms.append(run_app("signal", {"urls": web.replace(str(tls.port), str(port)),
                                         "uptime_host": "localhost", "ca_file": pki.ca_file}))
            ms.append(run_app("facebook_messenger", {"port": str(port)} | {
                svc: "localhost" for svc in ("stun", "b_api", "b_graph", "edge",
                                             "external_cdn", "scontent_cdn", "star")},
                asn_table=table(32934)))
    assert [m["test_name"] for m in ms] == [*APPS, *APPS]
    assert load_with_oonidata(ms) == {"loaded": len(ms), "errors": []}
