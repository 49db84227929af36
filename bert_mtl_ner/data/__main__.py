r"""The data command: corpus statistics, download, overlap, MSRA split, vocabulary.

Usage:
  python -m bert_mtl_ner.data --action=stats --data_dir=DIR [--format=table|json]
  python -m bert_mtl_ner.data --action=stats --files=a.txt,b.json [--file_format=...]
  python -m bert_mtl_ner.data --action=download --data_dir=DIR
  python -m bert_mtl_ner.data --action=overlap --data_dir=DIR [--format=json]
  python -m bert_mtl_ner.data --action=split --output=DIR   # MSRA split, pair format
  python -m bert_mtl_ner.data --action=vocab --output=bert_mtl_ner/vocab/chars.txt
  python -m bert_mtl_ner.data --action=vectors --output=runs/char_vectors.txt

With ``--format=json`` the result is one JSON object on stdout and nothing else;
warnings and progress go to stderr.
"""

import json
import os
import sys

from absl import flags

from bert_mtl_ner import cli
from bert_mtl_ner import progress as progress_lib
from bert_mtl_ner import tokenization
from bert_mtl_ner.data import download as download_lib
from bert_mtl_ner.data import overlap as overlap_lib
from bert_mtl_ner.data import readers
from bert_mtl_ner.data import registry
from bert_mtl_ner.data import stats as stats_lib
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.data import char_vectors as vectors_lib
from bert_mtl_ner.data import text_corpus
from bert_mtl_ner.data import vocab as vocab_lib
from bert_mtl_ner.data.records import ReadReport
from bert_mtl_ner.errors import UsageError

ACTIONS = ("stats", "download", "overlap", "split", "vocab", "vectors")

flags.DEFINE_enum("action", "stats", ACTIONS, "What to do.")
flags.DEFINE_string("data_dir", None, "Data folder; default $BERT_MTL_NER_DATA, "
                    "then ./data.")
flags.DEFINE_list("datasets", list(registry.DATASETS), "Datasets to act on.")
flags.DEFINE_enum("format", "table", ["table", "json"], "Output format.")
flags.DEFINE_list("files", [], "stats: corpus files to describe instead of the "
                  "registered datasets.")
flags.DEFINE_enum("file_format", None, list(readers.FORMATS),
                  "Format of --files; detected from the content when unset.")
flags.DEFINE_enum("tag_scheme", "bio", list(tags_lib.SCHEMES),
                  "Tag scheme of --files (converted to BIO).")
flags.DEFINE_string("output", None, "split: output folder; vocab: output file.")
flags.DEFINE_integer("min_count", 1, "vocab: least count of a kept character.")
flags.DEFINE_string("vocab_file", vocab_lib.DEFAULT_CHAR_VOCAB,
                    "vectors: the vocabulary whose tokens get vectors.")
flags.DEFINE_integer("dim", 128, "vectors: size of a character vector.")
flags.DEFINE_integer("window", 2, "vectors: co-occurrence window (characters).")
flags.DEFINE_float("timeout", 20.0, "download: seconds to wait for a server.")

progress_lib.define_flag(flags)
FLAGS = flags.FLAGS


def _emit(result, text: str) -> None:
  if FLAGS.format == "json":
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
  else:
    print(text)


def _stats() -> None:
  result = {}
  if FLAGS.files:
    for path in FLAGS.files:
      report = ReadReport()
      sentences = readers.read_file(path, FLAGS.file_format, FLAGS.tag_scheme,
                                    report)
      result.setdefault("files", {})[path] = stats_lib.compute_stats(
          sentences, report)
  else:
    data_dir = registry.resolve_data_dir(FLAGS.data_dir)
    for name in FLAGS.datasets:
      for split in registry.get_dataset(name).splits:
        report = ReadReport()
        sentences = registry.read_split(name, split, data_dir, report)
        result.setdefault(name, {})[split] = stats_lib.compute_stats(
            sentences, report)
  _emit(result, stats_lib.format_table(result))


def _overlap() -> None:
  table = overlap_lib.overlap_table(FLAGS.datasets, FLAGS.data_dir,
                                    contained=True)
  _emit(table, overlap_lib.format_overlap(table))


def _download() -> None:
  data_dir = registry.resolve_data_dir(FLAGS.data_dir)
  outcome = download_lib.download(
      [registry.get_dataset(n) for n in FLAGS.datasets], data_dir, FLAGS.timeout)
  _emit(outcome, "\n".join(f"{state:10s} {path}" for path, state in
                           outcome.items()))


def _split() -> None:
  if not FLAGS.output:
    raise UsageError("--action=split needs --output=DIR")
  data_dir = registry.resolve_data_dir(FLAGS.data_dir)
  written = {}
  for split, folder in (("train", "train"), ("dev", "val"), ("test", "test")):
    sentences = list(registry.read_split("msra", split, data_dir))
    readers.write_pair(os.path.join(FLAGS.output, folder), sentences)
    written[folder] = len(sentences)
  _emit(written, "\n".join(f"{FLAGS.output}/{k}: {v} sentences"
                           for k, v in written.items()))


def _vocab() -> None:
  if not FLAGS.output:
    raise UsageError("--action=vocab needs --output=FILE")
  data_dir = registry.resolve_data_dir(FLAGS.data_dir)
  sentences = (s for name in FLAGS.datasets
               for s in registry.read_split(name, "train", data_dir))
  tokens = vocab_lib.build_char_vocab(sentences, FLAGS.min_count)
  vocab_lib.write_vocab(FLAGS.output, tokens)
  _emit({"output": FLAGS.output, "tokens": len(tokens)},
        f"{FLAGS.output}: {len(tokens)} tokens")


def _vectors() -> None:
  if not FLAGS.output:
    raise UsageError("--action=vectors needs --output=FILE")
  data_dir = registry.resolve_data_dir(FLAGS.data_dir)
  held_out = overlap_lib.text_keys(
      overlap_lib.parse_refs(",".join(text_corpus.HELD_OUT)), data_dir)
  sentences, removed = overlap_lib.deduplicate(
      (s for ref in overlap_lib.parse_refs(",".join(vectors_lib.SOURCES))
       for s in registry.read_split(*ref, data_dir)), held_out)
  tokenizer = tokenization.CharTokenizer.from_vocab_file(FLAGS.vocab_file)
  counts = vectors_lib.cooccurrence(sentences, tokenizer, FLAGS.window,
                                    progress=FLAGS.progress)
  vectors = vectors_lib.ppmi_vectors(counts, FLAGS.dim)
  tokens = [None] * tokenizer.vocab_size
  for token, index in tokenizer.vocab.items():
    tokens[index] = token
  written = vectors_lib.write_word2vec(FLAGS.output, tokens, vectors,
                                       skip=vocab_lib.SPECIAL_TOKENS)
  result = {"output": FLAGS.output, "vectors": written, "dim": FLAGS.dim,
            "sentences": len(sentences), "removed_as_dev_or_test": removed,
            "characters": int(sum(len(s) for s in sentences))}
  _emit(result, f"{FLAGS.output}: {written} vectors of {FLAGS.dim} from "
        f"{len(sentences)} sentences ({removed} dev/test sentences removed)")


def main(argv) -> None:
  del argv
  for name in FLAGS.datasets:
    registry.get_dataset(name)
  {"stats": _stats, "download": _download, "overlap": _overlap,
   "split": _split, "vocab": _vocab, "vectors": _vectors}[FLAGS.action]()


if __name__ == "__main__":
  cli.run(main)
