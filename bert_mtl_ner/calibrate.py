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

from absl import flags

from bert_mtl_ner import calibration
from bert_mtl_ner import cli
from bert_mtl_ner import inference
from bert_mtl_ner import progress as progress_lib
from bert_mtl_ner import run_dir
from bert_mtl_ner import shipped
from bert_mtl_ner.data import registry
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.io_utils import atomic_write_text

flags.DEFINE_string("model_dir", None, "A model directory written by train.")
shipped.define_flag(flags)
flags.DEFINE_string("dataset", None, "Registered dataset.")
flags.DEFINE_string("data_dir", None, "Data folder.")
flags.DEFINE_string("fit_split", "dev", "Split the temperature is fitted on.")
flags.DEFINE_string("split", "test", "Split the reliability is reported on.")
flags.DEFINE_string("output_dir", None, "Where REPORT.md, summary.json and "
                    "reliability.png go.")
flags.DEFINE_string("name", None, "What the report calls the model (default: "
                    "--model_dir).")
flags.DEFINE_bool("write_temperature", True, "Store the fitted temperature "
                  "in --model_dir (never in a shipped model: it keeps the "
                  "one its card gives).")
flags.DEFINE_integer("batch_size", 64, "Windows per model call.")
progress_lib.define_flag(flags)
flags.DEFINE_integer("limit", 0, "Use only the first N sentences of each "
                     "split (a quick look; 0: all).")
flags.mark_flags_as_required(["dataset", "output_dir"])
FLAGS = flags.FLAGS


def main(argv) -> None:
  del argv
  model_dir = shipped.model_dir(FLAGS.model_dir, FLAGS.model)
  model, tokenizer, labels, config = run_dir.load(model_dir)
  tagger = inference.Tagger(model, tokenizer, labels, config.max_seq_len,
                            batch_size=FLAGS.batch_size)
  read = lambda split: list(registry.read_split(
      FLAGS.dataset, split, FLAGS.data_dir))[:FLAGS.limit or None]
  fit_sentences = read(FLAGS.fit_split)
  if any(s.tags is None for s in fit_sentences):
    raise UsageError(f"{FLAGS.dataset}:{FLAGS.fit_split} has no labels")
  fit = calibration.ScoredSplit(tagger, fit_sentences, progress=FLAGS.progress)
  temperature, loss_after = calibration.fit_temperature(fit.scores,
                                                        fit.correct)
  same = FLAGS.split == FLAGS.fit_split
  target = fit if same else calibration.ScoredSplit(tagger, read(FLAGS.split),
                                        progress=FLAGS.progress)
  before = calibration.summary(target.scores(1.0), target.correct)
  crossed = calibration.cross_fitted(target) if same else None
  after = calibration.summary(
      crossed["scores"] if same else target.scores(temperature),
      target.correct)
  after["label"] = "cross-fitted temperature" if same else \
      f"temperature {temperature:.3f}"
  summary = {
      "model": FLAGS.name or FLAGS.model or model_dir, "dataset": FLAGS.dataset,
      "fit_split": FLAGS.fit_split, "split": FLAGS.split,
      "temperature": temperature, "fit_entities": int(len(fit.correct)),
      "fit_log_loss_before": calibration.log_loss(fit.scores(1.0),
                                                  fit.correct),
      "fit_log_loss_after": loss_after, "cross_fitted": same,
      "cross_fit_temperatures": crossed["temperatures"] if same else None,
      "before": before, "after": after}
  if FLAGS.write_temperature and not FLAGS.model:
    calibration.write_record(model_dir, {
        "temperature": temperature, "fitted_on": f"{FLAGS.dataset}:"
        f"{FLAGS.fit_split}", "log_loss_before": summary[
            "fit_log_loss_before"], "log_loss_after": loss_after})
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  summary["command"] = (
      "python -m bert_mtl_ner.calibrate " + (
          f"--model={FLAGS.model} " if FLAGS.model else
          f"--model_dir={model_dir} ") +
      f"--dataset={FLAGS.dataset} --fit_split={FLAGS.fit_split} "
      f"--split={FLAGS.split} --output_dir={FLAGS.output_dir}" +
      (f" --limit={FLAGS.limit}" if FLAGS.limit else ""))
  atomic_write_text(os.path.join(FLAGS.output_dir, "summary.json"),
                    json.dumps(summary, indent=1) + "\n")
  atomic_write_text(os.path.join(FLAGS.output_dir, "REPORT.md"),
                    calibration.render(summary))
  calibration.plot(before, after,
                   f"{summary['model']}: {FLAGS.dataset} {FLAGS.split}",
                   os.path.join(FLAGS.output_dir, "reliability.png"))
  print(calibration.render(summary))


if __name__ == "__main__":
  cli.run(main)
