r"""Bulk tagging benchmark: ``predict`` in one process against ``tag_corpus``
on Beam's DirectRunner with two worker processes, side by side, characters/s.

Both tag the same file of MSRA test sentences (repeated to ``--sentences``)
with the same exported SavedModel, each end to end as a user runs it (process
start, TensorFlow import and model load included; Beam's worker start too).
The model is built untrained at the chosen size (speed does not depend on the
weights; default: BERT-BiLSTM-CRF with the CPU-pretraining encoder's size).
The goal (issue 25): the Beam path at >= 0.8x ``predict``'s characters/s.

  python bench/bulk.py [--quick] [--output=docs/bench/bulk.md]
"""

import glob
import os
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

import common  # bench/common.py  # pylint: disable=g-bad-import-order

from bert_mtl_ner import serving  # pylint: disable=g-bad-import-order
from bert_mtl_ner import tokenization
from bert_mtl_ner.data import registry
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.models import ModelConfig, build_model

flags.DEFINE_bool("quick", False, "3000 sentences (about a minute per path).")
flags.DEFINE_integer("sentences", 10000, "Sentences to tag (MSRA test, "
                     "repeated as needed).")
flags.DEFINE_enum("model", "bert_bilstm_crf", ["bilstm_crf", "bert_bilstm_crf"],
                  "The model to export.")
flags.DEFINE_integer("workers", 2, "Beam DirectRunner worker processes.")
common.define_model_flags(flags)
FLAGS = flags.FLAGS
GOAL = 0.8


def export(folder: str) -> str:
  tokenizer = tokenization.CharTokenizer.from_vocab_file(FLAGS.vocab_file)
  labels = tags_lib.label_list(["LOC", "ORG", "PER"])
  bert = FLAGS.model != "bilstm_crf"
  model = build_model(ModelConfig(
      model=FLAGS.model, labels=labels, vocab_size=tokenizer.vocab_size,
      lstm_units=128, lstm_layers=1,
      bert_config=common.bert_config(tokenizer.vocab_size, FLAGS.bert_layers,
                                     FLAGS.bert_hidden) if bert else None))
  path = os.path.join(folder, "export")
  serving.export(serving.ServingModule(model, tokenizer, labels, 150), path,
                 labels)
  return path


def timed(command) -> float:
  start = time.perf_counter()
  subprocess.run([sys.executable, "-m", *command], check=True,
                 cwd=common.ROOT, stdout=subprocess.DEVNULL)
  return time.perf_counter() - start


def main(argv) -> None:
  del argv
  count = 3000 if FLAGS.quick else FLAGS.sentences
  test = ["".join(s.chars) for s in registry.read_split("msra", "test",
                                                        FLAGS.data_dir)]
  texts = [test[i % len(test)] for i in range(count)]
  chars = sum(len(t) for t in texts)
  folder = tempfile.mkdtemp(prefix="bench_bulk_")
  saved_model = export(folder)
  corpus = os.path.join(folder, "corpus.txt")
  with open(corpus, "w", encoding="utf-8") as stream:
    stream.write("\n".join(texts) + "\n")
  seconds = {}
  seconds["predict --saved_model, one process"] = timed([
      "bert_mtl_ner.predict", f"--saved_model={saved_model}",
      f"--input={corpus}", f"--output={folder}/predict.jsonl",
      "--progress=false"])
  beam = f"tag_corpus, DirectRunner, {FLAGS.workers} worker processes"
  seconds[beam] = timed([
      "bert_mtl_ner.tag_corpus", f"--saved_model={saved_model}",
      f"--input={corpus}", f"--output={folder}/beam/tagged",
      f"--direct_num_workers={FLAGS.workers}",
      "--direct_running_mode=multi_processing"])
  tagged = sum(1 for path in glob.glob(f"{folder}/beam/tagged-0*.jsonl")
               for _ in open(path, encoding="utf-8"))
  if tagged != count:
    raise SystemExit(f"tag_corpus wrote {tagged} records for {count} lines")
  lines = common.header(
      f"Bulk tagging: {FLAGS.model}"
      + (f", BERT {FLAGS.bert_layers} layers hidden {FLAGS.bert_hidden}"
         if FLAGS.model != "bilstm_crf" else "")
      + f", {count} MSRA test sentences ({chars} characters)")
  lines += ["| path | seconds | characters/s | ratio to predict |",
            "|---|---:|---:|---:|"]
  base = chars / seconds["predict --saved_model, one process"]
  for name, value in seconds.items():
    lines.append(f"| {name} | {value:.1f} | {chars / value:.0f} | "
                 f"{chars / value / base:.2f} |")
  ratio = (chars / seconds[beam]) / base
  lines += ["", f"Goal: the Beam path at >= {GOAL}x predict's characters/s: "
            f"{ratio:.2f}x, {'met' if ratio >= GOAL else 'not met'}.", "",
            "Both are end to end: process start, TensorFlow import and model "
            "load included, and for Beam its workers' start and the shuffle "
            "of the lines between them."]
  common.write_markdown(FLAGS.output, lines)


if __name__ == "__main__":
  app.run(main)
