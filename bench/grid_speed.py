r"""How the full grid's models train fastest on this CPU, and how fast.

Each model of the full preset (its real settings and the pretrained encoder's
size) takes the trainer's real step (``Trainer.train_step``) on bucketed batches
of its corpus, and tags dev sentences with the real ``Tagger``. Measured side by
side in one run, each in its own process (thread counts are fixed when
TensorFlow starts):

* ``1 thread``: one process, one intra-op thread;
* ``1 thread + XLA``: the same with ``--jit_compile``;
* ``2 threads``: one process, two intra-op threads;
* ``2 workers x 1 thread``: two such processes at once (what ``--jobs=2``
  does); their summed rate is the grid's throughput.

The last condition measures every corpus and writes the rates the full
preset's ``--plan`` estimates from (``--output_json``).

  python bench/grid_speed.py [--quick] [--output=docs/bench/grid_speed.md] \
      [--output_json=docs/results/full/throughput.json]
"""

import json
import os
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

import common  # bench/common.py  # pylint: disable=g-bad-import-order

from bert_mtl_ner import io_utils  # pylint: disable=g-bad-import-order,wrong-import-position

flags.DEFINE_bool("quick", False, "Fewer steps (a few minutes).")
flags.DEFINE_integer("steps", 12, "Timed training steps per model.")
flags.DEFINE_integer("predict_sentences", 256, "Dev sentences tagged.")
flags.DEFINE_string("data_dir", None, "Data folder.")
flags.DEFINE_string("output", "", "Markdown file for the README.")
flags.DEFINE_string("output_json", "", "Rates for the full preset's --plan.")
flags.DEFINE_string("measure", "", "Internal: DATASETS:JIT, measure in this "
                    "process and print JSON.")
FLAGS = flags.FLAGS

MODELS = ("bilstm_crf", "bert_crf", "bert_bilstm_crf", "mtl")
DATASETS = ("msra", "peoples_daily", "cluener")


def _cell(dataset, model):
  from bert_mtl_ner.experiments import grid as grid_lib  # pylint: disable=g-import-not-at-top
  return next(c for c in grid_lib.build_grid() if c.name == f"{dataset}/{model}")


def measure(datasets, jit: bool):
  """{dataset/model: {train, predict}} sentences/s in this process."""
  import dataclasses  # pylint: disable=g-import-not-at-top
  from bert_mtl_ner import inference  # pylint: disable=g-import-not-at-top
  from bert_mtl_ner import tokenization  # pylint: disable=g-import-not-at-top
  from bert_mtl_ner.data import pipeline  # pylint: disable=g-import-not-at-top
  from bert_mtl_ner.data import registry  # pylint: disable=g-import-not-at-top
  from bert_mtl_ner.data import tags as tags_lib  # pylint: disable=g-import-not-at-top
  from bert_mtl_ner.experiments import presets, run_spec  # pylint: disable=g-import-not-at-top
  from bert_mtl_ner.keras import keras  # pylint: disable=g-import-not-at-top
  from bert_mtl_ner.models import build_model  # pylint: disable=g-import-not-at-top
  from bert_mtl_ner.training import run as run_lib  # pylint: disable=g-import-not-at-top
  from bert_mtl_ner.training import trainer as trainer_lib  # pylint: disable=g-import-not-at-top
  from bert_mtl_ner.training.run_config import TrainRun  # pylint: disable=g-import-not-at-top
  preset = presets.get_preset("full")
  encoder = os.path.join(common.ROOT, "..", "shared", "pretrained",
                         "pretrain_cpu-0bc2be5f7d")
  base = TrainRun(**dict(preset.overrides, data_dir=FLAGS.data_dir,
                         jit_compile=jit))
  if os.path.isdir(encoder):
    base = dataclasses.replace(base, bert_model=encoder)
  steps = 6 if FLAGS.quick else FLAGS.steps
  rates = {}
  for dataset in datasets:
    train = list(registry.read_split(dataset, "train", FLAGS.data_dir))
    dev = list(registry.read_split(dataset, "dev", FLAGS.data_dir))
    for model in MODELS:
      run = run_spec.cell_run(base, _cell(dataset, model), 1, tempfile.mkdtemp(),
                            preset)
      vocab = run_lib.resolve_vocab_file(run)
      tokenizer = tokenization.CharTokenizer.from_vocab_file(vocab)
      labels = tags_lib.label_list(tags_lib.entity_types(s.tags for s in train))
      aux = {a: labels for a in run.aux_tasks}
      model_ = build_model(run_lib.model_config(run, labels, tokenizer, aux))
      corpus = pipeline.encode(train[:(steps + 1) * run.batch_size * 4],
                               tokenizer, {t: i for i, t in enumerate(labels)},
                               run.max_seq_len)
      batches = list(pipeline.make_dataset(corpus, run.batch_size,
                                           shuffle=True, seed=1))[:steps + 1]
      trainer = trainer_lib.Trainer(
          model_, trainer_lib.TrainConfig(progress=False, jit_compile=jit),
          tempfile.mkdtemp(), lambda: {})
      step = trainer.train_step(trainer_lib.Task(dataset, corpus))
      step(batches[0])
      start = time.perf_counter()
      for batch in batches[1:]:
        step(batch)
      seen = sum(int(b["input_ids"].shape[0]) for b in batches[1:])
      train_rate = seen / (time.perf_counter() - start)
      tagger = inference.Tagger(model_, tokenizer, labels, run.max_seq_len,
                                batch_size=run.eval_batch_size)
      sample = [s.chars for s in dev[:FLAGS.predict_sentences]]
      tagger.predict_tags(sample[:run.eval_batch_size])
      start = time.perf_counter()
      tagger.predict_tags(sample)
      predict_rate = len(sample) / (time.perf_counter() - start)
      rates[f"{dataset}/{model}"] = {"train": round(train_rate, 2),
                                     "predict": round(predict_rate, 2)}
      print(f"{dataset}/{model}: train {train_rate:.1f}, predict "
            f"{predict_rate:.1f} sentences/s", file=sys.stderr, flush=True)
      keras.backend.clear_session()
  return rates


