"""The demo: the TikTok blocking of Azerbaijan, September 2022, re-enacted in the lab.

Brings up the ``az-2022-tiktok`` lab (five AZ networks, real censors), then walks through its
phases (before → Delta blocks → Connect follows → Azercell follows). In each phase the probe of
every network measures www.tiktok.com, a TikTok endpoint and a harmless site on the same CDN IP,
through the lab's real resolvers, routers and control. Measurements (OONI JSONL) go to
``out/demo/``; the table shows per phase and network what the probe saw. The lab is always
torn down at the end.

Run as root: ``sudo bash scripts/demo.sh`` (sets everything up first).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from censorscope.lab.runtime import Lab

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out" / "demo"
SCENARIO = "az-2022-tiktok"
PHASES = ["before", "blocked-delta", "blocked-delta-kinetic", "blocked-all"]
URLS = ["https://www.tiktok.com/", "https://webcast.tiktok.com/", "https://www.example.org/"]
TIMEOUTS = ["--dns-timeout", "2", "--tcp-timeout", "2", "--tls-timeout", "2",
            "--http-timeout", "4", "--control-timeout", "12"]


def verdict(m: dict) -> str:
    tk = m["test_keys"]
    if tk.get("accessible") is True:
        return "ok"
    if isinstance(tk.get("blocking"), str):
        failure = tk.get("http_experiment_failure") or tk.get("dns_experiment_failure") or ""
        return f"BLOCKED ({tk['blocking']}: {failure})"
    return "down" if tk.get("blocking") is False else "unknown"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    lab = Lab("demo")
    print(f"censorscope demo: bringing up the {SCENARIO} lab …", flush=True)
    state = lab.up(SCENARIO, PHASES[0])
    cli = str(Path(sys.executable).with_name("censorscope"))
    rows: list[tuple[str, str, str, str]] = []
    try:
        for phase in PHASES:
            lab.phase(phase)
            print(f"\n== phase {phase} ==", flush=True)
            for isp in state.isps:
                out = OUT / f"{phase}-{isp}.jsonl"
                out.unlink(missing_ok=True)
                argv = [cli, "probe", "run", "--config",
                        str(state.state_dir / f"probe-{isp}.json"), "-o", str(out),
                        "--no-progress", "--no-summary", "--parallel", "3", *TIMEOUTS]
                for url in URLS:
                    argv += ["--input", url]
                proc = lab.exec(state.probe_hosts(isp)[0], argv, capture_output=True, text=True,
                                check=False)
                if proc.returncode != 0:
                    print(proc.stderr, file=sys.stderr)
                    return 1
                for line in out.read_text().splitlines():
                    m = json.loads(line)
                    row = (phase, f"{isp} ({m['probe_asn']})", m["input"], verdict(m))
                    rows.append(row)
                    print(f"  {row[1]:<22} {row[2]:<32} {row[3]}", flush=True)
    finally:
        lab.down()
    print(f"\nmeasurements (OONI JSONL): {OUT}")
    blocked = sum(r[3].startswith("BLOCKED") for r in rows)
    print(f"{len(rows)} measurements, {blocked} show blocking; lab torn down.")
    return 0


if __name__ == "__main__":
    if subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip() != "0":
        sys.exit("the demo builds a lab of network namespaces: run it as root")
    sys.exit(main())
