"""Benchmark: end-to-end ingest (decode → rows → observations → DuckDB) vs orjson decode only.

The real OONI sample measurements are replicated to ``--count`` lines of JSONL (each copy with
a distinct report_id and no measurement_uid, so every line gets its own derived uid and the
uid hashing is part of the cost). Both phases run pinned to one core on the same file; the
ingest runs in a child process so its peak RSS is its own. With ``--repeat N`` the two phases
alternate N times and the summary line has the medians (the machine is shared: single runs
vary a lot). Rates are wall-clock; ``cpu_ratio`` compares CPU seconds, which other jobs on the
machine disturb less. Prints one JSON object per result:

    .venv/bin/python bench/ingest.py [--count 100000] [--batch-size 10000] [--repeat 3]
                                     [--workdir DIR] [--corpus JSONL]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "data" / "ooni-samples"


def _samples() -> list[dict]:
    out = []
    for sub in ("fastpath", "webconnectivity-real", "spec-examples"):
        for path in sorted((SAMPLES / sub).rglob("*.json")):
            obj = orjson.loads(path.read_bytes())
            if isinstance(obj, dict) and isinstance(obj.get("test_name"), str) and \
                    "test_keys" in obj:
                obj.pop("measurement_uid", None)
                out.append(obj)
    return out


def build_corpus(path: Path, count: int) -> int:
    samples = _samples()
    size = 0
    with open(path, "wb") as fh:
        for i in range(count):
            msm = dict(samples[i % len(samples)])
            msm["report_id"] = f"{msm.get('report_id') or 'r'}_{i}"
            line = orjson.dumps(msm) + b"\n"
            size += len(line)
            fh.write(line)
    return size


def _pin() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def decode_only(path: Path) -> dict:
    _pin()
    start, cpu = time.perf_counter(), time.process_time()
    n = 0
    with open(path, "rb") as fh:
        for line in fh:
            orjson.loads(line)
            n += 1
    return {"n": n, "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu}


def ingest_child(path: str, store_path: str, batch_size: int) -> None:
    _pin()
    from censorscope.ingest import ingest
    from censorscope.store import open_store

    with open_store(f"duckdb://{store_path}") as store:
        store._run("SET threads = 1")  # type: ignore[attr-defined]  # one core, really
        start, cpu = time.perf_counter(), time.process_time()
        report = ingest([path], store, batch_size=batch_size)
        store._run("CHECKPOINT")  # type: ignore[attr-defined]  # all the writing is timed
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        stored = store.count("measurements")
        observations = store.count("observations")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"n": report.total("records"), "ingested": report.total("ingested"),
                      "errors": report.total("errors"), "stored": stored,
                      "observations": observations, "seconds": seconds,
                      "cpu_seconds": cpu_seconds, "peak_rss_bytes": peak}))


def end_to_end(corpus: Path, db: Path, batch_size: int) -> dict:
    db.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, __file__, "--child", str(corpus), str(db),
                           str(batch_size)], capture_output=True, text=True, check=True)
    db.unlink(missing_ok=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--batch-size", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--corpus", default=None, help="use this JSONL file instead of building one")
    ap.add_argument("--child", nargs=3, metavar=("JSONL", "DB", "BATCH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        ingest_child(args.child[0], args.child[1], int(args.child[2]))
        return
    work = Path(args.workdir or tempfile.mkdtemp(prefix="cs-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.corpus:
            corpus = Path(args.corpus)
            size = corpus.stat().st_size
        else:
            corpus = work / "corpus.jsonl"
            t0 = time.perf_counter()
            size = build_corpus(corpus, args.count)
            print(json.dumps({"bench": "ingest.corpus", "measurements": args.count,
                              "bytes": size,
                              "build_seconds": round(time.perf_counter() - t0, 2)}))
        runs = []
        for run in range(args.repeat):
            dec = decode_only(corpus)
            res = end_to_end(corpus, work / "bench.duckdb", args.batch_size)
            runs.append((dec, res))
            dec_rate, rate = dec["n"] / dec["seconds"], res["n"] / res["seconds"]
            print(json.dumps({
                "bench": "ingest.run", "run": run + 1, "measurements": res["n"],
                "stored": res["stored"], "observations": res["observations"],
                "errors": res["errors"], "decode_only_per_s": round(dec_rate),
                "end_to_end_per_s": round(rate), "ratio": round(rate / dec_rate, 3),
                "cpu_ratio": round(dec["cpu_seconds"] / res["cpu_seconds"], 3),
                "peak_rss_mib": round(res["peak_rss_bytes"] / 2**20, 1),
                "load_average": round(os.getloadavg()[0], 2),
            }), flush=True)
        dec_s = statistics.median(d["seconds"] for d, _ in runs)
        e2e_s = statistics.median(r["seconds"] for _, r in runs)
        n, last = runs[0][1]["n"], runs[-1][1]
        print(json.dumps({
            "bench": "ingest.decode_only", "measurements": n, "seconds": round(dec_s, 3),
            "measurements_per_s": round(n / dec_s), "mb_per_s": round(size / 1e6 / dec_s, 1),
        }))
        print(json.dumps({
            "bench": "ingest.end_to_end", "store": "duckdb", "measurements": n,
            "stored": last["stored"], "observations": last["observations"],
            "errors": last["errors"], "seconds": round(e2e_s, 3),
            "measurements_per_s": round(n / e2e_s), "mb_per_s": round(size / 1e6 / e2e_s, 1),
            "ratio_to_decode_only": round(dec_s / e2e_s, 3),
            "ratio_runs": sorted(round(d["seconds"] / r["seconds"], 3) for d, r in runs),
            "cpu_ratio": round(statistics.median(
                d["cpu_seconds"] / r["cpu_seconds"] for d, r in runs), 3),
            "peak_rss_mib": round(max(r["peak_rss_bytes"] for _, r in runs) / 2**20, 1),
            "batch_size": args.batch_size, "repeat": args.repeat,
        }))
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
