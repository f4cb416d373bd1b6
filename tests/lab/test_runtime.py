"""The lab runtime on the real kernel: up/down leave nothing, idempotence, crash cleanup, phases."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from censorscope.lab.errors import LabError
from tests.lab.conftest import assert_nothing_left, lab_namespaces, pids_alive

pytestmark = pytest.mark.lab


def run(lab: Any, host: str, *argv: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    return lab.exec(host, list(argv), capture_output=True, text=True, timeout=timeout)


def test_up_down_leaves_nothing(make_lab: Callable[..., Any]) -> None:
    lab = make_lab()
    st = lab.up("smoke")
    pids = [p.pid for p in st.all_pids()]
    assert len(lab_namespaces(lab.prefix)) == 7
    assert pids_alive(pids) == pids
    assert st.ca_file.exists() and st.asn_table.exists()
    assert "198.18.1.0/24\t64500\tAcme Access\tZZ" in st.asn_table.read_text()
    assert st.probe_config("acme")["resolver_ip"] == st.ip_of("acme-dns") == "198.18.1.130"
    lab.down()
    assert_nothing_left(lab.prefix, pids)


def test_up_is_idempotent_and_refuses_another_scenario(make_lab: Callable[..., Any]) -> None:
    lab = make_lab()
    first = lab.up("smoke")
    again = lab.up("smoke")
    assert [p.pid for p in again.pids] == [p.pid for p in first.pids]
    with pytest.raises(LabError, match="already up with scenario 'smoke'"):
        lab.up("az-2022-tiktok")


def test_exec_runs_in_the_probe_namespace_and_routes_through_router(
    make_lab: Callable[..., Any],
) -> None:
    lab = make_lab()
    st = lab.up("smoke")
    addr = run(lab, "acme-p1", "ip", "-4", "-o", "addr")
    assert "198.18.1.11/25" in addr.stdout
    assert run(lab, "acme-p1", "ping", "-c1", "-W2", "198.19.1.10").returncode == 0
    trace = run(lab, "acme-p1", "ip", "route", "get", "198.19.1.10")
    assert "via 198.18.1.1" in trace.stdout
    # nothing routes out of the lab
    assert run(lab, "acme-p1", "ping", "-c1", "-W1", "192.0.2.99").returncode != 0
    dig = run(lab, "acme-p1", "dig", "+short", "+time=2", "www.example.org")
    assert dig.stdout.split() == ["198.19.1.10"]
    curl = run(lab, "acme-p1", "curl", "-sS", "-m", "3", "--cacert", str(st.ca_file),
               "-o", "/dev/null", "-w", "%{http_code}", "https://blocked.example.org/")
    assert curl.stdout == "200"


def test_phase_switch_blocks_and_restores(make_lab: Callable[..., Any]) -> None:
    lab = make_lab()
    st = lab.up("smoke")
    ca = str(st.ca_file)
    curl = ("curl", "-sS", "-m", "2", "--cacert", ca, "-o", "/dev/null", "-w", "%{http_code}",
            "https://blocked.example.org/")
    lab.phase("blocked")
    assert lab.status().phase == "blocked"
    blocked = run(lab, "acme-p1", *curl)
    assert blocked.returncode == 28  # SNI dropped: the handshake times out
    nx = run(lab, "acme-p1", "dig", "+time=2", "www.example.org")
    assert "status: NXDOMAIN" in nx.stdout
    # the control vantage is outside every censor
    assert run(lab, "ctl", *curl).stdout == "200"
    lab.phase("open")
    assert run(lab, "acme-p1", *curl).stdout == "200"
    assert "198.19.1.10" in run(lab, "acme-p1", "dig", "+short", "www.example.org").stdout
    with pytest.raises(LabError, match="no phase 'nope'"):
        lab.phase("nope")


def test_up_with_initial_phase(make_lab: Callable[..., Any]) -> None:
    lab = make_lab()
    st = lab.up("smoke", phase="blocked")
    assert st.phase == "blocked"
    nx = run(lab, "acme-p1", "dig", "+time=2", "www.example.org")
    assert "status: NXDOMAIN" in nx.stdout


def test_down_after_crash_cleans_everything(make_lab: Callable[..., Any]) -> None:
    lab = make_lab()
    st = lab.up("smoke", phase="blocked")
    # an extra process started inside the lab that the lab does not track
    stray = lab.popen("srv", ["sleep", "60"])
    pids = [p.pid for p in st.all_pids()]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    (st.state_dir / "state.json").unlink()
    assert lab.status() is None
    lab.down()
    stray.wait(5)
    assert_nothing_left(lab.prefix, [*pids, stray.pid])


def test_corrupted_state_file_then_up_rebuilds(make_lab: Callable[..., Any]) -> None:
    lab = make_lab()
    st = lab.up("smoke")
    (st.state_dir / "state.json").write_text("{not json")
    again = lab.up("smoke")
    assert again.phase == "open" and lab.healthy(again)


def test_two_labs_do_not_collide(make_lab: Callable[..., Any]) -> None:
    one, two = make_lab(), make_lab()
    s1, s2 = one.up("smoke"), two.up("smoke")
    assert set(s1.namespaces.values()).isdisjoint(s2.namespaces.values())
    two.phase("blocked")
    assert "NXDOMAIN" in run(two, "acme-p1", "dig", "+time=2", "www.example.org").stdout
    assert "198.19.1.10" in run(one, "acme-p1", "dig", "+short", "www.example.org").stdout
    two.down()
    assert lab_namespaces(two.prefix) == []
    assert one.healthy(one.status())


def test_schedule_supervisor_switches_phase(
    make_lab: Callable[..., Any], tmp_path: Any
) -> None:
    from censorscope.lab.scenarios import CATALOGUE_DIR

    text = (CATALOGUE_DIR / "smoke.toml").read_text().replace('name = "smoke"', 'name = "sched"')
    path = tmp_path / "sched.toml"
    path.write_text(text + '\n[[schedule]]\nafter_s = 0.3\nphase = "blocked"\n')
    lab = make_lab()
    st = lab.up(str(path))
    sup = next(p for p in st.pids if p.name == "schedule")
    assert sup.netns == f"{lab.prefix}-core"
    deadline = time.monotonic() + 5
    while lab.status().phase != "blocked" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lab.status().phase == "blocked"
    assert "NXDOMAIN" in run(lab, "acme-p1", "dig", "+time=2", "www.example.org").stdout
    lab.down()
    assert_nothing_left(lab.prefix, [sup.pid])
