"""Change-point detection quality on synthetic series: censorscope's detector against OONI's CUSUM.

Draws ``--seeds`` series of every regime of ``tests/pipeline/detect/synth.py`` (known change
points; lab, dense, sparse, partial, noisy, isolated failures) and runs both detectors on the
same series: precision, recall, false changes per 1,000 measurements, location error (in
measurements, between the reported change and the true one) and detection delay (from the true
change to the measurement whose evidence decided it, in measurements and hours). Prints a
Markdown table (docs/detection.md quotes it), or JSON lines with ``--json``:

    .venv/bin/python bench/detect_quality.py [--seeds 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.pipeline.detect.synth import REGIMES, run_all

COLUMNS = ("precision", "recall", "false_per_1000", "location_median", "location_p90",
           "delay_median", "delay_p90", "delay_hours_median")
HEADERS = ("precision", "recall", "false /1000", "location med", "location p90",
           "delay med", "delay p90", "delay h med")


def _cell(value: object) -> str:
    return "–" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=200, help="series per regime (default 200)")
    ap.add_argument("--json", action="store_true", help="one JSON object per row")
    args = ap.parse_args(argv)
    scores = run_all(args.seeds)
    notes = {r.name: r.note for r in REGIMES}
    if args.json:
        for regime, by_detector in scores.items():
            for name, score in by_detector.items():
                print(json.dumps({"regime": regime, "detector": name, **score.row()}))
        return 0
    print(f"{args.seeds} series per regime; location and delay in measurements "
          "(delay h: hours)\n")
    print("| regime | detector | true | detected | " + " | ".join(HEADERS) + " |")
    print("|---|---|---:|---:|" + "---:|" * len(HEADERS))
    for regime, by_detector in scores.items():
        for name, score in by_detector.items():
            row = score.row()
            cells = [_cell(row[c]) for c in COLUMNS]
            print(f"| {regime} | {name} | {row['true']} | {row['detected']} | "
                  + " | ".join(cells) + " |")
    print()
    for regime, note in notes.items():
        print(f"- {regime}: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
