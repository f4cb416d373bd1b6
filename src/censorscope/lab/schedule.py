"""The schedule supervisor: switches a running lab's phases at the times its scenario gives.

Started by ``lab up`` inside the lab's ``core`` namespace (so ``lab down`` finds it even without
state) as ``python -m censorscope.lab.schedule --prefix P``. Prints ``READY``, then for each
``schedule`` step (``after_s`` seconds after start) calls :meth:`Lab.phase`. It stays alive after
the last step (it is a tracked lab process) until SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="censorscope.lab.schedule")
    parser.add_argument("--prefix", required=True)
    args = parser.parse_args(argv)
    from censorscope.lab.runtime import Lab

    lab = Lab(args.prefix)
    st = lab.status()
    if st is None:
        print(f"schedule: lab {args.prefix!r} has no state", file=sys.stderr)
        return 1
    steps = sorted(st.scenario_model().schedule, key=lambda s: s.after_s)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    start = time.monotonic()
    print("READY", flush=True)
    for step in steps:
        time.sleep(max(0.0, start + step.after_s - time.monotonic()))
        try:
            lab.phase(step.phase)
            print(f"schedule: t+{step.after_s:g}s phase {step.phase}", file=sys.stderr, flush=True)
        except Exception as exc:  # keep going: one bad step must not stop the schedule
            print(f"schedule: phase {step.phase} failed: {exc}", file=sys.stderr, flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
