r"""Tags raw text: one document per line in, one JSON line per document out.

  echo "张三在北京大学工作。" | python -m bert_mtl_ner.predict --model=msra
  echo "张三在北京大学工作。" | python -m bert_mtl_ner.predict --model_dir=DIR
  python -m bert_mtl_ner.predict --saved_model=EXPORT --input=docs.txt --output=out.jsonl

Output lines: ``{"text": ..., "entities": [{"start", "end", "type", "text",
"score"}]}`` with offsets in characters (code points) of the raw line, ``end``
exclusive, and ``score`` the entity's probability under the CRF (see
``inference.Tagger``). ``--output_format=doccano|label_studio`` writes
pre-annotations for those tools instead (``data.annotation``).
Lines are read as UTF-8 and split on ``\n`` only (a trailing ``\r`` is dropped);
the input is streamed in batches, so its size does not matter. Empty lines give
empty entity lists.
"""

import json
import os
import sys
from typing import Iterator, List

from absl import flags

from bert_mtl_ner import cli
from bert_mtl_ner import inference
from bert_mtl_ner import io_utils
from bert_mtl_ner import progress as progress_lib
from bert_mtl_ner import serving
from bert_mtl_ner import shipped
from bert_mtl_ner.data import annotation
from bert_mtl_ner.data import readers
from bert_mtl_ner.errors import UsageError

flags.DEFINE_string("model_dir", None, "A model directory written by train.")
flags.DEFINE_string("saved_model", None, "A SavedModel written by export.")
shipped.define_flag(flags, "--model_dir or --saved_model")
flags.DEFINE_string("input", "-", "Input file, or - for stdin.")
flags.DEFINE_string("output", "-", "Output file, or - for stdout.")
flags.DEFINE_enum("output_format", "jsonl", ["jsonl"] + list(
    annotation.FORMATS), "jsonl: our JSON lines; doccano: JSONL to import "
                  "into doccano; label_studio: a JSON array of tasks with "
                  "scored predictions.")
flags.DEFINE_integer("batch_size", 64, "Documents per batch.")
progress_lib.define_flag(flags)
FLAGS = flags.FLAGS


def batches(documents, size: int) -> Iterator[List[str]]:
  batch = []
  for _, text in documents:
    batch.append(text)
    if len(batch) == size:
      yield batch
      batch = []
  if batch:
    yield batch


def main(argv) -> None:
  del argv
  model_dir = shipped.model_dir(FLAGS.model_dir, FLAGS.model,
                                FLAGS.saved_model, takes_saved_model=True)
  if model_dir:
    tagger = inference.Tagger.from_model_dir(model_dir, FLAGS.batch_size)
  else:
    tagger = serving.SavedModelTagger(FLAGS.saved_model)
  if FLAGS.input != "-" and not os.path.isfile(FLAGS.input):
    raise UsageError(f"--input={FLAGS.input}: no such file")
  source = sys.stdin.buffer if FLAGS.input == "-" else open(FLAGS.input, "rb")
  sink = sys.stdout if FLAGS.output == "-" else open(
      FLAGS.output, "w", encoding="utf-8")
  # Progress for a file only: stdin has no known length.
  bar = progress_lib.bar(
      io_utils.count_lines(FLAGS.input) if FLAGS.input != "-" else None, "tagging",
      "documents", enabled=FLAGS.progress and FLAGS.input != "-")
  writer = None if FLAGS.output_format == "jsonl" else \
      annotation.AnnotationWriter(sink, FLAGS.output_format, os.path.basename(
          os.path.normpath(model_dir or FLAGS.saved_model)))
  try:
    for batch in batches(readers.read_documents(source, FLAGS.input), FLAGS.batch_size):
      for text, entities in zip(batch, tagger.entities(batch)):
        if writer:
          writer.write(text, entities)
        else:
          sink.write(json.dumps({"text": text, "entities": entities},
                                ensure_ascii=False) + "\n")
      sink.flush()
      bar.update(len(batch))
    if writer:
      writer.close()
  finally:
    bar.close()
    if source is not sys.stdin.buffer:
      source.close()
    if sink is not sys.stdout:
      sink.close()


if __name__ == "__main__":
  cli.run(main)
