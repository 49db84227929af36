r"""Can one long grid run use both cores? One run of a full-preset cell, timed
three ways, each alone on the machine and one after the other:

* ``1 process, 1 thread``: how the grid trains a run (two such runs side by
  side fill a 2-core machine);
* ``1 process, 2 threads``: two intra-op threads;
* ``2 workers x 1 thread``: the same run over two worker processes of one
  ``tf.distribute.MultiWorkerMirroredStrategy`` cluster (``TF_CONFIG`` on free
  localhost ports), each with one thread: every worker draws the same global
  batch and trains its half (``bert_mtl_ner.training.distribution``).

Each is ``python -m bert_mtl_ner.train`` with the cell's real flags (as the
grid builds them, the pretrained encoder from ``../shared/pretrained`` when it
is there), one epoch on the first ``--train_limit`` training sentences, and
the first ``--dev_limit`` dev sentences. The table gives the epoch's training
steps (``train_seconds`` of the chief's ``metrics.jsonl``), the whole epoch
with what comes before it (``epoch_seconds``: the multi-task model's
reweighting, which every worker computes whole), and the process's wall time.

The grid trains two single-threaded runs side by side on a 2-core machine
(``bench/grid_speed.py``); a run longer than a sitting could fit into one
only if it went faster with both cores to itself, which the two lower rows
measure.

  python bench/one_run_two_workers.py [--cell=peoples_daily/mtl] \
      [--output=docs/bench/one_run_two_workers.md]
"""

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

import common  # bench/common.py  # pylint: disable=g-bad-import-order

flags.DEFINE_string("cell", "peoples_daily/mtl", "The full grid's cell.")
flags.DEFINE_integer("train_limit", 3200, "Training sentences of the epoch.")
flags.DEFINE_integer("dev_limit", 256, "Dev sentences scored after it.")
flags.DEFINE_string("data_dir", None, "Data folder.")
flags.DEFINE_string("bert_model", os.path.join(
    common.ROOT, "..", "shared", "pretrained", "pretrain_cpu-0bc2be5f7d"),
                    "Encoder folder (the full preset's, pretrained on CPU); "
                    "a random one of its size when it is missing.")
flags.DEFINE_string("output", "", "Markdown file for docs/bench.")
FLAGS = flags.FLAGS


def cell_run(cell_name: str, model_dir: str):
  """The ``TrainRun`` of ``cell_name`` as the full grid builds it, with one
  epoch of ``--train_limit`` sentences into ``model_dir``."""
  from bert_mtl_ner.experiments import grid as grid_lib  # pylint: disable=g-import-not-at-top
  from bert_mtl_ner.experiments import presets, run_spec  # pylint: disable=g-import-not-at-top
  from bert_mtl_ner.training.run_config import TrainRun  # pylint: disable=g-import-not-at-top
  preset = presets.get_preset("full")
  cell = next(c for c in grid_lib.build_grid() if c.name == cell_name)
  base = TrainRun(**dict(preset.overrides, data_dir=FLAGS.data_dir))
  if os.path.isdir(FLAGS.bert_model):
    base = dataclasses.replace(base, bert_model=FLAGS.bert_model)
  else:
    base = dataclasses.replace(base, bert_random_init=True)
  run = run_spec.cell_run(base, cell, 1, model_dir, preset)
  return dataclasses.replace(
      run, model_dir=model_dir, epochs=1, train_limit=FLAGS.train_limit,
      dev_limit=FLAGS.dev_limit, progress=False)


def timed(processes: int, threads: int):
  """One run with ``processes`` workers of ``threads`` threads: the chief's
  last ``metrics.jsonl`` row and the wall seconds until every worker ended."""
  from bert_mtl_ner import config_flags  # pylint: disable=g-import-not-at-top
  from bert_mtl_ner.training import cluster  # pylint: disable=g-import-not-at-top
  model_dir = os.path.join(tempfile.mkdtemp(prefix="one_run_"), "model")
  command = [sys.executable, "-m", "bert_mtl_ner.train",
             *config_flags.to_args(cell_run(FLAGS.cell, model_dir))]
  env = dict(os.environ, TF_NUM_INTRAOP_THREADS=str(threads),
             TF_NUM_INTEROP_THREADS="1")
  ports = cluster.free_ports(processes)
  start = time.perf_counter()
  workers = []
  for index in range(processes):
    extra, worker_env = [], env
    if processes > 1:
      extra = ["--distribution_strategy=multi_worker_mirrored"]
      worker_env = dict(env, TF_CONFIG=cluster.local_tf_config(ports, index))
    workers.append(subprocess.Popen(command + extra, env=worker_env,  # pylint: disable=consider-using-with
                                    stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True))
  for worker in workers:
    _, err = worker.communicate()
    if worker.returncode:
      raise RuntimeError(f"train failed ({worker.returncode}): {err[-2000:]}")
  wall = time.perf_counter() - start
  with open(os.path.join(model_dir, "metrics.jsonl"), encoding="utf-8") as f:
    row = [json.loads(line) for line in f if line.strip()][-1]
  return row, wall


def main(argv) -> None:
  del argv
  conditions = {"1 process, 1 thread": (1, 1),
                "1 process, 2 threads": (1, 2),
                "2 workers x 1 thread": (2, 1)}
  measured = {}
  for name, (processes, threads) in conditions.items():
    row, wall = timed(processes, threads)
    measured[name] = {"train": row["train_seconds"],
                      "epoch": row["epoch_seconds"], "wall": wall}
    print(f"{name}: {measured[name]}", file=sys.stderr, flush=True)
  base = measured["1 process, 1 thread"]
  lines = common.header(
      f"One run on both cores: {FLAGS.cell}, one epoch of "
      f"{FLAGS.train_limit} sentences (seconds, and speed-up against one "
      "process with one thread)")
  lines += ["| condition | training steps | epoch | process wall |",
            "|---|---:|---:|---:|"]
  for name, m in measured.items():
    lines.append(f"| {name} | " + " | ".join(
        f"{m[k]:.1f} ({base[k] / m[k]:.2f}x)"
        for k in ("train", "epoch", "wall")) + " |")
  lines += ["", "Training steps: `train_seconds` of the chief's "
            "`metrics.jsonl`; epoch: `epoch_seconds` (the steps and what "
            "the epoch does before them); process wall: from start to the "
            "last worker's exit (start-up, corpora, dev scoring included). "
            "The grid's throughput is two single-threaded runs side by side "
            "(`bench/grid_speed.py`); the two lower rows are what one run "
            "gains, or loses, from the second core instead."]
  common.write_markdown(FLAGS.output, lines)


if __name__ == "__main__":
  app.run(main)
