"""Benchmark: how long `lab up` and `lab down` take per scenario (target: up < 10 s).

Usage (root): .venv/bin/python bench/lab_up.py [SCENARIO ...]   (default: smoke az-2022-tiktok)
Prints one JSON object per scenario: {"scenario", "up_seconds", "down_seconds", "namespaces"}.
"""

from __future__ import annotations

import json
import secrets
import sys
import time

from censorscope.lab.runtime import Lab


def bench(name: str) -> dict[str, object]:
    lab = Lab("b" + secrets.token_hex(2))
    try:
        t0 = time.monotonic()
        st = lab.up(name)
        up = time.monotonic() - t0
        n = len(set(st.namespaces.values()))
    finally:
        t1 = time.monotonic()
        lab.down()
        down = time.monotonic() - t1
    return {"scenario": name, "up_seconds": round(up, 3), "down_seconds": round(down, 3),
            "namespaces": n}


def main() -> None:
    for name in sys.argv[1:] or ["smoke", "az-2022-tiktok"]:
        print(json.dumps(bench(name)), flush=True)


if __name__ == "__main__":
    main()
