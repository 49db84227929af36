r"""What reweighting costs before each multi-task epoch: every auxiliary
sentence, or only those the epoch draws.

The full preset's CLUENER2020 multi-task cell (its model, its corpora, its
``--aux_ratio=1``): before each epoch the trainer needs the similarity weight
``fun(x, IN)`` of the auxiliary sentences it trains on, and the centroid of
the main corpus they are measured against. Measured side by side in one
process, after a first pass of each that traces the graphs:

* ``every sentence``: weighing the whole auxiliary corpora (what
  ``--reweight_every`` over 1 still does, and every epoch did before);
* ``drawn sentences, consecutive batches``: weighing only the rows the
  epoch's batches hold (``Task.weigh``, replayed from the epoch's seed), the
  forward passes taking the rows in corpus order (each batch padded to its
  longest row, as before);
* ``drawn sentences``: the same with the forward passes taking the rows
  shortest first (what the trainer does).

Both include the centroid and the pseudo-labels of the unlabeled text, which
every epoch needs either way.

  python bench/reweighting.py [--quick] [--output=docs/bench/reweighting.md]
"""

import dataclasses
import os
import tempfile
import time

from absl import app
from absl import flags

import common  # bench/common.py  # pylint: disable=g-bad-import-order

import numpy as np  # pylint: disable=g-bad-import-order,wrong-import-position

from bert_mtl_ner import tokenization  # pylint: disable=g-bad-import-order,wrong-import-position
from bert_mtl_ner.data import pipeline  # pylint: disable=g-bad-import-order,wrong-import-position
from bert_mtl_ner.data import tags as tags_lib  # pylint: disable=g-bad-import-order,wrong-import-position
from bert_mtl_ner.experiments import grid as grid_lib  # pylint: disable=g-bad-import-order,wrong-import-position
from bert_mtl_ner.experiments import presets  # pylint: disable=g-bad-import-order,wrong-import-position
from bert_mtl_ner.experiments import run_spec  # pylint: disable=g-bad-import-order,wrong-import-position
from bert_mtl_ner.models import build_model  # pylint: disable=g-bad-import-order,wrong-import-position
from bert_mtl_ner.training import run as run_lib  # pylint: disable=g-bad-import-order,wrong-import-position
from bert_mtl_ner.training import trainer as trainer_lib  # pylint: disable=g-bad-import-order,wrong-import-position
from bert_mtl_ner.training.run_config import TrainRun  # pylint: disable=g-bad-import-order,wrong-import-position

flags.DEFINE_bool("quick", False, "A tenth of every corpus (a few minutes).")
flags.DEFINE_string("data_dir", None, "Data folder.")
flags.DEFINE_string("output", "", "Markdown file for the README.")
FLAGS = flags.FLAGS

CELL = "cluener/mtl"


def _run():
  """The full preset's TrainRun of ``CELL`` (the pretrained encoder's size)."""
  preset = presets.get_preset("full")
  base = TrainRun(**dict(preset.overrides, data_dir=FLAGS.data_dir))
  encoder = os.path.join(common.ROOT, "..", "shared", "pretrained",
                         "pretrain_cpu-0bc2be5f7d")
  if os.path.isdir(encoder):
    base = dataclasses.replace(base, bert_model=encoder)
  cell = next(c for c in grid_lib.build_grid() if c.name == CELL)
  run = run_spec.cell_run(base, cell, 1, tempfile.mkdtemp(), preset)
  return run


def _part(sentences):
  """A tenth of ``sentences`` with --quick, else all of them."""
  return sentences[:len(sentences) // 10] if FLAGS.quick else sentences


def main(argv) -> None:
  del argv
  run = _run()
  tokenizer = tokenization.CharTokenizer.from_vocab_file(
      run_lib.resolve_vocab_file(run))
  train = _part(run_lib.load_sentences(run, "train", None, run.train_limit))
  labels = tags_lib.label_list(tags_lib.entity_types(s.tags for s in train))
  aux = [(name, _part(sentences), aux_labels) for name, sentences, aux_labels
         in (run_lib.load_aux_task(run, spec) for spec in run.aux_tasks)]
  if FLAGS.quick:
    run = dataclasses.replace(run, unlabeled_limit=len(train) // 8)
  model = build_model(run_lib.model_config(run, labels, tokenizer,
                                           {n: l for n, _, l in aux}))
  unlabeled = run_lib.load_unlabeled(run, run.unlabeled, run.unlabeled_limit) \
      if run.unlabeled else []
  epoch_tasks, sizes = run_lib.training_tasks(run, model, tokenizer, train,
                                              labels, aux, unlabeled)
  trainer = trainer_lib.Trainer(model, run_lib.train_config(run, sizes),
                                tempfile.mkdtemp(), lambda: {})

  length_ordered = epoch_tasks._batches_by_length  # pylint: disable=protected-access

  def consecutive(corpus):
    return np.arange(len(corpus)), pipeline.make_dataset(
        corpus, epoch_tasks.config.batch_size, bucket_boundaries=None)

  def before_epoch(every: int, batches_by_length):
    """Seconds from the epoch's start to its first batch, and rows weighed."""
    epoch_tasks._batches_by_length = batches_by_length  # pylint: disable=protected-access
    epoch_tasks.config.every = every
    epoch_tasks._cache = None  # pylint: disable=protected-access
    start = time.perf_counter()
    batches, _, _ = trainer._batches(1, epoch_tasks(1))  # pylint: disable=protected-access
    next(batches)
    weighed = sum(v for k, v in epoch_tasks.last_stats.items()
                  if k.endswith("_weighed"))
    return time.perf_counter() - start, weighed

  conditions = {"every sentence": (2, length_ordered),
                "drawn sentences, consecutive batches": (1, consecutive),
                "drawn sentences": (1, length_ordered)}
  results = {}
  for name, condition in conditions.items():
    before_epoch(*condition)  # traces the forward passes of each length
    results[name] = before_epoch(*condition)
  aux_total = sum(len(c) for _, c in epoch_tasks.aux)
  whole = results["every sentence"][0]
  lines = common.header(
      f"Reweighting before a multi-task epoch ({CELL}, full preset"
      f"{', a tenth of each corpus' if FLAGS.quick else ''})")
  lines += [f"Main corpus {len(epoch_tasks.main_corpus)} sentences, auxiliary "
            f"corpora {aux_total}, `--aux_ratio={run.aux_ratio:g}`.", "",
            "| weighs | auxiliary sentences weighed | seconds | vs every "
            "sentence |", "|---|---:|---:|---:|"]
  for name, (seconds, weighed) in results.items():
    lines.append(f"| {name} | {weighed} | {seconds:.1f} | "
                 f"{whole / seconds:.2f}x |")
  lines += ["", "Seconds before the epoch's first step: the main corpus's "
            "centroid, the pseudo-labels, and the similarity weights; "
            f"peak resident memory {common.peak_rss_mb():.0f} MiB."]
  common.write_markdown(FLAGS.output, lines)


if __name__ == "__main__":
  app.run(main)
