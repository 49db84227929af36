r"""Input pipeline benchmark: length bucketing vs plain padded batches.

Runs both variants side by side in one process on the same sentences and prints
medians over repeats and their ratios, so the figures hold on a noisy machine.

  python bench/pipeline.py [--dataset=msra --split=train --limit=10000 --repeats=3]
"""

import statistics
import time

from absl import app
from absl import flags

from bert_mtl_ner import tokenization
from bert_mtl_ner.data import pipeline
from bert_mtl_ner.data import registry
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.data import vocab as vocab_lib

flags.DEFINE_string("dataset", "msra", "Registered dataset.")
flags.DEFINE_string("split", "train", "Split.")
flags.DEFINE_string("data_dir", None, "Data folder.")
flags.DEFINE_string("vocab_file", vocab_lib.DEFAULT_CHAR_VOCAB, "Vocabulary.")
flags.DEFINE_integer("limit", 10000, "Sentences used.")
flags.DEFINE_integer("batch_size", 32, "Batch size.")
flags.DEFINE_integer("max_seq_len", 150, "Tokens per row, specials included.")
flags.DEFINE_integer("repeats", 3, "Passes per variant.")
FLAGS = flags.FLAGS


def _measure(dataset):
  start = time.perf_counter()
  real = total = 0
  for batch in dataset:
    mask = batch["attention_mask"].numpy()
    real += int(mask.sum())
    total += mask.size
  return time.perf_counter() - start, 1 - real / total


def main(argv):
  del argv
  sentences = []
  for sentence in registry.read_split(FLAGS.dataset, FLAGS.split,
                                      FLAGS.data_dir):
    sentences.append(sentence)
    if len(sentences) == FLAGS.limit:
      break
  tok = tokenization.CharTokenizer.from_vocab_file(FLAGS.vocab_file)
  labels = tags_lib.label_list(tags_lib.entity_types(s.tags for s in sentences))
  corpus = pipeline.encode(sentences, tok, {t: i for i, t in enumerate(labels)},
                           FLAGS.max_seq_len)
  variants = {
      "bucketed": dict(bucket_boundaries=pipeline.DEFAULT_BUCKETS),
      "padded": dict(bucket_boundaries=None),
  }
  results = {}
  for name, kwargs in variants.items():
    runs = [_measure(pipeline.make_dataset(corpus, FLAGS.batch_size,
                                           shuffle=True, seed=i, **kwargs))
            for i in range(FLAGS.repeats)]
    seconds = statistics.median(r[0] for r in runs)
    results[name] = (len(corpus) / seconds, statistics.median(r[1] for r in runs))
  fastest = max(v[0] for v in results.values())
  print(f"{FLAGS.dataset}:{FLAGS.split}, {len(corpus)} sentences, batch "
        f"{FLAGS.batch_size}, median of {FLAGS.repeats}")
  print(f"{'variant':10s} {'sentences/s':>12s} {'vs fastest':>10s} "
        f"{'padding share':>14s}")
  for name, (rate, pad) in results.items():
    print(f"{name:10s} {rate:12.0f} {rate / fastest:10.2f} {pad:14.1%}")
  ratio = results["padded"][1] / max(results["bucketed"][1], 1e-9)
  print(f"padding: plain batches carry {ratio:.1f}x the padding of bucketed ones")


if __name__ == "__main__":
  app.run(main)
