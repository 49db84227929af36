#!/usr/bin/env bash
# The test command: sets up .venv when needed, then runs the whole test suite.
# Extra arguments go to pytest (for example: ./run_tests.sh -k tokenization).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/scripts/ensure_venv.sh"
cd "$ROOT"
if [ -z "${BERT_MTL_NER_DATA:-}" ] && [ -d "$ROOT/../shared/data" ]; then
  export BERT_MTL_NER_DATA="$ROOT/../shared/data"
fi
# One pytest-xdist worker per core, at most 4 (BERT_MTL_NER_TEST_WORKERS=N sets
# N; 0 runs everything in this process). Tests that share a trained model
# (a module fixture) carry an xdist_group mark and stay in one worker.
exec "$PY" -m pytest -n "${BERT_MTL_NER_TEST_WORKERS:-auto}" --maxprocesses=4 \
  --dist=loadgroup tests "$@"
