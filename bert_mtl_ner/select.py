r"""Picks the K texts of a pool that a model is least sure of, for annotation.

  python -m bert_mtl_ner.select --model_dir=M --input=pool.txt --k=100 \
      --strategy=confid --output=batch.jsonl
  python -m bert_mtl_ner.select --model_dir=M --input=pool.txt --k=100 \
      --strategy=min_entity_score --output_format=label_studio --output=tasks.json

The pool is raw text, one document per line (as ``predict`` reads it), streamed
in batches: a pool of a million lines runs in memory that grows with ``--k``
only. Strategies (``active.strategies``): ``confid`` (the paper's
``(p1 - p2) / p1`` of the two best CRF paths), ``min_entity_score`` (the least
certain entity), ``random``. A diversity guard keeps near-duplicates out of one
batch (``active.selection``). The output, least certain first, carries the
model's entities as pre-annotations: doccano JSONL (the default), a Label
Studio task array with scored predictions, or ``jsonl`` with the certainty and
the pool line of each text.
"""

import json
import os
import sys

from absl import flags

from bert_mtl_ner import cli
from bert_mtl_ner import inference
from bert_mtl_ner import io_utils
from bert_mtl_ner import progress as progress_lib
from bert_mtl_ner import shipped
from bert_mtl_ner.active import pool
from bert_mtl_ner.active import strategies
from bert_mtl_ner.data import annotation
from bert_mtl_ner.data import readers
from bert_mtl_ner.errors import UsageError

flags.DEFINE_string("model_dir", None, "A model directory written by train.")
shipped.define_flag(flags)
flags.DEFINE_string("input", "-", "The pool: one text a line, or - for stdin.")
flags.DEFINE_integer("k", 100, "How many texts to pick.")
flags.DEFINE_enum("strategy", "confid", list(strategies.STRATEGIES),
                  "How to rank the pool.")
flags.DEFINE_float("diversity", 0.7, "Character-bigram Jaccard at or above "
                   "which two picked texts count as near-duplicates (1: off "
                   "for all but identical texts).")
flags.DEFINE_integer("seed", 0, "Seed of --strategy=random.")
flags.DEFINE_enum("output_format", "doccano", ["jsonl"] + list(
    annotation.FORMATS), "doccano JSONL, a Label Studio JSON array, or jsonl "
                  "({text, line, certainty, entities}).")
flags.DEFINE_string("output", "-", "Output file (written atomically), or - "
                    "for stdout.")
flags.DEFINE_integer("batch_size", 64, "Texts per batch.")
progress_lib.define_flag(flags)
FLAGS = flags.FLAGS


def main(argv) -> None:
  del argv
  if FLAGS.k < 1:
    raise UsageError(f"--k must be positive, got {FLAGS.k}")
  if FLAGS.input != "-" and not os.path.isfile(FLAGS.input):
    raise UsageError(f"--input={FLAGS.input}: no such file")
  model_dir = shipped.model_dir(FLAGS.model_dir, FLAGS.model)
  tagger = inference.Tagger.from_model_dir(model_dir, FLAGS.batch_size)
  source = sys.stdin.buffer if FLAGS.input == "-" else open(FLAGS.input, "rb")
  bar = progress_lib.bar(
      io_utils.count_lines(FLAGS.input) if FLAGS.input != "-" else None,
      "ranking", "texts", enabled=FLAGS.progress and FLAGS.input != "-")
  try:
    chosen = pool.select(tagger, readers.read_documents(source, FLAGS.input),
                    FLAGS.k, FLAGS.strategy, FLAGS.diversity, FLAGS.seed,
                    FLAGS.batch_size, bar)
  finally:
    bar.close()
    if source is not sys.stdin.buffer:
      source.close()

  def write(stream):
    writer = None if FLAGS.output_format == "jsonl" else \
        annotation.AnnotationWriter(stream, FLAGS.output_format,
                                    os.path.basename(os.path.normpath(
                                        model_dir)))
    for candidate in chosen:
      if writer:
        writer.write(candidate.text, candidate.payload)
      else:
        stream.write(json.dumps({
            "text": candidate.text, "line": candidate.index,
            "certainty": inference.round_score(candidate.certainty),
            "entities": candidate.payload}, ensure_ascii=False) + "\n")
    if writer:
      writer.close()

  if FLAGS.output == "-":
    write(sys.stdout)
  else:
    with io_utils.atomic_open(FLAGS.output) as stream:
      write(stream)


if __name__ == "__main__":
  cli.run(main)
