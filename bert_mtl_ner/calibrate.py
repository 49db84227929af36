r"""Fits the temperature of a model's entity scores and shows their reliability.

  python -m bert_mtl_ner.calibrate --model_dir=M --dataset=msra \
      --fit_split=dev --split=test --output_dir=docs/calibration/msra

Entity scores (``inference.Tagger``) are decoded once per split at temperature
1; the temperature that minimises their log-loss on ``--fit_split`` is found
by ``calibration.fit_temperature`` and written to ``M/calibration.json``,
which ``evaluate``, ``predict``, ``select``, ``export`` and ``serve`` then use.
On ``--split`` the reliability table and ECE are reported before and after.
When ``--split`` is ``--fit_split`` (CLUENER2020, whose test has no labels),
the "after" figures are cross-fitted: the sentences are split in two halves by
position parity, each half scored at the temperature fitted on the other, so
no sentence is scored by a temperature fitted on itself.

Writes ``REPORT.md``, ``summary.json`` and ``reliability.png`` to
``--output_dir``.
"""

import json
import os
from typing import Dict, List, Sequence

from absl import flags
import numpy as np

from bert_mtl_ner import calibration
from bert_mtl_ner import cli
from bert_mtl_ner import inference
from bert_mtl_ner import progress as progress_lib
from bert_mtl_ner import run_dir
from bert_mtl_ner.data import registry
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.io_utils import atomic_write_text

flags.DEFINE_string("model_dir", None, "A model directory written by train.")
flags.DEFINE_string("dataset", None, "Registered dataset.")
flags.DEFINE_string("data_dir", None, "Data folder.")
flags.DEFINE_string("fit_split", "dev", "Split the temperature is fitted on.")
flags.DEFINE_string("split", "test", "Split the reliability is reported on.")
flags.DEFINE_string("output_dir", None, "Where REPORT.md, summary.json and "
                    "reliability.png go.")
flags.DEFINE_string("name", None, "What the report calls the model (default: "
                    "--model_dir).")
flags.DEFINE_bool("write_temperature", True, "Store the fitted temperature "
                  "in --model_dir.")
flags.DEFINE_integer("batch_size", 64, "Windows per model call.")
progress_lib.define_flag(flags)
flags.mark_flags_as_required(["model_dir", "dataset", "output_dir"])
FLAGS = flags.FLAGS


class ScoredSplit:
  """A split decoded once; its entity scores at any temperature.

  Args:
    tagger: the model (its own temperature is not used).
    sentences: labelled sentences.
    chunk: sentences per decoding pass.
    progress: show a bar.
  """

  def __init__(self, tagger: inference.Tagger, sentences, chunk: int = 512,
               progress: bool = False):
    self.tagger = tagger
    self.decoded: List[inference.Decoded] = []
    with progress_lib.bar(len(sentences), "decoding", enabled=progress) as bar:
      for begin in range(0, len(sentences), chunk):
        part = sentences[begin:begin + chunk]
        self.decoded.append(tagger.decode([s.chars for s in part]))
        bar.update(len(part))
    spans = [row for d in self.decoded for row in d.spans]
    correct = calibration.correctness([s.tags for s in sentences], spans)
    self.correct = calibration.flatten(correct)
    # Which sentence each entity belongs to, for the cross-fit halves.
    self.sentence_of = np.array([i for i, row in enumerate(correct)
                                 for _ in row], np.int64)

  def scores(self, temperature: float) -> np.ndarray:
    return calibration.flatten([row for d in self.decoded for row in
                                self.tagger.entity_scores(d, temperature)])


def cross_fitted(split: ScoredSplit) -> Dict:
  """Scores of each parity half at the temperature fitted on the other."""
  scores = np.zeros_like(split.correct)
  temperatures = []
  for half in (0, 1):
    fit = split.sentence_of % 2 != half
    temperature, _ = calibration.fit_temperature(
        lambda t: split.scores(t)[fit], split.correct[fit])
    temperatures.append(temperature)
    scores[~fit] = split.scores(temperature)[~fit]
  return {"scores": scores, "temperatures": temperatures}


