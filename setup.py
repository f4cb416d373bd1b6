"""Build hook: a wheel (a regular ``pip install``) compiles the analysis hot path with mypyc.

The modules in ``COMPILED`` (observation rows, the Web Connectivity analysis, evidence) are
plain, fully typed Python; mypyc turns them into C extensions that run the same code about a
quarter faster (bench/analyze.py measures both builds; tests/ingest/test_compiled_build.py
checks the compiled build writes byte-identical verdicts). Everything else stays Python.

An editable install (``pip install -e .``, what scripts/setup.sh does for development) stays
pure Python, so an edit takes effect at once; ``CENSORSCOPE_PURE=1`` makes a wheel pure too.
All metadata is in pyproject.toml.
"""

from __future__ import annotations

import os
import sys

from setuptools import setup

COMPILED = [
    "censorscope/model/rows.py",
    "censorscope/model/evidence.py",
    "censorscope/pipeline/evidence.py",
    "censorscope/pipeline/observe/meta.py",
    "censorscope/pipeline/observe/probe_observations.py",
    "censorscope/pipeline/observe/control_observations.py",
    "censorscope/pipeline/analyze/context.py",
    "censorscope/pipeline/analyze/webview.py",
    "censorscope/pipeline/analyze/dns.py",
    "censorscope/pipeline/analyze/endpoints.py",
    "censorscope/pipeline/analyze/http.py",
    "censorscope/pipeline/analyze/web.py",
]


def _ext_modules() -> list[object]:
    building = any(cmd in sys.argv for cmd in ("bdist_wheel", "build_ext", "build"))
    if not building or os.environ.get("CENSORSCOPE_PURE"):
        return []
    from mypyc.build import mypycify

    return mypycify([f"src/{path}" for path in COMPILED], opt_level="3")


setup(ext_modules=_ext_modules())
