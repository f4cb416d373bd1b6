#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the demo: the az-2022-tiktok lab, probes in every network
# through the blocking phases, measurements and the detected incidents (incidents.json) in
# out/demo/. Needs root (network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python scripts/demo.py
