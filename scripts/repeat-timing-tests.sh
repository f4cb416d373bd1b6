#!/usr/bin/env bash
# Re-check the lab's timing-sensitive tests (docs/lab.md, "Timing margins"): run them RUNS times
# in a row (default 20) with `pytest -n 2`, while one busy loop per core keeps the machine loaded.
# Stops at the first failing run. Needs root (the lab) and the virtualenv (scripts/setup.sh).
#
#   sudo bash scripts/repeat-timing-tests.sh [RUNS]     # NO_LOAD=1: without the busy loops
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}

TESTS=(
  'tests/e2e/test_analysis_lab.py::test_qa_case_verdict[throttlingWithHTTP]'
  'tests/e2e/test_analysis_lab.py::test_qa_case_verdict[throttlingWithHTTPS]'
  'tests/e2e/test_web_connectivity_qa.py::test_probe_matches_ooni_qa[throttlingWithHTTP]'
  'tests/e2e/test_web_connectivity_qa.py::test_probe_matches_ooni_qa[throttlingWithHTTPS]'
  'tests/e2e/test_tiktok_az.py::test_tiktok_sni_blocking_recorded_event_by_event'
  'tests/lab/censor/test_censor_throttle.py'
  'tests/lab/censor/test_censor_apply.py::test_phase_switch_is_fast_and_replaces_policies'
  'tests/lab/test_catalogue.py::test_proof_az_2020_war'
  'tests/e2e/test_throttling_lab.py'
)

load_pids=()
stop_load() {
  for pid in "${load_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap stop_load EXIT
if [ "${NO_LOAD:-0}" != 1 ]; then
  for _ in $(seq "$(nproc)"); do
    python3 -c 'while True: pass' &
    load_pids+=("$!")
  done
  echo "load: ${#load_pids[@]} busy loops (pids ${load_pids[*]})"
fi

passed=0
for i in $(seq "$runs"); do
  start=$(date +%s)
  if .venv/bin/pytest -n 2 -p no:cacheprovider -q "${TESTS[@]}"; then
    passed=$((passed + 1))
    echo "run $i/$runs passed ($(( $(date +%s) - start )) s)"
  else
    echo "run $i/$runs FAILED; $passed/$runs runs passed"
    exit 1
  fi
done
echo "$passed/$runs runs passed"
