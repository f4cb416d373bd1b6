"""The package as ``pip install`` builds it (setup.py compiles the analysis hot path with
mypyc) writes exactly the verdicts the pure-Python development tree writes.

The wheel is built for real (``pip wheel`` of a copy of the source tree,
tests/packaging/wheelkit.py), unpacked and put first on ``PYTHONPATH``;
``censorscope analyze`` then runs from it over the lab corpus (every QA scenario and both
TikTok cases) and every real OONI sample, and its output must equal, byte for byte, the
output of the same command from the source tree. The test also checks the compiled modules
are the ones imported, so a wheel that silently fell back to Python fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.packaging.wheelkit import build_wheel

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO.parent / "shared" / "data" / "ooni-samples"
GOLDEN = REPO / "tests" / "golden" / "measurements"
HOT = ("censorscope.pipeline.analyze.dns", "censorscope.pipeline.observe.probe_observations",
       "censorscope.pipeline.evidence", "censorscope.model.rows")


def _corpus(path: Path) -> int:
    """Every lab and real sample measurement, one per line; returns the count."""
    lines: list[bytes] = [
        line for f in sorted(GOLDEN.rglob("*.jsonl")) for line in f.read_bytes().splitlines()
        if line.strip()]
    import orjson

    for f in sorted(SAMPLES.rglob("*.json")):
        try:
            obj = orjson.loads(f.read_bytes())
        except orjson.JSONDecodeError:
            continue
        for msm in obj if isinstance(obj, list) else [obj]:
            if isinstance(msm, dict) and "test_keys" in msm:
                lines.append(orjson.dumps(msm))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return len(lines)


def _analyze(corpus: Path, env: dict[str, str]) -> bytes:
    out = subprocess.run([sys.executable, "-m", "censorscope.cli.main", "analyze", "--jobs",
                          "1", str(corpus)], capture_output=True, env=env, check=False)
    assert out.returncode in (0, 1), out.stderr.decode()[-2000:]
    return out.stdout


@pytest.mark.slow
def test_wheel_compiles_the_hot_path_and_writes_the_same_verdicts(tmp_path: Path) -> None:
    site = tmp_path / "site"
    wheel, _ = build_wheel(tmp_path / "build", pure=False)
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    compiled_env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import importlib, sys; print('\\n'.join("
         "importlib.import_module(m).__file__ for m in sys.argv[1:]))", *HOT],
        capture_output=True, text=True, env=compiled_env, check=True).stdout.split()
    assert len(where) == len(HOT)
    for path in where:
        assert path.startswith(str(site)) and path.endswith(".so"), path

    corpus = tmp_path / "corpus.jsonl"
    n = _corpus(corpus)
    assert n > 50
    pure = _analyze(corpus, {k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    compiled = _analyze(corpus, compiled_env)
    assert pure.count(b"\n") > 50
    assert compiled == pure
