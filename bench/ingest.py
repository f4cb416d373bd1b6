"""Benchmark: end-to-end ingest (decode → rows → observations → verdicts → DuckDB) vs decode only.

The corpus: the real Web Connectivity samples (``_samples``: 24 OONI measurements, 0.7–818 KB)
replicated to ``--count`` JSONL lines (~92 KB per line on average; printed), each copy with a
distinct report_id and no measurement_uid, so every line gets its own derived uid and the uid
hashing is part of the cost. Both phases run pinned to one core on the same file; the ingest
runs in a child process so its peak RSS is its own. With ``--repeat N`` the two phases
alternate N times and the summary line has the medians (the machine is shared: single runs
vary a lot). Rates are wall-clock; ``cpu_ratio`` compares CPU seconds, which other jobs on the
machine disturb less. The end-to-end run scores every measurement exactly as ``censorscope
ingest --jobs 1`` does (two passes: the facts of the whole input first, then verdicts);
``--no-analyze`` measures without verdicts instead, ``--both`` measures both ways in every
repeat (and prints a summary for each). Then the peak RSS of ingest with verdicts on corpora
of ``--mem-counts`` lines (default 2,000 and 8,000) and their ratio (target ≤ 1.3, < 400 MiB).
``--build wheel`` (the default) measures the package as ``pip install`` builds it (a wheel: the
analysis hot path compiled with mypyc, see setup.py), ``--build source`` the development tree.
Prints one JSON object per result:

    .venv/bin/python bench/ingest.py [--count 3000] [--batch-size 10000] [--repeat 3]
                                     [--no-analyze | --both] [--workdir DIR] [--corpus JSONL]
                                     [--mem-counts 2000,8000 | --skip-mem]
                                     [--build wheel|source]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from installed import BUILDS, use_build

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "data" / "ooni-samples"


def _samples() -> list[dict]:
    """Every real Web Connectivity measurement among the public samples (webconnectivity-real
    measurements, fastpath and spec examples): 24 measurements, 94 KB on average, from 674 B
    to 818 KB (the YouTube pages of webconnectivity-real weigh most)."""
    out = []
    for path in sorted(SAMPLES.rglob("*.json")):
        try:
            obj = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            continue
        for msm in obj if isinstance(obj, list) else [obj]:
            if isinstance(msm, dict) and msm.get("test_name") == "web_connectivity" and \
                    "test_keys" in msm:
                msm = dict(msm)
                msm.pop("measurement_uid", None)
                out.append(msm)
    return out


def build_corpus(path: Path, count: int) -> int:
    """``count`` JSONL lines cycling through the samples, each with its own report_id (and
    so its own derived uid); returns the size in bytes."""
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


def ingest_child(path: str, store_path: str, batch_size: int, analyze: bool, jobs: int) -> None:
    if jobs == 1:
        _pin()
    elif hasattr(os, "sched_setaffinity"):  # the parent pinned itself for decode-only
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    from censorscope.ingest import ingest
    from censorscope.store import open_store

    with open_store(f"duckdb://{store_path}") as store:
        if jobs == 1:
            store._run("SET threads = 1")  # type: ignore[attr-defined]  # one core, really
        start, cpu = time.perf_counter(), time.process_time()
        # as src/censorscope/ingest/cli.py does: two passes (facts first), then verdicts
        report = ingest([path], store, batch_size=batch_size, analyze=analyze, jobs=jobs)
        store._run("CHECKPOINT")  # type: ignore[attr-defined]  # all the writing is timed
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        stored = store.count("measurements")
        observations = store.count("observations")
        verdicts = store.count("verdicts")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    try:  # VmHWM: since exec (ru_maxrss also counts the bench process this was spawned from)
        with open("/proc/self/status") as fh:
            peak = next(int(line.split()[1]) * 1024 for line in fh
                        if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        pass
    print(json.dumps({"n": report.total("records"), "ingested": report.total("ingested"),
                      "errors": report.total("errors"), "stored": stored,
                      "observations": observations, "verdicts": verdicts, "seconds": seconds,
                      "cpu_seconds": cpu_seconds, "peak_rss_bytes": peak}))


def end_to_end(corpus: Path, db: Path, batch_size: int, analyze: bool, jobs: int = 1) -> dict:
    db.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, __file__, "--child", str(corpus), str(db),
                           str(batch_size), "1" if analyze else "0", str(jobs)],
                          capture_output=True, text=True, check=True)
    db.unlink(missing_ok=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=3_000)
    ap.add_argument("--batch-size", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--corpus", default=None, help="use this JSONL file instead of building one")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--no-analyze", action="store_true",
                      help="end to end without verdicts (ingest --no-analyze)")
    mode.add_argument("--both", action="store_true",
                      help="measure with and without verdicts in every repeat")
    ap.add_argument("--jobs", type=int, default=1,
                    help="ingest --jobs for the timed runs (1: pinned to one core)")
    ap.add_argument("--mem-counts", default="2000,8000",
                    help="peak RSS of ingest (with verdicts, --jobs 1) on corpora of these sizes")
    ap.add_argument("--skip-mem", action="store_true")
    ap.add_argument("--build", choices=BUILDS, default="wheel",
                    help="wheel: as pip installs it (compiled hot path); source: the dev tree")
    ap.add_argument("--child", nargs=5, metavar=("JSONL", "DB", "BATCH", "ANALYZE", "JOBS"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        ingest_child(args.child[0], args.child[1], int(args.child[2]), args.child[3] == "1",
                     int(args.child[4]))
        return
    modes = [True, False] if args.both else [not args.no_analyze]
    work = Path(args.workdir or tempfile.mkdtemp(prefix="cs-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        build = use_build(args.build, work)
        print(json.dumps({"bench": "ingest.build", **build}), flush=True)
        if args.corpus:
            corpus = Path(args.corpus)
            size = corpus.stat().st_size
        else:
            corpus = work / "corpus.jsonl"
            t0 = time.perf_counter()
            size = build_corpus(corpus, args.count)
            print(json.dumps({"bench": "ingest.corpus", "measurements": args.count,
                              "bytes": size, "average_line_bytes": round(size / args.count),
                              "build_seconds": round(time.perf_counter() - t0, 2)}))
        runs: dict[bool, list[tuple[dict, dict]]] = {m: [] for m in modes}
        for run in range(args.repeat):
            dec = decode_only(corpus)
            dec_rate = dec["n"] / dec["seconds"]
            for analyze in modes:
                res = end_to_end(corpus, work / "bench.duckdb", args.batch_size, analyze,
                                 args.jobs)
                runs[analyze].append((dec, res))
                rate = res["n"] / res["seconds"]
                print(json.dumps({
                    "bench": "ingest.run", "run": run + 1, "analyze": analyze,
                    "measurements": res["n"], "stored": res["stored"],
                    "observations": res["observations"], "verdicts": res["verdicts"],
                    "errors": res["errors"], "decode_only_per_s": round(dec_rate),
                    "end_to_end_per_s": round(rate), "ratio": round(rate / dec_rate, 3),
                    "cpu_ratio": round(dec["cpu_seconds"] / res["cpu_seconds"], 3),
                    "peak_rss_mib": round(res["peak_rss_bytes"] / 2**20, 1),
                    "load_average": round(os.getloadavg()[0], 2),
                }), flush=True)
        decs = [d for d, _ in runs[modes[0]]]
        dec_s = statistics.median(d["seconds"] for d in decs)
        n = decs[0]["n"]
        print(json.dumps({
            "bench": "ingest.decode_only", "measurements": n, "seconds": round(dec_s, 3),
            "measurements_per_s": round(n / dec_s), "mb_per_s": round(size / 1e6 / dec_s, 1),
        }))
        for analyze in modes:
            pairs = runs[analyze]
            e2e_s = statistics.median(r["seconds"] for _, r in pairs)
            last = pairs[-1][1]
            print(json.dumps({
                "bench": "ingest.end_to_end", **build, "analyze": analyze, "store": "duckdb",
                "measurements": n, "stored": last["stored"],
                "observations": last["observations"], "verdicts": last["verdicts"],
                "errors": last["errors"], "seconds": round(e2e_s, 3),
                "measurements_per_s": round(n / e2e_s),
                "mb_per_s": round(size / 1e6 / e2e_s, 1),
                "ratio_to_decode_only": round(dec_s / e2e_s, 3),
                "ratio_runs": sorted(round(d["seconds"] / r["seconds"], 3) for d, r in pairs),
                "cpu_ratio": round(statistics.median(
                    d["cpu_seconds"] / r["cpu_seconds"] for d, r in pairs), 3),
                "peak_rss_mib": round(max(r["peak_rss_bytes"] for _, r in pairs) / 2**20, 1),
                "batch_size": args.batch_size, "repeat": args.repeat, "jobs": args.jobs,
            }))
        if not args.skip_mem:
            mem = {}
            for n in (int(c) for c in args.mem_counts.split(",")):
                path = work / f"corpus-{n}.jsonl"
                if not path.exists():
                    build_corpus(path, n)
                res = end_to_end(path, work / "mem.duckdb", args.batch_size, True)
                mem[n] = round(res["peak_rss_bytes"] / 2**20, 1)
                print(json.dumps({"bench": "ingest.memory", "measurements": n,
                                  "peak_rss_mib": mem[n], "seconds": round(res["seconds"], 2),
                                  "stored": res["stored"], "verdicts": res["verdicts"]}),
                      flush=True)
            lo, hi = mem[min(mem)], mem[max(mem)]
            print(json.dumps({"bench": "ingest.memory_summary", "peak_rss_mib": mem,
                              "memory_ratio": round(hi / lo, 3),
                              "memory_ok": hi / lo <= 1.3 and hi < 400}))
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
