"""Benchmark: ``analyze`` (decode → observation rows → verdict) vs orjson decode only.

The real OONI sample measurements are replicated to ``--count`` JSONL lines (bench/ingest.py's
corpus builder). Both phases run pinned to one core on the same file in the same process run:
decode-only (``orjson.loads`` per line), then analyze: ``orjson.loads`` + uid + ``measurement_row``
+ ``observe`` + the ``ingest_analyzer()`` hook (context learning + scoring + verdict row), the
same calls ``censorscope ingest`` makes per measurement, without the store. Prints one JSON
object:

    .venv/bin/python bench/analyze.py [--count 50000] [--workdir DIR] [--corpus JSONL]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import _pin, build_corpus, decode_only


def analyze_file(path: Path) -> dict[str, float | int | dict[str, int]]:
    from censorscope.ingest.uid import measurement_uid
    from censorscope.pipeline.analyze import ingest_analyzer
    from censorscope.pipeline.observe import measurement_row, observe

    _pin()
    analyze = ingest_analyzer()
    outcomes: dict[str, int] = {}
    n = 0
    start = time.perf_counter()
    with open(path, "rb") as fh:
        for line in fh:
            msm = orjson.loads(line)
            uid = measurement_uid(msm, line)
            meta = measurement_row(msm, uid)
            rows = observe(msm, uid)
            v = analyze(msm, meta, rows)
            if v is not None:
                outcomes[v.outcome] = outcomes.get(v.outcome, 0) + 1
            n += 1
    return {"n": n, "seconds": time.perf_counter() - start, "outcomes": outcomes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=50_000)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--corpus", default=None, help="use this JSONL file instead of building one")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="cs-bench-analyze-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.corpus:
            corpus = Path(args.corpus)
            size = corpus.stat().st_size
        else:
            corpus = work / "corpus.jsonl"
            size = build_corpus(corpus, args.count)
        from censorscope.pipeline.analyze import analyze_measurement

        analyze_measurement(orjson.loads(corpus.open("rb").readline()))  # warm caches/imports
        dec = decode_only(corpus)
        ana = analyze_file(corpus)
        dec_rate = dec["n"] / dec["seconds"]
        ana_rate = float(ana["n"]) / float(ana["seconds"])  # type: ignore[arg-type]
        print(json.dumps({
            "bench": "analyze", "measurements": ana["n"], "bytes": size,
            "decode_only_per_s": round(dec_rate), "analyze_per_s": round(ana_rate),
            "analyze_vs_decode": round(ana_rate / dec_rate, 3),
            "target_vs_decode": 0.30, "cores": 1, "outcomes": ana["outcomes"],
        }))
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
