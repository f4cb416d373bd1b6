"""The probe records the TikTok SNI blocking of Azerbaijan 2022.

In ``az-2022-tiktok`` Delta Telecom drops ClientHellos carrying TikTok server names. A
measurement of https://www.tiktok.com/ from Delta must show, in ``network_events`` of the TLS
flow to the Akamai cache IP: the connect, the ClientHello write, and no read that returned data
until the TLS timeout; the same IP completes a handshake for https://www.example.org/ (another
server name on that cache). Before the onset, and on a network that does not block (Aztelekom),
www.tiktok.com works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.labkit import lab_running, probe_run, requires_root
from tests.interop.conftest import load_with_oonidata

CDN_IP = "198.19.20.1"  # Akamai cache serving www.tiktok.com and www.example.org
TLS_TIMEOUT = 2.0


def tls_flow(m: dict[str, Any], server_name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The TLS handshake to the CDN IP for ``server_name`` and its network events."""
    tk = m["test_keys"]
    [hs] = [h for h in tk["tls_handshakes"]
            if h["address"] == f"{CDN_IP}:443" and h["server_name"] == server_name]
    events = [e for e in tk["network_events"] if e.get("transaction_id") == hs["transaction_id"]]
    return hs, events


@requires_root
@pytest.mark.lab
@pytest.mark.slow
def test_tiktok_sni_blocking_recorded_event_by_event(tmp_path: Path) -> None:
    with lab_running("az-2022-tiktok", "before") as (lab, state):
        [before] = probe_run(lab, state, "delta", ["https://www.tiktok.com/"],
                             tmp_path / "before.jsonl")
        hs, _ = tls_flow(before, "www.tiktok.com")
        assert hs["failure"] is None
        assert before["test_keys"]["blocking"] is False

        lab.phase("blocked-delta")
        blocked, other = probe_run(
            lab, state, "delta", ["https://www.tiktok.com/", "https://www.example.org/"],
            tmp_path / "blocked.jsonl",
        )
        [unblocked_isp] = probe_run(lab, state, "aztel", ["https://www.tiktok.com/"],
                                    tmp_path / "aztel.jsonl")

    # The blocked handshake: connect ok, ClientHello written, nothing read until the timeout.
    hs, events = tls_flow(blocked, "www.tiktok.com")
    assert hs["failure"] == "generic_timeout_error"
    assert hs["peer_certificates"] in (None, [])
    ops = [e["operation"] for e in events]
    assert ops[0] == "connect" and events[0]["failure"] is None
    start = ops.index("tls_handshake_start")
    writes = [e for e in events[start:] if e["operation"] == "write"]
    assert len(writes) == 1 and writes[0]["num_bytes"] > 200  # one ClientHello, SNI inside
    reads = [e for e in events[start:] if e["operation"] == "read"]
    assert all(not e.get("num_bytes") for e in reads)
    assert [e["failure"] for e in reads] == ["generic_timeout_error"]
    waited = reads[0]["t"] - writes[0]["t"]
    assert TLS_TIMEOUT * 0.9 <= waited <= TLS_TIMEOUT * 2.5
    assert blocked["test_keys"]["blocking"] == "http-failure"  # OONI's name for a TLS failure
    assert blocked["test_keys"]["dns_consistency"] == "consistent"

    # The same IP, another server name: the handshake completes and the page loads.
    hs_other, events_other = tls_flow(other, "www.example.org")
    assert hs_other["failure"] is None and hs_other["peer_certificates"]
    assert any(e["operation"] == "read" and e.get("num_bytes") for e in events_other)
    assert other["test_keys"]["accessible"] is True

    # A network without the policy reaches www.tiktok.com at the same time.
    hs_aztel, _ = tls_flow(unblocked_isp, "www.tiktok.com")
    assert hs_aztel["failure"] is None
    assert unblocked_isp["probe_asn"] == "AS28787"
    assert blocked["probe_asn"] == "AS29049" and blocked["probe_cc"] == "AZ"

    assert load_with_oonidata([before, blocked, other, unblocked_isp]) == {
        "loaded": 4, "errors": []
    }
