"""Writes the lab recordings the package ships (``src/censorscope/data/lab-recordings/``) from
the output of a root run of the demo (``censorscope demo``, default ``out/demo``): per seed case,
every measurement its probes wrote (``measurements/<case>/*.jsonl`` in file-name order) as one
gzipped JSONL file without a timestamp, and the lab's ASN table of its networks
(``asn/<case>.tsv``).

    .venv/bin/python scripts/lab_recordings.py [out/demo]
"""

from __future__ import annotations

import gzip
import io
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "censorscope" / "data" / "lab-recordings"
CASES = ("az-2022-tiktok", "am-2022-tiktok", "az-2020-war")


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else ROOT / "out" / "demo"
    for case in CASES:
        files = sorted((source / "measurements" / case).glob("*.jsonl"))
        if not files:
            print(f"{source}: no measurements of {case} (run the demo as root first)")
            return 1
        data = b"".join(f.read_bytes() for f in files)
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
            gz.write(data)
        (TARGET / f"{case}.jsonl.gz").write_bytes(buf.getvalue())
        shutil.copyfile(source / "asn" / f"{case}.tsv", TARGET / f"{case}.asn.tsv")
        count = data.count(b"\n")
        print(f"{case}: {count} measurements from {len(files)} files, "
              f"{len(buf.getvalue())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
