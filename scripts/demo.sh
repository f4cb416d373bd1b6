#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the demo (censorscope demo): as root, the three seed cases
# re-enacted in the lab, collected, analysed, detected, reported on, priced and served by the
# explorer; without root or network namespaces, the same on the shipped recordings and OONI
# samples. Everything lands in out/demo/. Options pass through (--serve, --port, FILES…).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/censorscope demo "$@"
