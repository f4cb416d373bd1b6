"""Build censorscope's wheel the way ``pip wheel .`` does, from a copy of the source tree.

The copy keeps what a developer's checkout has (``__pycache__`` directories, an editable
install's ``*.egg-info``) and leaves out ``build/`` and ``dist/``: setuptools builds in the tree,
so a build in the repository itself would share (and could ship stale files from) the repo's
``build/`` with any other build running at the same time. ``bytecode=True`` compiles every
module of the copy first, so each package directory has a ``__pycache__`` the wheel must not
take in, even on a fresh clone.
"""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TREE_FILES = ("pyproject.toml", "setup.py", "README.md")


def copy_source_tree(dest: Path, *, bytecode: bool = False) -> Path:
    """The files a build reads (pyproject.toml, setup.py, README.md, src/) copied to ``dest``."""
    dest.mkdir(parents=True)
    for name in TREE_FILES:
        shutil.copy2(REPO / name, dest / name)
    shutil.copytree(REPO / "src", dest / "src", ignore=shutil.ignore_patterns("build", "dist"))
    if bytecode:
        assert compileall.compile_dir(dest / "src", quiet=1)
    return dest


def build_wheel(work: Path, *, pure: bool, verbose: bool = False) -> tuple[Path, str]:
    """``pip wheel --no-deps`` of a copy of the source tree in ``work``: (the wheel, pip's
    output). ``pure`` sets ``CENSORSCOPE_PURE=1`` (no mypyc); otherwise it is unset, so the
    build compiles the hot path whatever the caller's environment says."""
    tree = copy_source_tree(work / "tree", bytecode=True)
    dist = work / "dist"
    env = {k: v for k, v in os.environ.items() if k not in ("CENSORSCOPE_PURE", "PYTHONPATH")}
    if pure:
        env["CENSORSCOPE_PURE"] = "1"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v" if verbose else "-q", "--no-deps", "-w",
         str(dist), str(tree)], capture_output=True, text=True, env=env, check=False)
    output = built.stdout + built.stderr
    assert built.returncode == 0, output[-3000:]
    [wheel] = dist.glob("censorscope-*.whl")
    return wheel, output
