r"""Records a finished training (or pretraining) run, then rewrites the tables
of measured runs in docs/runs.md and docs/pretraining.md from every record
(nothing typed by hand).

  python scripts/record_run.py --name=msra_bilstm_crf --model_dir=runs/m \
      --scores=scores.json --command="python -m bert_mtl_ner.train ..." \
      --wall_seconds=2400
  python scripts/record_run.py --name=pretrain_cpu --pretraining_dir=runs/bert_cpu \
      --command="python -m bert_mtl_ner.pretrain ..."

Training records live in docs/runs/NAME.json, their table between the
docs/runs.md markers ``<!-- runs:begin -->`` and ``<!-- runs:end -->``; pretraining records
(from the output's pretraining.json and run.json, wall time included) in
docs/runs/pretraining/NAME.json, their table between the docs/pretraining.md
markers ``<!-- pretraining:begin -->`` and ``<!-- pretraining:end -->``.
"""

import glob
import json
import os
import platform
import sys

from absl import app
from absl import flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from bert_mtl_ner.io_utils import atomic_write_text  # pylint: disable=g-import-not-at-top,wrong-import-position

flags.DEFINE_string("name", None, "Record name.")
flags.DEFINE_string("model_dir", None, "The run's model directory.")
flags.DEFINE_string("scores", None, "JSON written by evaluate --format=json.")
flags.DEFINE_string("command", None, "The training command.")
flags.DEFINE_float("wall_seconds", None, "Wall time of the training command.")
flags.DEFINE_string("split", None, "What was scored, e.g. msra:test.")
flags.DEFINE_string("pretraining_dir", None,
                    "Record this bert_mtl_ner.pretrain output instead.")
flags.DEFINE_bool("render_only", False, "Only rewrite the tables of docs/runs.md "
                  "and docs/pretraining.md.")
FLAGS = flags.FLAGS
RUNS_PAGE = os.path.join("docs", "runs.md")
PRETRAINING_PAGE = os.path.join("docs", "pretraining.md")

BEGIN, END = "<!-- runs:begin -->", "<!-- runs:end -->"
PRETRAINING_BEGIN = "<!-- pretraining:begin -->"
PRETRAINING_END = "<!-- pretraining:end -->"


def _machine():
  return f"{platform.machine()}, {os.cpu_count()} cores"


def _read(path):
  with open(path, encoding="utf-8") as stream:
    return json.load(stream)


def _record():
  scores = _read(FLAGS.scores)
  with open(os.path.join(FLAGS.model_dir, "metrics.jsonl")) as stream:
    epochs = [json.loads(line) for line in stream]
  with open(os.path.join(FLAGS.model_dir, "best.json")) as stream:
    best = json.load(stream)
  return {
      "name": FLAGS.name, "command": FLAGS.command, "split": FLAGS.split,
      "wall_seconds": FLAGS.wall_seconds, "epochs_run": len(epochs),
      "best_epoch": best["epoch"], "best_dev_f1": best["dev_f1"],
      "machine": _machine(),
      "scores": {k: scores[k] for k in ("precision", "recall", "f1",
                                        "macro_f1", "sentences")},
      "per_type_f1": {k: v["f1"] for k, v in scores["per_type"].items()},
  }


def _table(columns, rows, notes):
  """A Markdown table, a blank line, then ``notes`` (one line each)."""
  return "\n".join(["| " + " | ".join(columns) + " |",
                    "|" + "---|" * len(columns),
                    *("| " + " | ".join(row) + " |" for row in rows),
                    "", *notes])


def render(records):
  return _table(
      ["run", "scored on", "P", "R", "F1", "macro F1", "best dev F1 (epoch)",
       "epochs", "wall time", "machine"],
      [[r["name"], r["split"], *(f"{r['scores'][k]:.2f}" for k in (
          "precision", "recall", "f1", "macro_f1")),
        f"{r['best_dev_f1']:.2f} ({r['best_epoch']})", str(r["epochs_run"]),
        f"{r['wall_seconds'] / 60:.0f} min", r["machine"]] for r in records],
      [f"- {r['name']}: `{r['command']}`; per-type F1 " + ", ".join(
          f"{k} {v:.2f}" for k, v in sorted(r["per_type_f1"].items()))
       for r in records])


def _pretraining_record():
  summary = _read(os.path.join(FLAGS.pretraining_dir, "pretraining.json"))
  run = _read(os.path.join(FLAGS.pretraining_dir, "run.json"))
  return {
      "name": FLAGS.name, "command": FLAGS.command,
      "bert_config": run["bert_config"],
      **{k: run["flags"][k] for k in ("masking", "dropout", "batch_size",
                                      "max_seq_len", "learning_rate")},
      **{k: summary[k] for k in ("steps", "sentences", "characters",
                                 "removed_as_dev_or_test", "final_loss",
                                 "final_masked_accuracy", "wall_seconds")},
      "machine": _machine(),
  }


def render_pretraining(records):
  return _table(
      ["run", "encoder", "masking", "dropout", "steps × rows × tokens",
       "sentences (dev/test removed)", "MLM loss", "masked-token accuracy",
       "wall time", "machine"],
      [[r["name"], f"{r['bert_config']['num_hidden_layers']} layers, hidden "
        f"{r['bert_config']['hidden_size']}", r["masking"],
        f"{r['dropout']:g}",
        f"{r['steps']} × {r['batch_size']} × {r['max_seq_len']}",
        f"{r['sentences']} ({r['removed_as_dev_or_test']})",
        f"{r['final_loss']:.3f}", f"{100 * r['final_masked_accuracy']:.1f}%",
        f"{r['wall_seconds'] / 60:.1f} min", r["machine"]] for r in records],
      [f"- {r['name']}: `{r['command']}`" for r in records])


def records_in(folder):
  """The records of ``folder``'s JSON files, sorted by file name."""
  return [_read(path)
          for path in sorted(glob.glob(os.path.join(folder, "*.json")))]


def replace_block(text, begin, end, body):
  """``text`` with what lies between the markers ``begin`` and ``end``
  replaced by ``body``."""
  head, rest = text.split(begin)
  _, tail = rest.split(end)
  return head + begin + "\n" + body + "\n" + end + tail


def main(argv):
  del argv
  folder = os.path.join(ROOT, "docs", "runs")
  pretraining_folder = os.path.join(folder, "pretraining")
  if not FLAGS.render_only:
    if FLAGS.pretraining_dir:
      target, record = pretraining_folder, _pretraining_record()
    else:
      target, record = folder, _record()
    os.makedirs(target, exist_ok=True)
    atomic_write_text(os.path.join(target, f"{FLAGS.name}.json"),
                      json.dumps(record, ensure_ascii=False, indent=1) + "\n")
  for page, begin, end, table in (
      (RUNS_PAGE, BEGIN, END, render(records_in(folder))),
      (PRETRAINING_PAGE, PRETRAINING_BEGIN, PRETRAINING_END,
       render_pretraining(records_in(pretraining_folder)))):
    path = os.path.join(ROOT, page)
    with open(path, encoding="utf-8") as stream:
      text = stream.read()
    atomic_write_text(path, replace_block(text, begin, end, table))


if __name__ == "__main__":
  app.run(main)
