#!/usr/bin/env bash
# The test command: sets up .venv when needed, then runs the whole test suite.
# Extra arguments go to pytest (for example: ./run_tests.sh -k tokenization).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/scripts/ensure_venv.sh"
cd "$ROOT"
if [ -z "${BERT_MTL_NER_DATA:-}" ] && [ -d "$ROOT/../shared/data" ]; then
  export BERT_MTL_NER_DATA="$ROOT/../shared/data"
fi
exec "$PY" -m pytest tests "$@"
