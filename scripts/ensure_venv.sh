# Sourced by run_tests.sh and run_experiments.sh: makes .venv when missing and
# installs the package into it; reuses it while setup.py is unchanged.
# After sourcing, $PY is the venv's python.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BERT_MTL_NER_VENV:-$ROOT/.venv}"
EXTRAS="${BERT_MTL_NER_EXTRAS:-test,beam}"

find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3 python; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$candidate"; return 0
    fi
  done
  echo "error: bert_mtl_ner needs Python 3.11 (TensorFlow 2.15 is pinned); set PYTHON=/path/to/python3.11" >&2
  return 1
}

STAMP="$( (cat "$ROOT/setup.py"; echo "$EXTRAS") | sha256sum | cut -d' ' -f1)"
if [ -n "${BERT_MTL_NER_VENV:-}" ] && [ -x "$VENV/bin/python" ]; then
  # A borrowed environment (a grid in a worktree uses its checkout's): never
  # install this folder into it, which would repoint the checkout's editable
  # install here. Python imports this folder's package anyway (it runs here).
  [ "$(cat "$VENV/.bert_mtl_ner_installed" 2>/dev/null)" = "$STAMP" ] ||
    echo "note: $VENV was set up from another setup.py; ./run_tests.sh in its own checkout updates it" >&2
elif [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.bert_mtl_ner_installed" 2>/dev/null)" != "$STAMP" ]; then
  BASE_PY="$(find_python)"
  echo "setting up $VENV (once; TensorFlow is large)..." >&2
  [ -x "$VENV/bin/python" ] || "$BASE_PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT[$EXTRAS]" >&2
  echo "$STAMP" > "$VENV/.bert_mtl_ner_installed"
fi
PY="$VENV/bin/python"
