#!/usr/bin/env bash
# The main job: sets up .venv when needed, checks the corpora, then runs the
# experiment grid and writes results/ (REPORT.md, summary.json, one folder per run).
#
#   ./run_experiments.sh                      # --preset=cpu: a 2-core CPU, small models
#   ./run_experiments.sh --preset=smoke       # minutes; checks every table fills
#   ./run_experiments.sh --preset=full --plan # the full corpora: runs, state, estimated hours
#   ./run_experiments.sh --preset=full --budget_minutes=100   # what fits in 100 minutes
#   ./run_experiments.sh --preset=paper --bert_model=/path/to/bert-base-chinese   # a GPU
#
# Any flag of `python -m bert_mtl_ner.train` passes through to every run
# (for example --epochs=3); --data_dir=DIR and --results_dir=DIR are honoured too.
# Running it again resumes: finished runs are kept.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/scripts/ensure_venv.sh"
cd "$ROOT"
# The report's wall time counts from here (set-up of .venv excluded).
export BERT_MTL_NER_GRID_START="${BERT_MTL_NER_GRID_START:-$(date +%s)}"
RESULTS=results
ARGS=()
HAVE_DATA_DIR=0
for arg in "$@"; do
  case "$arg" in
    --results_dir=*) RESULTS="${arg#--results_dir=}" ;;
    --data_dir=*) HAVE_DATA_DIR=1; ARGS+=("$arg") ;;
    *) ARGS+=("$arg") ;;
  esac
done
if [ "$HAVE_DATA_DIR" = 0 ] && [ -z "${BERT_MTL_NER_DATA:-}" ] && [ -d "$ROOT/../shared/data" ]; then
  ARGS+=("--data_dir=$ROOT/../shared/data")
fi

DATA_ARGS=()
for arg in "${ARGS[@]}"; do
  case "$arg" in --data_dir=*) DATA_ARGS+=("$arg") ;; esac
done
mkdir -p "$RESULTS"

source "$ROOT/scripts/write_atomically.sh"

for arg in "${ARGS[@]}"; do  # the plan reads no corpus and trains nothing
  [ "$arg" = "--plan" ] && exec "$PY" -m bert_mtl_ner.experiments --results_dir="$RESULTS" "${ARGS[@]}"
done
write_atomically "$RESULTS/data_stats.json" "$PY" -m bert_mtl_ner.data --action=stats --format=json "${DATA_ARGS[@]}"
write_atomically "$RESULTS/overlap.json" "$PY" -m bert_mtl_ner.data --action=overlap --format=json "${DATA_ARGS[@]}"
exec "$PY" -m bert_mtl_ner.experiments --results_dir="$RESULTS" "${ARGS[@]}"
