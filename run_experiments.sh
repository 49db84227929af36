#!/usr/bin/env bash
# The main job: sets up .venv when needed, then regenerates the results under results/.
# At this stage it checks the corpora (statistics of the paper's Table 2 and the
# cross-corpus overlap); the model runs join it as they land.
#
#   ./run_experiments.sh [--data_dir=DIR] [--results_dir=DIR]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/scripts/ensure_venv.sh"
cd "$ROOT"
DATA_ARGS=()
RESULTS=results
for arg in "$@"; do
  case "$arg" in
    --data_dir=*) DATA_ARGS+=("$arg") ;;
    --results_dir=*) RESULTS="${arg#--results_dir=}" ;;
    *) echo "error: unknown option $arg (known: --data_dir=DIR, --results_dir=DIR)" >&2; exit 2 ;;
  esac
done
if [ ${#DATA_ARGS[@]} -eq 0 ] && [ -z "${BERT_MTL_NER_DATA:-}" ] && [ -d "$ROOT/../shared/data" ]; then
  DATA_ARGS+=("--data_dir=$ROOT/../shared/data")
fi
mkdir -p "$RESULTS"

# write_atomically FILE CMD...: FILE appears only if CMD succeeds.
write_atomically() {
  local out="$1"; shift
  "$@" > "$out.tmp" && mv "$out.tmp" "$out"
}

write_atomically "$RESULTS/data_stats.json" "$PY" -m bert_mtl_ner.data --action=stats --format=json "${DATA_ARGS[@]}"
write_atomically "$RESULTS/data_stats.txt" "$PY" -m bert_mtl_ner.data --action=stats "${DATA_ARGS[@]}"
write_atomically "$RESULTS/overlap.json" "$PY" -m bert_mtl_ner.data --action=overlap --format=json "${DATA_ARGS[@]}"
write_atomically "$RESULTS/overlap.txt" "$PY" -m bert_mtl_ner.data --action=overlap "${DATA_ARGS[@]}"
cat "$RESULTS/data_stats.txt" "$RESULTS/overlap.txt"
echo "wrote $RESULTS/{data_stats,overlap}.{json,txt}"
