"""``censorscope demo`` as a newcomer runs it: without the lab (``--unprivileged``, and as a
user who is not root) it imports the shipped recordings of the seed cases and the real OONI
samples and tells the three stories; run twice it works both times and leaves nothing running;
as root with the lab, it re-enacts the cases and finds the same stories.

The stories are checked against the store's own JSON (``incidents.json``/``outages.json``,
what ``censorscope incidents``/``outages`` print) and the scenarios: the AZ 2022 networks in
onset order with SNI-triggered TLS interference, Armenia's DNS techniques per network, and the
2020 services restriction, throttling and shutdowns.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from censorscope.lab import scenarios
from tests.e2e.labkit import requires_root

CLI = str(Path(sys.executable).with_name("censorscope"))

pytestmark = [pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# As ``nobody`` with the one capability of reading every file: the interpreter of a test
# machine may live under root's home (pyenv), which ``nobody`` could not even open; the
# demo's own check is its effective uid, which is not root.
AS_NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search")


def _demo(out: Path, *args: str, nobody: bool = False,
          timeout: float = 600) -> subprocess.CompletedProcess[str]:
    argv = [CLI, "demo", "--no-serve", "--out", str(out), *args]
    env = dict(os.environ)
    if nobody:
        env["HOME"] = str(out.parent)
        argv = [*AS_NOBODY, *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                          check=False)


def _asns(name: str) -> dict[str, int]:
    return {i.name: i.asn for i in scenarios.load(name).isps}


def _json(path: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(path.read_text("utf-8"))
    return data


def check_stories(out: Path, stdout: str) -> None:
    """The three cases' stories, in the store's JSON and on the summary screen."""
    incidents, outages = _json(out / "incidents.json"), _json(out / "outages.json")
    by = {(i["cc"], i["start"][:4]): i for i in incidents}

    az = _asns("az-2022-tiktok")
    tiktok = by[("AZ", "2022")]
    assert tiktok["target"] == "service:tiktok"
    ordered = [n["asn"] for n in sorted(tiktok["networks"], key=lambda n: n["onset"])]
    assert ordered == [az["delta"], az["connect"], az["azercell"]]
    assert all("tls.timeout.sni" in n["techniques"] for n in tiktok["networks"])
    lines = stdout.splitlines()
    at = [next(i for i, line in enumerate(lines) if line.strip().startswith(f"AS{a} "))
          for a in ordered]
    assert at == sorted(at), "the summary lists the networks in onset order"

    am = _asns("am-2022-tiktok")
    armenia = by[("AM", "2022")]
    nets = {n["asn"]: n for n in armenia["networks"]}
    assert set(nets) == {am["ucom"], am["mts"]}
    assert nets[am["ucom"]]["techniques"] == ["dns.nxdomain"]
    assert any(t.startswith("dns.") and t != "dns.nxdomain"
               for t in nets[am["mts"]]["techniques"])
    for asn, n in nets.items():
        assert f"AS{asn}" in stdout and ", ".join(n["techniques"]) in stdout

    war = _asns("az-2020-war")
    blocking = {war[i] for i in ("baktel", "azercell", "bakcell")}
    services = by[("AZ", "2020")]
    assert {n["asn"] for n in services["networks"]} == blocking
    assert all(s in services["target"] for s in ("facebook", "instagram", "whatsapp"))
    assert services["scope"] != "server_side", services["title"]
    war_outages = [o for o in outages if o["start"].startswith("2020")]
    assert {o["asn"] for o in war_outages if o["kind"] == "shutdown"} == blocking
    assert [o for o in war_outages if o["kind"] == "slow"], war_outages
    assert "throttling" in stdout and "shutdown" in stdout
    # nothing else: no outage in the 2022 cases (their labs never cut a network off)
    assert not [o for o in outages if o["start"].startswith("2022")], outages

    for case in ("az-2022-tiktok", "am-2022-tiktok", "az-2020-war"):
        report = out / "reports" / case / "report.html"
        assert report.is_file() and str(report) in stdout
    for inc in incidents:
        assert f"/incidents/{inc['id']}" in stdout
    assert "0 false" in stdout and "explorer: http://127.0.0.1:" in stdout


def _nothing_left(port: int) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a server binds
        sock.bind(("127.0.0.1", port))  # the explorer let go of its port
    left = subprocess.run(["pgrep", "-f", f"serve --store .* --port {port}"],
                          capture_output=True, text=True, check=False)
    assert left.stdout == "", left.stdout


SPEC_EXAMPLE = (Path(__file__).resolve().parents[3] / "shared" / "data" / "ooni-samples"
                / "spec-examples" / "df-000-base__codeblock00.json")


def test_without_the_lab_twice_in_a_row(tmp_path: Path) -> None:
    """The second run also imports an OONI file the user names."""
    out, port = tmp_path / "demo", _free_port()
    for files in ((), (str(SPEC_EXAMPLE),)):
        done = _demo(out, "--unprivileged", "--port", str(port), *files)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "not running the lab: --unprivileged was given" in done.stdout
        check_stories(out, done.stdout)
        log = (out / "commands.log").read_text("utf-8")
        assert ("importing 1 file(s) you gave" in done.stdout) == bool(files)
        assert (f"{SPEC_EXAMPLE}: 1 new" in log) == bool(files)
        _nothing_left(port)
        assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [
            ".censorscope-demo"]


def test_a_directory_that_is_not_the_demo_s_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    done = _demo(tmp_path / "mine", "--unprivileged")
    assert done.returncode == 2 and "is not a demo output directory" in done.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to run a command as another user")
def test_as_a_user_who_is_not_root() -> None:
    pwd.getpwnam("nobody")
    # a home of its own outside pytest's directory (which only root may enter)
    home = Path(tempfile.mkdtemp(prefix="censorscope-nobody-"))
    os.chmod(home, 0o755)
    shutil.chown(home, user="nobody")
    try:
        done = _demo(home / "demo", "--port", str(_free_port()), nobody=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "not running the lab: the lab builds network namespaces and packet filters, " \
               "which needs root" in done.stdout
        check_stories(home / "demo", done.stdout)
    finally:
        shutil.rmtree(home, ignore_errors=True)


@requires_root
@pytest.mark.lab
def test_ctrl_c_stops_everything_it_started(tmp_path: Path) -> None:
    proc = subprocess.Popen([CLI, "demo", "--no-serve", "--out", str(tmp_path / "demo")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "phase before, round 1/" in line:
            break
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(seen) + err
    assert "interrupted; everything it started is stopped" in err
    assert "csdemo" not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                          text=True, check=True).stdout
    left = subprocess.run(["pgrep", "-f", "csdemo|censorscope (probe|collector) "],
                          capture_output=True, text=True, check=False)
    assert left.stdout == "", left.stdout


@requires_root
@pytest.mark.lab
def test_with_the_lab(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = _demo(out, "--port", str(_free_port()), timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "not running the lab" not in done.stdout
    assert "az-2020-war: phase restored" in done.stdout
    check_stories(out, done.stdout)
    assert subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                          check=True).stdout.count("csdemo") == 0
