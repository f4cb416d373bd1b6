"""Benchmark: `censorscope probe run` over 200 lab URLs, 20 % blocked by drop (TLS timeouts).

Usage (root): .venv/bin/python bench/probe_lab.py [--urls 200] [--blocked 0.2]
                  [--parallel 1 8 32] [--tls-timeout 2]

Brings up a generated lab scenario (one ISP, one web host serving every name, control,
resolver) through ``censorscope.lab.runtime.Lab``; the ISP drops ClientHellos naming the
blocked sites (``sni_drop``). For each --parallel value it runs the probe inside the probe's
namespace (`lab exec`) and prints one JSON object:
``{"parallel", "urls", "blocked", "wall_s", "urls_per_min", "cpu_s_per_measurement",
"bound_s", "ratio_to_bound"}`` where the critical-path lower bound is
``ceil(blocked / parallel) × tls_timeout + unblocked_work / parallel`` and unblocked work is
the sum of the unblocked measurements' ``test_runtime`` at --parallel 1 (measured first).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from censorscope.lab.runtime import Lab
from censorscope.lab.schema import Scenario

WEB_IP = "198.19.1.10"


def scenario(n: int, blocked: int) -> Scenario:
    names = [f"site{i:03d}.bench.test" for i in range(n)]
    return Scenario.model_validate({
        "name": "bench-probe",
        "description": "probe benchmark: many sites on one host, some SNI-dropped",
        "isps": [{"name": "isp", "asn": 64500, "as_name": "Bench Access", "cc": "ZZ"}],
        "hosts": [
            {"name": "resolver", "role": "resolver", "ips": ["198.19.8.8"], "asn": 15169,
             "as_name": "Resolver", "names": ["dns.bench.test"]},
            {"name": "web", "role": "web", "ips": [WEB_IP], "asn": 20940, "as_name": "Hosting"},
            {"name": "th", "role": "control", "ips": ["198.19.5.1"], "asn": 14061,
             "as_name": "Control", "names": ["th.bench.test"]},
        ],
        "sites": [{"names": names, "ips": [WEB_IP], "title": "Bench page"}],
        "phases": {"run": {"policies": [
            {"kind": "sni_drop", "isp": "isp", "sni": names[:blocked]},
        ]}},
    }), names


def run_probe(lab: Lab, st: Any, urls: list[str], parallel: int, tls_timeout: float,
              workdir: Path) -> dict[str, Any]:
    config = st.state_dir / "probe-isp.json"
    out = workdir / f"out-{parallel}.jsonl"
    argv = [str(Path(sys.executable).with_name("censorscope")), "probe", "run",
            "--config", str(config), "-o", str(out), "--parallel", str(parallel),
            "--tls-timeout", str(tls_timeout), "--no-progress", "--no-summary"]
    for url in urls:
        argv += ["-i", url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = lab.exec(f"{st.isps['isp']['probe_hosts'][0]}", argv, capture_output=True, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"probe failed ({proc.returncode}): {proc.stderr[-2000:]}")
    measurements = [json.loads(x) for x in out.read_text().splitlines()]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "measurements": measurements}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--urls", type=int, default=200)
    ap.add_argument("--blocked", type=float, default=0.2)
    ap.add_argument("--parallel", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--tls-timeout", type=float, default=2.0)
    args = ap.parse_args()
    n_blocked = round(args.urls * args.blocked)
    sc, names = scenario(args.urls, n_blocked)
    urls = [f"https://{name}/" for name in names]
    blocked = set(urls[:n_blocked])
    lab = Lab("bp" + secrets.token_hex(2))
    try:
        st = lab.up(sc)
        with tempfile.TemporaryDirectory() as tmp:
            unblocked_work: float | None = None
            for parallel in sorted(args.parallel):
                r = run_probe(lab, st, urls, parallel, args.tls_timeout, Path(tmp))
                ms = r["measurements"]
                if unblocked_work is None:
                    unblocked_work = sum(m["test_runtime"] for m in ms if m["input"] not in blocked)
                bound = (math.ceil(n_blocked / parallel) * args.tls_timeout
                         + unblocked_work / parallel)
                print(json.dumps({
                    "parallel": parallel, "urls": len(ms), "blocked": n_blocked,
                    "wall_s": round(r["wall"], 2),
                    "urls_per_min": round(len(ms) / r["wall"] * 60, 1),
                    "cpu_s_per_measurement": round(r["cpu"] / max(len(ms), 1), 4),
                    "bound_s": round(bound, 2), "ratio_to_bound": round(r["wall"] / bound, 2),
                    "blocked_tls_timeouts": sum(
                        1 for m in ms if m["input"] in blocked and any(
                            h["failure"] == "generic_timeout_error"
                            for h in m["test_keys"]["tls_handshakes"])),
                }), flush=True)
    finally:
        lab.down()


if __name__ == "__main__":
    main()
