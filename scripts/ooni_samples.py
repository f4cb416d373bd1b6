"""Writes the real OONI measurements the package ships for the demo's unprivileged part
(``src/censorscope/data/ooni-samples/samples.jsonl.gz``) from ``../shared/data/ooni-samples``:
the measurements of ``fastpath/`` (ooni/backend fastpath tests) and ``webconnectivity-real/``
(ooni/probe-cli minipipeline testdata) that are OONI measurements (a ``test_name``, a
``measurement_start_time``), one JSON object per line, in file-name order, gzipped without a
timestamp so the same inputs give the same bytes.

    .venv/bin/python scripts/ooni_samples.py
"""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "ooni-samples"
TARGET = ROOT / "src" / "censorscope" / "data" / "ooni-samples" / "samples.jsonl.gz"
DIRECTORIES = ("fastpath", "webconnectivity-real")


def measurements() -> list[dict[str, object]]:
    found = []
    for sub in DIRECTORIES:
        for path in sorted((SOURCE / sub).rglob("*.json")):
            try:
                obj = json.loads(path.read_text("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue
            if isinstance(obj, dict) and obj.get("test_name") and obj.get(
                    "measurement_start_time"):
                found.append(obj)
    return found


def main() -> int:
    lines = b"".join(json.dumps(m, sort_keys=True, ensure_ascii=False).encode() + b"\n"
                     for m in measurements())
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
        gz.write(lines)
    TARGET.write_bytes(buf.getvalue())
    count = lines.count(b"\n")
    print(f"{TARGET}: {count} measurements, {len(buf.getvalue())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