def _spawn(datasets, jit: bool, threads: int):
  env = dict(os.environ, TF_NUM_INTRAOP_THREADS=str(threads),
             TF_NUM_INTEROP_THREADS="1")
  command = [sys.executable, os.path.abspath(__file__),
             f"--measure={','.join(datasets)}:{int(jit)}",
             f"--steps={FLAGS.steps}", f"--quick={FLAGS.quick}",
             f"--predict_sentences={FLAGS.predict_sentences}"]
  if FLAGS.data_dir:
    command.append(f"--data_dir={FLAGS.data_dir}")
  return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)


def _collect(processes):
  results = []
  for process in processes:
    out, _ = process.communicate()
    if process.returncode:
      raise RuntimeError(f"measurement failed ({process.returncode})")
    results.append(json.loads(out.strip().splitlines()[-1]))
  return results


def sizes(data_dir):
  from bert_mtl_ner.data import registry  # pylint: disable=g-import-not-at-top
  return {f"{d}:{s}": sum(1 for _ in registry.read_split(d, s, data_dir))
          for d in DATASETS for s in ("train", "dev", "test")}


def main(argv) -> None:
  del argv
  if FLAGS.measure:
    datasets, jit = FLAGS.measure.split(":")
    print(json.dumps(measure(datasets.split(","), bool(int(jit)))))
    return
  conditions = {}
  for name, jit, threads in (("1 thread", False, 1),
                             ("1 thread + XLA", True, 1),
                             ("2 threads", False, 2)):
    conditions[name] = _collect([_spawn(["msra"], jit, threads)])[0]
  pair = _collect([_spawn(list(DATASETS), False, 1) for _ in range(2)])
  both = {k: {m: pair[0][k][m] + pair[1][k][m] for m in ("train", "predict")}
          for k in pair[0]}
  conditions["2 workers x 1 thread (sum)"] = {
      k: v for k, v in both.items() if k.startswith("msra/")}
  base = conditions["1 thread"]
  lines = common.header("Grid speed: the full preset's models on MSRA "
                        "(training and tagging sentences/s)")
  lines += ["| model | " + " | ".join(conditions) + " |",
            "|---|" + "---:|" * len(conditions)]
  for key in base:
    cells = [f"{c[key]['train']:.1f} / {c[key]['predict']:.0f} "
             f"({c[key]['train'] / base[key]['train']:.2f}x)"
             for c in conditions.values()]
    lines.append(f"| {key.split('/')[1]} | " + " | ".join(cells) + " |")
  lines += ["", "Each cell: training / tagging sentences per second, and in "
            "brackets the training rate against one process with one thread. "
            "The grid uses whichever condition trains fastest in total."]
  common.write_markdown(FLAGS.output, lines)
  if FLAGS.output_json:
    per_worker = {k: {m: round((pair[0][k][m] + pair[1][k][m]) / 2, 2)
                      for m in ("train", "predict")} for k in pair[0]}
    common.atomic_write_text(FLAGS.output_json, json.dumps({
        "command": "python bench/grid_speed.py " + " ".join(
            io_utils.relative_arg(a, common.ROOT) for a in sys.argv[1:]),
        "note": "sentences/s of one of two single-threaded workers running "
                "side by side on this machine",
        "rates": per_worker, "sizes": sizes(FLAGS.data_dir),
        "conditions_msra": conditions}, indent=1) + "\n")


if __name__ == "__main__":
  app.run(main)
