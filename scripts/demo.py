"""The demo: the TikTok blocking of Azerbaijan, September 2022, re-enacted end to end in the lab.

1. The ``az-2022-tiktok`` lab comes up: five AZ networks with real censors, an "internet" with
   Akamai-like CDN hosts, public resolvers, the control (test helper) and a collector host.
2. The collector runs on the lab's collector host (``api.ooni.io``), archiving every submission
   and feeding a DuckDB store.
3. Phase by phase (before → Delta blocks → Connect follows → Azercell follows) the probes of
   every network (all at once) measure TikTok as a service (its 25 endpoints), www.tiktok.com,
   a TikTok endpoint and a harmless site on the same CDN address, and upload their
   measurements to the collector (kept in a local queue until acked). The lab clock stamps
   them with the case's dates (Delta 2022-09-14 12:11, Connect 17:55, Azercell 09-15 12:40).
4. In the last phase the probes of Delta (blocks) and Bakcell (does not) run the ``social``
   preset: ``service`` (is TikTok reachable from its 25 endpoints?), ``tls_sni`` (is the
   server name or the address blocked?) and ``dns_consistency`` (are the CDN's answers a lie?),
   for TikTok and the other social services.
5. The analysis re-scores everything in the store (``censorscope reprocess``), detection finds
   the story in it (``censorscope detect``: who blocks, since when, how, which endpoints; also
   written to ``out/demo/incidents.json`` as ``censorscope incidents --format json`` prints
   it), every evidence statement is checked against the stored measurements (``censorscope
   verify``), and the demo prints the incidents, then per phase and network the verdict and the
   evidence of the first blocked one.

Everything lands in ``out/demo/`` (JSONL copies, the collector's archive, ``censorscope.duckdb``).
The lab is always torn down at the end. Run as root: ``bash scripts/demo.sh``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from censorscope.lab.runtime import Lab, LabState
from censorscope.pipeline.detect.incident_text import technique_label

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out" / "demo"
SCENARIO = "az-2022-tiktok"
SOCIAL_FROM = ["delta", "bakcell"]
PHASES = ["before", "blocked-delta", "blocked-delta-kinetic", "blocked-all"]
URLS = ["https://www.tiktok.com/", "https://webcast.tiktok.com/", "https://www.example.org/"]
TIMEOUTS = ["--dns-timeout", "2", "--tcp-timeout", "2", "--tls-timeout", "2",
            "--http-timeout", "4", "--control-timeout", "12"]
CLI = str(Path(sys.executable).with_name("censorscope"))
COLLECTOR_URL = "http://api.ooni.io/"


def start_collector(lab: Lab, store_url: str) -> subprocess.Popen[str]:
    proc = lab.popen("col", [CLI, "collector", "serve", "--archive", str(OUT / "archive"),
                             "--store", store_url, "--host", "0.0.0.0", "--port", "80"],
                     stdout=subprocess.DEVNULL, stderr=open(OUT / "collector.log", "w"),
                     text=True)
    st = lab.status()
    assert st is not None
    for _ in range(100):  # wait until it accepts connections (at most 10 s)
        probe = lab.exec(st.probe_hosts("delta")[0],
                         ["curl", "-s", "-o", "/dev/null", "--max-time", "1", COLLECTOR_URL],
                         capture_output=True, check=False)
        if probe.returncode == 0:
            return proc
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the collector did not come up; see out/demo/collector.log")


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)  # the collector seals its spool into cans and exits
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def probe(lab: Lab, state: LabState, isp: str, out: Path, *args: str) -> None:
    """One ``probe run`` in ``isp``'s first probe host, uploading to the lab's collector."""
    argv = [CLI, "probe", "run", "--config", str(state.state_dir / f"probe-{isp}.json"),
            "-o", str(out), "--no-progress", "--no-summary", "--upload", COLLECTOR_URL,
            "--upload-queue", str(OUT / f"queue-{isp}"), *TIMEOUTS, *args]
    proc = lab.exec(state.probe_hosts(isp)[0], argv, capture_output=True, text=True,
                    check=False)
    if proc.returncode != 0:
        raise SystemExit(f"probe run in {isp} failed:\n{proc.stdout}{proc.stderr}")


def measure_phase(lab: Lab, state: LabState, phase: str) -> list[Path]:
    """Every network at once: TikTok as a service, then the URLs; the files written."""

    def one(isp: str) -> list[Path]:
        service, urls = OUT / f"service-{phase}-{isp}.jsonl", OUT / f"{phase}-{isp}.jsonl"
        probe(lab, state, isp, service, "--experiment", "service", "--input", "tiktok",
              "--parallel", "8")
        inputs = [a for url in URLS for a in ("--input", url)]
        probe(lab, state, isp, urls, "--parallel", "3", *inputs)
        return [urls]

    with ThreadPoolExecutor(max_workers=len(state.isps)) as pool:
        return [p for files in pool.map(one, state.isps) for p in files]


def _when(iso: str) -> str:
    """``2022-09-14T12:14:45Z`` -> ``2022-09-14 12:14`` (UTC, the case's clock)."""
    return iso.replace("T", " ")[:16]


def detect_incidents(store_url: str, names: dict[int, str]) -> list[dict[str, Any]]:
    """``censorscope detect`` on the store, the incidents as JSON into incidents.json, and one
    screen of them: who, since when, how, which endpoints."""
    subprocess.run([CLI, "detect", "--store", store_url], check=True)
    text = subprocess.run([CLI, "incidents", "--store", store_url, "--format", "json"],
                          capture_output=True, text=True, check=True).stdout
    (OUT / "incidents.json").write_text(text)
    incidents: list[dict[str, Any]] = json.loads(text)
    print(f"\nincidents ({len(incidents)}; censorscope detect, JSON in {OUT / 'incidents.json'}):")
    for inc in incidents:
        until = f"until {_when(inc['end'])}" if inc["end"] else "ongoing"
        print(f"\n  {inc['title']}\n  {inc['scope'].replace('_', ' ')}, since "
              f"{_when(inc['start'])}, {until}, confidence {inc['confidence']:.2f}")
        for n in sorted(inc["networks"], key=lambda n: n["onset"]):
            how = "; ".join(sorted({technique_label(t) for t in n["techniques"]}))
            print(f"    AS{n['asn']:<7} {n['as_name'][:20]:<20} since {_when(n['onset'])}  "
                  f"{how}, {len(n['endpoints'])} endpoint(s):")
            print(textwrap.fill(" ".join(n["endpoints"]), width=100, initial_indent=" " * 6,
                                subsequent_indent=" " * 6, break_on_hyphens=False))
        if inc["not_affected"]:
            print("    not affected: " + ", ".join(
                f"AS{a} {names.get(a, '')}".strip() for a in inc["not_affected"]))
    return incidents


def write_report(store_url: str, incidents: list[dict[str, Any]]) -> None:
    """``censorscope report`` of the case into out/demo/report/, and ``censorscope cost`` of
    its TikTok incident (a services restriction, priced from its measured scope)."""
    out = OUT / "report"
    print("\nwriting the report (censorscope report) …", flush=True)
    subprocess.run([CLI, "report", "--store", store_url, "--country", "AZ", "--target",
                    "tiktok", "--out", str(out), "--format", "html,md"], check=True,
                   stdout=subprocess.DEVNULL)
    charts = sorted(p.name for p in (out / "charts").glob("*.svg"))
    print(f"  {out / 'report.html'}\n  {out / 'report.md'}\n  charts: {', '.join(charts)}")
    for inc in incidents:
        if inc["target"] != "service:tiktok":
            continue
        cost = json.loads(subprocess.run(
            [CLI, "cost", "--incident", inc["id"], "--store", store_url, "--format", "json"],
            capture_output=True, text=True, check=True).stdout)
        print(f"  cost of the TikTok restriction so far (censorscope cost --incident "
              f"{inc['id']}): ${cost['low'] / 1e6:,.2f} M low, ${cost['central'] / 1e6:,.2f} M "
              f"central, ${cost['high'] / 1e6:,.2f} M high ({cost['currency']})")


def show_social() -> None:
    """The TikTok lines of the social preset: what each experiment found, and the analysis."""
    from censorscope.experiments.registry import get_experiment

    files = [OUT / f"social-{isp}.jsonl" for isp in SOCIAL_FROM]
    out = subprocess.run([CLI, "analyze", "--lab", "--asn-table", str(OUT / "asn.tsv"),
                          *map(str, files)], capture_output=True, text=True, check=True).stdout
    analysed = {(v["report_id"], v["input"]): v for v in map(json.loads, out.splitlines())}
    print(f"\nsocial preset, phase {PHASES[-1]} (TikTok lines; the lab serves no other "
          "social service):")
    print(f"{'network':<10} {'experiment':<16} {'input':<16} {'what the probe saw':<46} "
          "analysis")
    for path in files:
        for m in map(json.loads, path.read_text().splitlines()):
            if m["input"] not in ("tiktok", "www.tiktok.com"):
                continue
            hint = get_experiment(m["test_name"]).summary
            seen = hint(m)[0] if hint else "-"
            v = analysed[(m["report_id"], m["input"])]
            what = v["outcome"] if v["outcome"] != "blocked" else f"BLOCKED {v['mechanism']}"
            print(f"{m['probe_asn']:<10} {m['test_name']:<16} {m['input']:<16} "
                  f"{seen[:46]:<46} {what}")


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    store_url = f"duckdb:///{OUT / 'censorscope.duckdb'}"
    lab = Lab("demo")
    print(f"censorscope demo: bringing up the {SCENARIO} lab …", flush=True)
    state = lab.up(SCENARIO, PHASES[0])
    shutil.copy(state.asn_table, OUT / "asn.tsv")
    names: dict[int, str] = {i.asn: i.as_name for i in state.scenario_model().isps}
    collector = start_collector(lab, store_url)
    print(f"collector on the lab's collector host ({COLLECTOR_URL}), store {store_url}")
    phase_of: dict[str, str] = {}
    time_of: dict[tuple[str, str], str] = {}  # (report, input) -> start (the case's date)
    try:
        for phase in PHASES:
            lab.phase(phase)
            print(f"== phase {phase}: probing {len(state.isps)} networks …", flush=True)
            for out in measure_phase(lab, state, phase):
                for m in map(json.loads, out.read_text().splitlines()):
                    phase_of[m["report_id"]] = phase
                    time_of[(m["report_id"], m["input"])] = m["measurement_start_time"]
        print(f"== phase {PHASES[-1]}: the social preset from {', '.join(SOCIAL_FROM)} …",
              flush=True)
        for isp in SOCIAL_FROM:
            probe(lab, state, isp, OUT / f"social-{isp}.jsonl", "--preset", "social",
                  "--parallel", "4")
    finally:
        stop(collector)
        lab.down()

    print("\nanalysing the store (censorscope reprocess) …", flush=True)
    subprocess.run([CLI, "reprocess", "--store", store_url, "--lab", "--asn-table",
                    str(OUT / "asn.tsv")], check=True)
    verdicts = subprocess.run(
        [CLI, "analyze", "--lab", "--asn-table", str(OUT / "asn.tsv"),
         *sorted(str(p) for p in OUT.glob("*.jsonl")
                 if not p.name.startswith(("social-", "service-")))],
        capture_output=True, text=True, check=True,
    ).stdout
    rows = [json.loads(line) for line in verdicts.splitlines()]
    incidents = detect_incidents(store_url, names)
    show_social()
    print(f"\n{'phase':<22} {'network':<10} {'url':<30} {'time (the case)':<20} verdict")
    for v in sorted(rows, key=lambda v: (PHASES.index(phase_of[v["report_id"]]),
                                         v["probe_asn"], v["input"])):
        what = v["outcome"] if v["outcome"] != "blocked" else f"BLOCKED {v['mechanism']}"
        print(f"{phase_of[v['report_id']]:<22} AS{v['probe_asn']:<8} {v['input']:<30} "
              f"{time_of.get((v['report_id'], v['input']), ''):<20} {what}")
    first = next((v for v in rows if v["mechanism"] == "tls.timeout.sni"), None)
    if first:
        print("\nevidence, first SNI-blocked measurement (each statement with its source and "
              "the facts it states):")
        for item in first["evidence_data"]:
            cited = (f" [{item['context_count']} measurements, e.g. "
                     f"{', '.join(item['context_uids'][:2])}]"
                     if item["source"] == "context" else "")
            print(f"  [{item['source']}] {item['text']}{cited}")
            facts = ", ".join(f"{k}={v}" for k, v in item["facts"].items())
            print(f"      {item['claim']}: {facts}")
    print("\nchecking every stored statement against the stored measurements "
          "(censorscope verify) …", flush=True)
    subprocess.run([CLI, "verify", "--store", store_url], check=True)
    write_report(store_url, incidents)
    from censorscope.store import open_store

    with open_store(store_url) as store:
        stored, judged = store.count("measurements"), store.count("verdicts")
    blocked = sum(v["outcome"] == "blocked" for v in rows)
    print(f"\n{len(rows)} measurements, {blocked} blocked. The collector stored {stored} "
          f"measurements in {store_url}, with {judged} verdicts from reprocess; "
          f"{len(incidents)} incident(s) in {OUT / 'incidents.json'}; archive and "
          f"JSONL copies in {OUT}; lab torn down.")
    return 0


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("the demo builds a lab of network namespaces: run it as root")
    sys.exit(main())