def plot(before: Dict, after: Dict, title: str, path: str) -> None:
  """A reliability diagram of both tables (written atomically)."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  figure, axes = plt.subplots(figsize=(5.2, 5.0), dpi=110)
  axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
  for summary, label in ((before, "temperature 1"), (after, after["label"])):
    rows = [r for r in summary["reliability"] if r["count"]]
    axes.plot([r["confidence"] for r in rows], [r["precision"] for r in rows],
              marker="o", label=f"{label}: ECE {summary['ece']:.3f}")
  axes.set_xlim(0, 1)
  axes.set_ylim(0, 1)
  axes.set_xlabel("entity score (bin mean)")
  axes.set_ylabel("precision of the bin's entities")
  axes.set_title(title, fontsize=10)
  axes.grid(alpha=0.3)
  axes.legend(loc="upper left", fontsize=8)
  figure.tight_layout()
  tmp = path + ".tmp.png"
  figure.savefig(tmp)
  plt.close(figure)
  os.replace(tmp, path)


def render(summary: Dict, command: str) -> str:
  """REPORT.md of one calibration."""
  before, after = summary["before"], summary["after"]
  lines = [f"# Calibration of entity scores: {summary['model']} on "
           f"{summary['dataset']} {summary['split']}", "",
           f"Generated by `{command}`; do not edit.", "",
           f"Temperature fitted on {summary['dataset']} "
           f"{summary['fit_split']} ({summary['fit_entities']} predicted "
           f"entities): **{summary['temperature']:.3f}** (log-loss "
           f"{summary['fit_log_loss_before']:.4f} → "
           f"{summary['fit_log_loss_after']:.4f}).", ""]
  if summary["cross_fitted"]:
    lines += [f"The split is also the fitting split, so the figures after "
              f"scaling are cross-fitted (each half of the sentences at the "
              f"temperature of the other half: "
              f"{', '.join(f'{t:.3f}' for t in summary['cross_fit_temperatures'])}).",
              ""]
  lines += [f"| | entities | mean score | precision | ECE | log-loss |",
            "|---|---:|---:|---:|---:|---:|"]
  for name, s in (("temperature 1", before), (after["label"], after)):
    lines.append(f"| {name} | {s['entities']} | {s['mean_score']:.4f} | "
                 f"{s['precision']:.4f} | {s['ece']:.4f} | "
                 f"{s['log_loss']:.4f} |")
  lines += ["", "Reliability (bins of entity score):", "",
            "| bin | entities | score (T=1) | precision (T=1) | entities "
            "(after) | score (after) | precision (after) |",
            "|---|---:|---:|---:|---:|---:|---:|"]
  fmt = lambda v: "–" if v is None else f"{v:.3f}"
  for b, a in zip(before["reliability"], after["reliability"]):
    lines.append(f"| ({b['low']:.1f}, {b['high']:.1f}] | {b['count']} | "
                 f"{fmt(b['confidence'])} | {fmt(b['precision'])} | "
                 f"{a['count']} | {fmt(a['confidence'])} | "
                 f"{fmt(a['precision'])} |")
  lines += ["", "![reliability diagram](reliability.png)", ""]
  return "\n".join(lines)


def main(argv) -> None:
  del argv
  model, tokenizer, labels, config = run_dir.load(FLAGS.model_dir)
  tagger = inference.Tagger(model, tokenizer, labels, config.max_seq_len,
                            batch_size=FLAGS.batch_size)
  read = lambda split: [s for s in registry.read_split(
      FLAGS.dataset, split, FLAGS.data_dir)]
  fit_sentences = read(FLAGS.fit_split)
  if any(s.tags is None for s in fit_sentences):
    raise UsageError(f"{FLAGS.dataset}:{FLAGS.fit_split} has no labels")
  fit = ScoredSplit(tagger, fit_sentences, progress=FLAGS.progress)
  temperature, loss_after = calibration.fit_temperature(fit.scores,
                                                        fit.correct)
  same = FLAGS.split == FLAGS.fit_split
  target = fit if same else ScoredSplit(tagger, read(FLAGS.split),
                                        progress=FLAGS.progress)
  before = calibration.summary(target.scores(1.0), target.correct)
  crossed = cross_fitted(target) if same else None
  after = calibration.summary(
      crossed["scores"] if same else target.scores(temperature),
      target.correct)
  after["label"] = "cross-fitted temperature" if same else \
      f"temperature {temperature:.3f}"
  summary = {
      "model": FLAGS.name or FLAGS.model_dir, "dataset": FLAGS.dataset,
      "fit_split": FLAGS.fit_split, "split": FLAGS.split,
      "temperature": temperature, "fit_entities": int(len(fit.correct)),
      "fit_log_loss_before": calibration.log_loss(fit.scores(1.0),
                                                  fit.correct),
      "fit_log_loss_after": loss_after, "cross_fitted": same,
      "cross_fit_temperatures": crossed["temperatures"] if same else None,
      "before": before, "after": after}
  if FLAGS.write_temperature:
    calibration.write_record(FLAGS.model_dir, {
        "temperature": temperature, "fitted_on": f"{FLAGS.dataset}:"
        f"{FLAGS.fit_split}", "log_loss_before": summary[
            "fit_log_loss_before"], "log_loss_after": loss_after})
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  command = (f"python -m bert_mtl_ner.calibrate --model_dir={FLAGS.model_dir} "
             f"--dataset={FLAGS.dataset} --fit_split={FLAGS.fit_split} "
             f"--split={FLAGS.split} --output_dir={FLAGS.output_dir}")
  atomic_write_text(os.path.join(FLAGS.output_dir, "summary.json"),
                    json.dumps(summary, indent=1) + "\n")
  atomic_write_text(os.path.join(FLAGS.output_dir, "REPORT.md"),
                    render(summary, command))
  plot(before, after, f"{summary['model']}: {FLAGS.dataset} {FLAGS.split}",
       os.path.join(FLAGS.output_dir, "reliability.png"))
  print(render(summary, command))


if __name__ == "__main__":
  cli.run(main)
