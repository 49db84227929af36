r"""Inference benchmark: sentences/s and characters/s on MSRA test, side by side.

Variants, all on the same sentences in one process (``predict`` in a child):

  (a) the exported raw-text SavedModel, batches of sentences sorted by length
      (bucketed: little padding);
  (b) the same SavedModel, batches in corpus order (each padded to its longest
      window, mostly the full 150);
  (c) the same SavedModel, one sentence per call;
  (d) ``python -m bert_mtl_ner.predict --saved_model`` end to end (process start
      and TensorFlow import included);
  (e) Hugging Face ``TFBertForTokenClassification`` (softmax head) of the same
      BERT size, on the same sorted batches, tokenized by our tokenizer.

Speed does not depend on the weights, so the models are built untrained at the
chosen size (default: 4 layers, hidden 256, the CPU-pretraining size). The goals
(issue 5): (a) >= 2x (b), (a) >= 10x (c), and (a) within 1.25x of (e).

  python bench/inference.py [--quick] [--model=bert_bilstm_crf] [--output=docs/bench/inference.md]
"""

import json
import os
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

import common  # bench/common.py  # pylint: disable=g-bad-import-order

from bert_mtl_ner import serving  # pylint: disable=g-bad-import-order
from bert_mtl_ner import tokenization
from bert_mtl_ner.data import registry
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.models import ModelConfig, build_model

flags.DEFINE_bool("quick", False, "1000 sentences, fewer repeats (minutes).")
flags.DEFINE_integer("limit", 0, "Sentences of MSRA test (0: all 3442).")
flags.DEFINE_enum("model", "bert_bilstm_crf", ["bert_crf", "bert_bilstm_crf"],
                  "Our model.")
flags.DEFINE_integer("batch_size", 64, "Sentences per call.")
flags.DEFINE_integer("repeats", 3, "Timed passes per variant.")
common.define_model_flags(flags)
FLAGS = flags.FLAGS


def batches(texts, size):
  return [texts[i:i + size] for i in range(0, len(texts), size)]


def main(argv) -> None:
  del argv
  limit = FLAGS.limit or (1000 if FLAGS.quick else 0)
  repeats = 1 if FLAGS.quick else FLAGS.repeats
  sentences = list(registry.read_split("msra", "test", FLAGS.data_dir))
  texts = ["".join(s.chars) for s in sentences][:limit or None]
  chars = sum(len(t) for t in texts)
  tokenizer = tokenization.CharTokenizer.from_vocab_file(FLAGS.vocab_file)
  labels = tags_lib.label_list(["LOC", "ORG", "PER"])
  bert = common.bert_config(tokenizer.vocab_size, FLAGS.bert_layers,
                            FLAGS.bert_hidden)
  model = build_model(ModelConfig(
      model=FLAGS.model, labels=labels, vocab_size=tokenizer.vocab_size,
      lstm_units=128, lstm_layers=0 if FLAGS.model == "bert_crf" else 1,
      bert_config=bert))
  export_dir = os.path.join(tempfile.mkdtemp(), "export")
  serving.export(serving.ServingModule(model, tokenizer, labels, 150),
                 export_dir, labels)
  serve = tf.saved_model.load(export_dir).signatures["serving_default"]
  encode = lambda batch: tf.constant([serving.to_utf8(t) for t in batch])
  by_length = sorted(texts, key=len)
  sorted_batches = [encode(b) for b in batches(by_length, FLAGS.batch_size)]
  plain_batches = [encode(b) for b in batches(texts, FLAGS.batch_size)]
  singles = [encode([t]) for t in texts[:200 if FLAGS.quick else 500]]
  results = {}
  memory = {}

  def timed(name, calls, count, chars_count):
    seconds = common.median_seconds(lambda: [c() for c in calls], repeats)
    results[name] = (count / seconds, chars_count / seconds)
    memory[name] = common.peak_rss_mb()
    print(f"{name}: {count / seconds:.1f} sentences/s", flush=True)

  timed("(a) SavedModel, bucketed batches",
        [lambda b=b: serve(text=b) for b in sorted_batches], len(texts), chars)
  timed("(b) SavedModel, unbucketed batches",
        [lambda b=b: serve(text=b) for b in plain_batches], len(texts), chars)
  timed("(c) SavedModel, one sentence per call",
        [lambda b=b: serve(text=b) for b in singles], len(singles),
        sum(len(t) for t in texts[:len(singles)]))

  with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False,
                                   encoding="utf-8") as stream:
    stream.write("\n".join(texts) + "\n")
  start = time.perf_counter()
  subprocess.run([sys.executable, "-m", "bert_mtl_ner.predict",
                  f"--saved_model={export_dir}", f"--input={stream.name}",
                  f"--batch_size={FLAGS.batch_size}", "--output=/dev/null"],
                 check=True, cwd=common.ROOT)
  seconds = time.perf_counter() - start
  results["(d) predict end to end"] = (len(texts) / seconds, chars / seconds)

  from transformers import BertConfig, TFBertForTokenClassification  # pylint: disable=g-import-not-at-top
  config = BertConfig.from_dict(bert)
  config.num_labels = len(labels)
  peer = TFBertForTokenClassification(config)

  @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)] * 2)
  def peer_tags(ids, mask):
    return tf.argmax(peer(input_ids=ids, attention_mask=mask).logits, -1)

  def peer_call(batch):
    encoded = [tokenizer.encode(t, 150) for t in batch]
    ids = np.zeros([len(batch), max(len(e) for e in encoded)], np.int32)
    for i, e in enumerate(encoded):
      ids[i, :len(e)] = e
    return peer_tags(ids, (ids > 0).astype(np.int32)).numpy()

  timed("(e) TFBertForTokenClassification (softmax), bucketed",
        [lambda b=b: peer_call(b) for b in batches(by_length,
                                                   FLAGS.batch_size)],
        len(texts), chars)

  fastest = max(r[0] for r in results.values())
  lines = common.header(
      f"Inference: {FLAGS.model}, BERT {FLAGS.bert_layers} layers hidden "
      f"{FLAGS.bert_hidden}, {len(texts)} MSRA test sentences, batch "
      f"{FLAGS.batch_size}")
  lines += ["| variant | sentences/s | characters/s | ratio to fastest | "
            "peak RSS (MiB) |", "|---|---:|---:|---:|---:|"]
  for name, (per_s, chars_s) in results.items():
    lines.append(f"| {name} | {per_s:.1f} | {chars_s:.0f} | "
                 f"{per_s / fastest:.2f} | {memory.get(name, float('nan')):.0f} |")
  rate = {name[:3]: value[0] for name, value in results.items()}
  goals = [("(a) / (b) >= 2", rate["(a)"] / rate["(b)"], lambda r: r >= 2),
           ("(a) / (c) >= 10", rate["(a)"] / rate["(c)"], lambda r: r >= 10),
           ("(e) / (a) <= 1.25", rate["(e)"] / rate["(a)"], lambda r: r <= 1.25)]
  lines += ["", "| goal | measured | met |", "|---|---:|---|"]
  for name, value, met in goals:
    lines.append(f"| {name} | {value:.2f} | {'yes' if met(value) else 'no'} |")
  lines.append("")
  lines.append("(d) includes starting Python and importing TensorFlow. Peak "
               "RSS is the process's high-water mark after each variant "
               "(it never falls).")
  common.write_markdown(FLAGS.output, lines)
  print(json.dumps({k: v[0] for k, v in results.items()}))


if __name__ == "__main__":
  app.run(main)
