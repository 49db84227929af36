r"""Records a finished training run and its scores for the README, then rewrites
the README's "Measured runs" table from every record (nothing typed by hand).

  python scripts/record_run.py --name=msra_bilstm_crf --model_dir=runs/m \
      --scores=scores.json --command="python -m bert_mtl_ner.train ..." \
      --wall_seconds=2400

Records live in docs/runs/NAME.json; the table sits between the README markers
``<!-- runs:begin -->`` and ``<!-- runs:end -->``.
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
flags.DEFINE_bool("render_only", False, "Only rewrite the README table.")
FLAGS = flags.FLAGS

BEGIN, END = "<!-- runs:begin -->", "<!-- runs:end -->"


def _record():
  with open(FLAGS.scores, encoding="utf-8") as stream:
    scores = json.load(stream)
  with open(os.path.join(FLAGS.model_dir, "metrics.jsonl")) as stream:
    epochs = [json.loads(line) for line in stream]
  with open(os.path.join(FLAGS.model_dir, "best.json")) as stream:
    best = json.load(stream)
  return {
      "name": FLAGS.name, "command": FLAGS.command, "split": FLAGS.split,
      "wall_seconds": FLAGS.wall_seconds, "epochs_run": len(epochs),
      "best_epoch": best["epoch"], "best_dev_f1": best["dev_f1"],
      "machine": f"{platform.machine()}, {os.cpu_count()} cores",
      "scores": {k: scores[k] for k in ("precision", "recall", "f1",
                                        "macro_f1", "sentences")},
      "per_type_f1": {k: v["f1"] for k, v in scores["per_type"].items()},
  }


def render(records):
  lines = ["| run | scored on | P | R | F1 | macro F1 | best dev F1 (epoch) | "
           "epochs | wall time | machine |", "|" + "---|" * 10]
  for r in records:
    s = r["scores"]
    lines.append(
        f"| {r['name']} | {r['split']} | {s['precision']:.2f} | "
        f"{s['recall']:.2f} | {s['f1']:.2f} | {s['macro_f1']:.2f} | "
        f"{r['best_dev_f1']:.2f} ({r['best_epoch']}) | {r['epochs_run']} | "
        f"{r['wall_seconds'] / 60:.0f} min | {r['machine']} |")
  lines.append("")
  for r in records:
    lines.append(f"- {r['name']}: `{r['command']}`; per-type F1 " + ", ".join(
        f"{k} {v:.2f}" for k, v in sorted(r["per_type_f1"].items())))
  return "\n".join(lines)


def main(argv):
  del argv
  folder = os.path.join(ROOT, "docs", "runs")
  if not FLAGS.render_only:
    record = _record()
    atomic_write_text(os.path.join(folder, f"{FLAGS.name}.json"),
                      json.dumps(record, ensure_ascii=False, indent=1) + "\n")
  records = []
  for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
    with open(path, encoding="utf-8") as stream:
      records.append(json.load(stream))
  readme = os.path.join(ROOT, "README.md")
  with open(readme, encoding="utf-8") as stream:
    text = stream.read()
  head, rest = text.split(BEGIN)
  _, tail = rest.split(END)
  atomic_write_text(readme, head + BEGIN + "\n" + render(records) + "\n" +
                    END + tail)


if __name__ == "__main__":
  app.run(main)
