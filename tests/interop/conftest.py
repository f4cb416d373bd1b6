"""Fixtures for interop tests: the oonidata interpreter and real OONI samples."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "data" / "ooni-samples"
OONIDATA_PY = ROOT / ".venv-oonidata" / "bin" / "python"
LOADER = Path(__file__).with_name("ooni_load.py")


def load_with_oonidata(measurements: list[dict[str, Any]]) -> dict[str, Any]:
    """Feed measurements to OONI's loader in the oonidata virtualenv; return its summary."""
    if not OONIDATA_PY.exists():
        pytest.fail(f"{OONIDATA_PY} missing: run scripts/setup.sh")
    payload = "\n".join(json.dumps(m) for m in measurements) + "\n"
    proc = subprocess.run(
        [str(OONIDATA_PY), str(LOADER)], input=payload, capture_output=True, text=True,
        timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def real_web_connectivity_samples() -> list[tuple[str, dict[str, Any]]]:
    """Every real web_connectivity measurement in the shared samples (file, measurement)."""
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(SAMPLES.rglob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            continue
        items = data if isinstance(data, list) else [data]
        for i, item in enumerate(items):
            if (
                isinstance(item, dict)
                and item.get("test_name") == "web_connectivity"
                and "report_id" in item  # full measurements, not API metadata rows
                and "test_keys" in item
            ):
                found.append((f"{path.relative_to(SAMPLES)}#{i}", item))
    return found
