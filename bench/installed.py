"""The package as ``pip install`` builds it, for the benchmarks: a wheel, unpacked.

A wheel compiles the modules setup.py lists with mypyc (an editable install, the development
tree, stays pure Python). ``use_build("wheel", work)`` builds one into ``work`` (about 25 s),
puts it first on ``PYTHONPATH`` (so the benchmark's child processes import it) and on
``sys.path``; ``use_build("source", work)`` leaves the development tree in place. Either way it
returns what the results print: the build and whether the analysis modules are compiled.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BUILDS = ("wheel", "source")


def _compiled_modules(site: Path) -> list[str]:
    return sorted(str(p.relative_to(site)) for p in site.rglob("censorscope/**/*.so"))


def use_build(build: str, work: Path) -> dict[str, Any]:
    """Make ``build`` (``wheel`` or ``source``) the censorscope this process and its children
    import; returns ``{"build": …, "compiled_modules": n}``."""
    if build == "source":
        return {"build": "source", "compiled_modules": 0}
    if build != "wheel":
        raise SystemExit(f"unknown build {build!r} (known: {', '.join(BUILDS)})")
    dist, site = work / "dist", work / "site"
    dist.mkdir(parents=True, exist_ok=True)
    for old in dist.glob("*.whl"):
        old.unlink()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist),
                    str(REPO)], check=True, stdout=subprocess.DEVNULL)
    [wheel] = dist.glob("censorscope-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(site), *filter(None, [os.environ.get("PYTHONPATH")])])
    sys.path.insert(0, str(site))
    compiled = _compiled_modules(site)
    if not compiled:
        raise SystemExit("the wheel has no compiled modules (is CENSORSCOPE_PURE set?)")
    return {"build": "wheel", "compiled_modules": len(compiled)}
