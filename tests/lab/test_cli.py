"""``censorscope lab`` as a user runs it: exit codes, messages, and what is left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from censorscope.lab.scenarios import CATALOGUE_DIR
from tests.lab.conftest import assert_nothing_left, lab_namespaces, new_prefix

CLI = [sys.executable, "-m", "censorscope.cli.main", "lab"]


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def test_list_shows_catalogue_with_descriptions() -> None:
    res = cli("list")
    assert res.returncode == 0
    rows = dict(line.split("\t", 1) for line in res.stdout.splitlines())
    assert rows["smoke"].startswith("Tiny test lab")
    assert "Azerbaijan" in rows["az-2022-tiktok"]


@pytest.mark.lab
def test_non_root_gets_clear_error_and_exit_2(lab_prefix: str) -> None:
    res = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *CLI, "up", "smoke",
         "--prefix", lab_prefix],
        capture_output=True, text=True, timeout=30, cwd="/",
    )
    assert res.returncode == 2, res.stderr
    assert "censorscope lab needs root (CAP_NET_ADMIN)" in res.stderr
    assert lab_namespaces(lab_prefix) == []


@pytest.mark.lab
def test_bad_scenario_names_field_and_creates_nothing(lab_prefix: str, tmp_path: Path) -> None:
    text = (CATALOGUE_DIR / "smoke.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("asn = 64500", "asn = 0"))
    res = cli("up", str(bad), "--prefix", lab_prefix)
    assert res.returncode == 2
    assert "isps[0].asn: Input should be greater than 0" in res.stderr
    assert lab_namespaces(lab_prefix) == []
    assert_nothing_left(lab_prefix, [])


@pytest.mark.lab
def test_unknown_phase_creates_nothing(lab_prefix: str) -> None:
    res = cli("up", "smoke", "--prefix", lab_prefix, "--phase", "nope")
    assert res.returncode == 1 and "no phase 'nope'" in res.stderr
    assert_nothing_left(lab_prefix, [])


@pytest.mark.lab
def test_exec_status_phase_and_down(lab_prefix: str) -> None:
    try:
        up = cli("up", "smoke", "--prefix", lab_prefix)
        assert up.returncode == 0, up.stderr
        res = cli("exec", "--prefix", lab_prefix, "acme-p1", "--", "sh", "-c",
                  "ip -4 -o addr show dev eth0; exit 3")
        assert res.returncode == 3
        assert "198.18.1.11/25" in res.stdout
        assert cli("exec", "--prefix", lab_prefix, "nohost", "--", "true").returncode == 1
        assert cli("phase", "blocked", "--prefix", lab_prefix).returncode == 0
        st = json.loads(cli("status", "--json", "--prefix", lab_prefix).stdout)
        assert st["phase"] == "blocked" and st["healthy"] is True
        assert st["namespaces"]["acme-p1"] == f"{lab_prefix}-acme-p1"
    finally:
        down = cli("down", "--prefix", lab_prefix)
    assert down.returncode == 0
    assert cli("status", "--prefix", lab_prefix).returncode == 1
    assert_nothing_left(lab_prefix, [])


@pytest.mark.lab
def test_az_2022_tiktok_up_then_down_leaves_nothing() -> None:
    """Acceptance: `lab up az-2022-tiktok` then `lab down` leaves no namespace/link/process."""
    prefix = new_prefix()
    pids: list[int] = []
    try:
        up = cli("up", "az-2022-tiktok", "--prefix", prefix, "--phase", "blocked-all")
        assert up.returncode == 0, up.stderr
        st = json.loads(cli("status", "--json", "--prefix", prefix).stdout)
        pids = [p["pid"] for p in st["pids"]]
        pids += [p["pid"] for ps in st["censor_pids"].values() for p in ps]
        assert len(lab_namespaces(prefix)) == 4 + 5 * 2 + 6
        ca = st["ca_file"]
        # the same CDN IP: a TikTok SNI fails on Delta, a harmless one succeeds
        curl = [*CLI, "exec", "--prefix", prefix, "delta-p1", "--", "curl", "-sS", "-m", "2",
                "--cacert", ca, "-o", "/dev/null", "-w", "%{http_code} %{remote_ip}"]
        ok = subprocess.run([*curl, "https://www.example.org/"], capture_output=True, text=True)
        blocked = subprocess.run([*curl, "https://www.tiktok.com/"], capture_output=True,
                                 text=True)
        assert ok.stdout == "200 198.19.20.1"
        assert blocked.returncode == 28
    finally:
        down = cli("down", "--prefix", prefix)
    assert down.returncode == 0
    assert_nothing_left(prefix, pids)
