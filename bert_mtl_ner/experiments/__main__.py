r"""Runs the experiment grid and writes ``results/REPORT.md`` (run_experiments.sh).

  python -m bert_mtl_ner.experiments --preset=cpu
  python -m bert_mtl_ner.experiments --preset=smoke --results_dir=/tmp/r --seeds=1
  python -m bert_mtl_ner.experiments --preset=paper --bert_model=/models/bert-base-chinese

Every flag of ``bert_mtl_ner.train`` passes through to every run and overrides
the preset (except what defines a cell: model, dataset, auxiliary tasks,
unlabeled data, attention and weighting switches, seed, model_dir). Finished runs
are kept: running the same command again resumes the grid.
"""

import dataclasses
import datetime
import os
import platform
import re
import sys
import time
from typing import Dict, Optional, Tuple

from absl import flags
from absl import logging

from bert_mtl_ner import cli
from bert_mtl_ner import config_flags
from bert_mtl_ner.experiments import grid as grid_lib
from bert_mtl_ner.experiments import presets as presets_lib
from bert_mtl_ner.experiments import pretrained
from bert_mtl_ner.experiments import report as report_lib
from bert_mtl_ner.experiments import runner
from bert_mtl_ner.experiments import workers
from bert_mtl_ner.io_utils import atomic_write_text
from bert_mtl_ner.run_dir import write_json
from bert_mtl_ner.training.run_config import TrainRun

config_flags.define_flags(TrainRun)
flags.DEFINE_enum("preset", "cpu", list(presets_lib.PRESETS), "Grid size.")
flags.DEFINE_string("results_dir", "results", "Where runs and REPORT.md go.")
flags.DEFINE_list("seeds", [], "Seeds (default: the preset's).")
flags.DEFINE_string("cells", "", "Only cells whose name (dataset/variant) "
                    "matches this regular expression.")
flags.DEFINE_integer("jobs", None, "Worker processes sharing the grid (default: "
                     "the preset's); each gets cores/jobs threads.")
flags.DEFINE_string("pretrain", None, "A bert_mtl_ner.pretrain flagfile whose "
                    "encoder the BERT rows use, pretrained once and cached "
                    "(default: the preset's, e.g. configs/pretrain_cpu.cfg); "
                    "empty: the preset's random-init BERT. --bert_model=DIR "
                    "skips it.")
flags.DEFINE_string("pretrain_cache", None, "Where pretrained encoders are "
                    "cached (default: RESULTS_DIR/pretrained).")
flags.DEFINE_bool("worker", False, "Internal: run claimed runs, no report.")
FLAGS = flags.FLAGS

CELL_FIELDS = ("model", "dataset", "aux_tasks", "unlabeled", "use_attention",
               "similarity_weights", "seed", "model_dir", "train_file",
               "dev_file")


def base_run(preset: presets_lib.Preset) -> TrainRun:
  """TrainRun defaults < preset < flags given on the command line."""
  overrides = {k: v for k, v in preset.overrides.items()
               if not FLAGS[k].present}
  for name in CELL_FIELDS:
    if FLAGS[name].present:
      logging.warning("--%s is set per cell by the grid; ignored", name)
  return config_flags.from_flags(TrainRun, **overrides)


def pretraining_flagfile(preset: presets_lib.Preset) -> Optional[str]:
  """The flagfile of the grid's own encoder, or None (random init, or the
  user's --bert_model)."""
  if FLAGS["bert_model"].present:
    return None
  flagfile = preset.pretrain if FLAGS.pretrain is None else FLAGS.pretrain
  return flagfile or None


def with_encoder(base: TrainRun,
                 flagfile: Optional[str]) -> Tuple[TrainRun, Optional[Dict]]:
  """``base`` with the cached encoder of ``flagfile`` (pretrained first if the
  cache lacks it) and the encoder's summary for the report; ``base`` and None
  without one."""
  if not flagfile:
    return base, None
  cache = FLAGS.pretrain_cache or os.path.join(FLAGS.results_dir, "pretrained")
  folder, reused = pretrained.ensure(flagfile, cache, base.data_dir)
  about = dict(pretrained.summary(folder), reused=reused,
               flagfile=os.path.relpath(pretrained.resolve_flagfile(flagfile),
                                        pretrained.REPO_ROOT))
  return dataclasses.replace(base, bert_model=folder), about


def hardware() -> str:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  gpus = tf.config.list_physical_devices("GPU")
  return (f"{platform.machine()} {platform.processor() or ''} "
          f"{os.cpu_count()} CPU cores, "
          f"{len(gpus)} GPU(s); Python {platform.python_version()}, "
          f"TensorFlow {tf.__version__}").replace("  ", " ")


def run_grid(base: TrainRun, cells, seeds, preset: presets_lib.Preset,
             claim: bool) -> None:
  """Trains and scores every (cell, seed) without a result; with ``claim``
  only those this process claims first (see ``workers``)."""
  total = len(cells) * len(seeds)
  for i, (cell, seed) in enumerate(((c, s) for c in cells for s in seeds), 1):
    folder = runner.run_path(FLAGS.results_dir, cell, seed)
    if claim and (runner.finished(folder) or not workers.claim(folder)):
      continue
    print(f"[{i}/{total}] {cell.name} seed {seed}", flush=True)
    runner.run_cell(base, cell, seed, preset, FLAGS.results_dir)


def main(argv) -> None:
  del argv
  preset = presets_lib.get_preset(FLAGS.preset)
  seeds = [int(s) for s in FLAGS.seeds] or list(preset.seeds)
  flagfile = pretraining_flagfile(preset)
  cells = [c for c in grid_lib.build_grid(random_init_rows=bool(flagfile))
           if re.search(FLAGS.cells or "", c.name)]
  base = base_run(preset)
  # run_experiments.sh sets the start before its data checks.
  start = float(os.environ.get("BERT_MTL_NER_GRID_START") or time.time())
  started = datetime.datetime.fromtimestamp(start, datetime.timezone.utc)
  jobs = FLAGS.jobs or preset.jobs
  # Workers find the encoder in the cache that the main process filled.
  base, encoder = with_encoder(base, flagfile)
  if FLAGS.worker:
    run_grid(base, cells, seeds, preset, claim=True)
    return
  if jobs > 1:
    workers.clear_claims(FLAGS.results_dir)
    workers.run_workers(sys.argv[1:], jobs)
  else:
    run_grid(base, cells, seeds, preset, claim=False)
  results = [r for r in report_lib.load_results(FLAGS.results_dir)
             if r["preset"] == preset.name]
  meta = {"preset": preset.name, "description": preset.description,
          "command": "python -m bert_mtl_ner.experiments " +
                     " ".join(sys.argv[1:]),
          "hardware": hardware(), "jobs": jobs,
          "started": started.strftime("%Y-%m-%d %H:%M UTC"),
          "wall_seconds": time.time() - start}
  if encoder:
    meta["pretraining"] = encoder
  write_json(os.path.join(FLAGS.results_dir, "summary.json"),
             {"meta": meta, "runs": [
                 {k: r[k] for k in ("cell", "seed", "scores", "best",
                                    "wall_seconds")} for r in results]})
  path = os.path.join(FLAGS.results_dir, "REPORT.md")
  atomic_write_text(path, report_lib.build_report(results, meta))
  print(f"wrote {path}")


if __name__ == "__main__":
  cli.run(main)
