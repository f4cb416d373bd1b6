"""The pure wheel carries every file the code reads at run time, and nothing of a build's
leftovers; installed in a fresh virtual environment, its ``censorscope`` command works from
outside the repository.

The wheel is built for real (``pip wheel``, ``CENSORSCOPE_PURE=1``) from a copy of the source
tree whose packages all have a ``__pycache__`` (tests/packaging/wheelkit.py). The expected
contents are derived from the source tree: every file under ``src/censorscope`` except
``__pycache__``. The environment is a new venv whose own site-packages holds only the wheel; the
dependencies come from this interpreter's site-packages through a path entry (no downloads),
which does not run that directory's ``.pth`` files, so the editable install of the source tree
stays out of it. Every command runs in an empty directory outside the repository.
The compiled wheel is tests/ingest/test_compiled_build.py's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

import censorscope
from censorscope.web.child import free_port, serving
from tests.packaging.wheelkit import REPO, build_wheel

PACKAGE = REPO / "src" / "censorscope"
GOLDEN_TIKTOK = REPO / "tests" / "golden" / "measurements" / "az-2022-tiktok.jsonl"
# a real OONI measurement whose DNS answer is a known blockpage address (an OONI fingerprint)
IR_BLOCKPAGE = REPO.parent / "shared" / "data" / "ooni-samples" / "fastpath" / \
    "web_connectivity_ir_fp.json"


def _source_files() -> set[str]:
    """Every file of the package in the source tree, as a wheel names it."""
    return {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def _venv_with(wheel: Path, where: Path) -> Path:
    """A fresh venv with ``wheel`` installed in it; returns its bin directory."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(where),
                                                       "platbase": str(where)}))
    deps = sysconfig.get_path("purelib")  # this interpreter's site-packages: the dependencies
    (purelib / "zz_censorscope_test_dependencies.pth").write_text(deps + "\n")
    bindir = where / "bin"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(bindir / "python"), "install",
                    "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    return bindir


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.slow
def test_the_pure_wheel_ships_every_data_file_and_its_command_works_outside_the_repo(
        tmp_path: Path) -> None:
    wheel, output = build_wheel(tmp_path / "build", pure=True, verbose=True)

    # a clean and quiet build: no setuptools warning (package discovery, data outside packages)
    warnings = [line for line in output.splitlines()
                if re.search(r"\w*Warning\b|is absent from the `packages`|^\s*!!\s*$", line)]
    assert warnings == [], "\n".join(warnings)
    assert wheel.name == f"censorscope-{censorscope.__version__}-py3-none-any.whl"

    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    shipped = {n for n in names if n.startswith("censorscope/")}
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    expected = _source_files()
    data = {n for n in expected if not n.endswith(".py")}
    # the kinds of run-time data the brief names are all among them
    for prefix in ("censorscope/data/test-lists/", "censorscope/data/fingerprints/",
                   "censorscope/data/services/", "censorscope/data/economy/",
                   "censorscope/lab/scenarios/", "censorscope/web/templates/",
                   "censorscope/web/static/"):
        assert any(n.startswith(prefix) for n in data), prefix
    assert "censorscope/py.typed" in data
    assert sorted(expected - shipped) == []
    assert sorted(shipped - expected) == []  # nothing but the source tree's files

    bindir = _venv_with(wheel, tmp_path / "venv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "CENSORSCOPE_STORE", "PYTHONHOME")}

    def run(*args: str) -> str:
        done = subprocess.run([str(bindir / "censorscope"), *args], cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, f"censorscope {' '.join(args)}: {done.stderr[-2000:]}"
        return done.stdout

    # the package, its metadata and its command are the installed ones
    where = subprocess.run(
        [str(bindir / "python"), "-c",
         "import censorscope, importlib.metadata as m; d = m.distribution('censorscope');"
         "print(censorscope.__file__); print(d.locate_file('censorscope')); print(d.version)"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout.split("\n")
    venv = str(tmp_path / "venv")
    assert where[0].startswith(venv) and where[1].startswith(venv), where
    assert where[2] == censorscope.__version__

    # --version: the package metadata's version (pyproject takes it from censorscope.__version__)
    assert run("--version") == f"censorscope, version {where[2]}\n"

    # test lists: every bundled list with its number of URLs (the source CSVs' data rows)
    lists = json.loads(run("lists", "--json"))["lists"]
    lists_dir = PACKAGE / "data" / "test-lists"
    for csv in lists_dir.glob("*.csv"):
        if not csv.name.startswith("00-"):
            rows = [line for line in csv.read_text().splitlines()[1:] if line.strip()]
            assert lists[csv.stem] == len(rows), csv.name
    assert "all categories" in run("lists", "stats")

    # economy tables
    cost = json.loads(run("cost", "--country", "AZ", "--year", "2020", "--kind", "national",
                          "--days", "1", "--format", "json"))
    assert 0 < cost["low"] <= cost["central"] <= cost["high"]
    assert "Azerbaijan" in cost["inputs"]["country"]["source"]

    # lab scenarios (listing needs no root)
    listed = run("lab", "list")
    for toml in (PACKAGE / "lab" / "scenarios").glob("*.toml"):
        assert re.search(rf"^{re.escape(toml.stem)}[\t.]", listed, re.M), toml.name

    # fingerprints: the verdict names the fingerprint and its version, as from the source tree
    installed = run("analyze", "--jobs", "1", str(IR_BLOCKPAGE))
    [verdict] = [json.loads(line) for line in installed.splitlines()]
    assert verdict["fingerprints"] == ["ooni.ir_10dot10_ipv4_1"] and verdict["confirmed"]
    source = subprocess.run([sys.executable, "-m", "censorscope.cli.main", "analyze", "--jobs",
                             "1", str(IR_BLOCKPAGE)], capture_output=True, text=True,
                            check=True).stdout
    assert installed == source

    # a store filled by ingest (scored as it goes in) of the golden TikTok measurements
    store = f"duckdb:{elsewhere / 'store.duckdb'}"
    report = json.loads(run("ingest", "--store", store, "--jobs", "1", "--no-progress",
                            "--json", str(GOLDEN_TIKTOK)))
    assert (report["ingested"], report["errors"]) == (3, 0), report

    # the explorer's templates and static files, the service endpoint sets, from one server
    with serving([str(bindir / "censorscope")], store, free_port(), elsewhere / "serve.log",
                 args=("--log-level", "warning"), ready=("/search",), cwd=elsewhere,
                 env=env) as (_, base):
        status, page = _get(f"{base}/search")
        assert status == 200 and b"</html>" in page
        status, css = _get(f"{base}/static/explorer.css")
        assert (status, css) == (200, (PACKAGE / "web" / "static" / "explorer.css").read_bytes())
        status, body = _get(f"{base}/api/v1/services")
        assert status == 200, body[:500]
        names = {s["name"] for s in json.loads(body)["services"]}
        assert names == {p.stem for p in (PACKAGE / "data" / "services").glob("*.csv")}
