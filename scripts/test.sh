#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the whole test suite: lint, types, then pytest in parallel.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# A real two-shard ClickHouse cluster for the store tests (root; idempotent).
bash scripts/clickhouse.sh start /var/tmp/censorscope-clickhouse --shards 2 --port 9000
.venv/bin/ruff check src tests bench
.venv/bin/mypy
# The layers (the contracts in pyproject.toml: [tool.importlinter]).
.venv/bin/lint-imports --no-cache
# --dist loadgroup: the tests of one lab replay (tests/e2e/conftest.py) share a worker.
exec .venv/bin/pytest -n auto --dist loadgroup -p no:cacheprovider "$@"
