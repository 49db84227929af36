r"""LSTM benchmark: Keras's LSTM (its cuDNN variant traced beside the standard
kernel) against ours without it (``layers.lstm``), side by side on this CPU.

For each model and variant, in one process, alternating which goes first: the
seconds of the trainer's first step (tracing included) and its examples/s after
it; the seconds of the ``Tagger``'s first batch through its traced graphs
(``warm_up``) and its characters/s after it. The two variants start from the
same weights and must give the same losses, step for step (checked: the run
fails otherwise). What a user feels is the first-call seconds, paid by every
process (``train``, ``predict``, ``evaluate``, ``serve`` start); the steady
rates must not fall.

The Keras variant is built by telling ``layers.lstm`` that a GPU is visible,
which is what makes Keras trace the cuDNN function.

  python bench/lstm_trace.py [--quick] [--output=docs/bench/lstm_trace.md]
"""

import statistics
import tempfile
import time
from unittest import mock

from absl import app
from absl import flags
import numpy as np

import common  # bench/common.py  # pylint: disable=g-bad-import-order

from bert_mtl_ner import inference  # pylint: disable=g-bad-import-order
from bert_mtl_ner import tokenization
from bert_mtl_ner.data import pipeline
from bert_mtl_ner.data import registry
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.keras import keras
from bert_mtl_ner.layers import lstm as lstm_lib
from bert_mtl_ner.models import ModelConfig, build_model
from bert_mtl_ner.training import trainer as trainer_lib

flags.DEFINE_bool("quick", False, "2 repeats of 5 steps.")
flags.DEFINE_integer("repeats", 3, "Builds of each model and variant.")
flags.DEFINE_integer("steps", 10, "Timed training steps after the first.")
flags.DEFINE_integer("batch_size", 32, "Sentences per step and per batch.")
common.define_model_flags(flags)
FLAGS = flags.FLAGS

MODELS = ("bilstm_crf", "bert_bilstm_crf")
VARIANTS = ("Keras LSTM (cuDNN variant traced)", "ours (standard kernel only)")


def build(name: str, keras_variant: bool, labels, vocab_size: int):
  with mock.patch.object(lstm_lib, "gpu_visible", return_value=keras_variant):
    return build_model(ModelConfig(
        model=name, labels=labels, vocab_size=vocab_size, lstm_units=128,
        bert_config=common.bert_config(vocab_size, FLAGS.bert_layers,
                                       FLAGS.bert_hidden)
        if name != "bilstm_crf" else None))


def measure(model, corpus, batches, texts, tokenizer, labels):
  """First-step seconds, examples/s, losses; first-batch seconds, chars/s."""
  trainer = trainer_lib.Trainer(
      model, trainer_lib.TrainConfig(progress=False), tempfile.mkdtemp(),
      lambda: {})
  step = trainer.train_step(trainer_lib.Task("msra", corpus))
  start = time.perf_counter()
  losses = [float(step(batches[0])[0])]
  first_step = time.perf_counter() - start
  start = time.perf_counter()
  losses += [float(step(b)[0]) for b in batches[1:]]
  rate = sum(int(b["input_ids"].shape[0]) for b in batches[1:]) / (
      time.perf_counter() - start)
  tagger = inference.Tagger(model, tokenizer, labels, 150,
                            batch_size=FLAGS.batch_size)
  start = time.perf_counter()
  tagger.warm_up(texts[:FLAGS.batch_size])
  first_batch = time.perf_counter() - start
  start = time.perf_counter()
  for begin in range(0, len(texts), FLAGS.batch_size):
    tagger.entities(texts[begin:begin + FLAGS.batch_size])
  chars = sum(map(len, texts)) / (time.perf_counter() - start)
  return {"first_step": first_step, "rate": rate, "losses": losses,
          "first_batch": first_batch, "chars": chars}


def main(argv) -> None:
  del argv
  repeats = 2 if FLAGS.quick else FLAGS.repeats
  steps = 5 if FLAGS.quick else FLAGS.steps
  tokenizer = tokenization.CharTokenizer.from_vocab_file(FLAGS.vocab_file)
  labels = tags_lib.label_list(["LOC", "ORG", "PER"])
  sentences = list(registry.read_split("msra", "train", FLAGS.data_dir))[
      :(steps + 1) * FLAGS.batch_size * 2]
  corpus = pipeline.encode(sentences, tokenizer,
                           {t: i for i, t in enumerate(labels)}, 150)
  batches = list(pipeline.make_dataset(corpus, FLAGS.batch_size, shuffle=True,
                                       seed=1))[:steps + 1]
  texts = ["".join(s.chars) for s in registry.read_split(
      "msra", "test", FLAGS.data_dir)][:8 * FLAGS.batch_size]
  results = {(m, v): [] for m in MODELS for v in VARIANTS}
  for name in MODELS:
    weights = None
    for repeat in range(repeats):
      order = VARIANTS if repeat % 2 == 0 else VARIANTS[::-1]
      for variant in order:
        keras.backend.clear_session()
        keras.utils.set_random_seed(1)  # the same dropout masks
        model = build(name, variant == VARIANTS[0], labels,
                      tokenizer.vocab_size)
        if weights is None:
          weights = model.get_weights()
        model.set_weights(weights)
        results[name, variant].append(
            measure(model, corpus, batches, texts, tokenizer, labels))
        print(name, variant, {k: v for k, v in results[name, variant][-1]
                              .items() if k != "losses"}, flush=True)
    runs = [r for v in VARIANTS for r in results[name, v]]
    for run in runs[1:]:
      if not np.array_equal(run["losses"], runs[0]["losses"]):
        raise SystemExit(f"{name}: the variants' losses differ: "
                         f"{run['losses']} against {runs[0]['losses']}")
  median = lambda name, variant, key: statistics.median(
      r[key] for r in results[name, variant])
  lines = common.header(
      f"LSTM: Keras's against ours without the cuDNN variant, BiLSTM 128 "
      f"units, BERT {FLAGS.bert_layers} layers hidden {FLAGS.bert_hidden}, "
      f"batch {FLAGS.batch_size}, medians of {repeats} builds")
  lines += ["| model | LSTM | first step (s) | examples/s after | first "
            "tagged batch (s) | chars/s after |", "|---|---|---:|---:|---:|---:|"]
  for name in MODELS:
    for variant in VARIANTS:
      lines.append(
          f"| {name} | {variant} | {median(name, variant, 'first_step'):.2f} | "
          f"{median(name, variant, 'rate'):.1f} | "
          f"{median(name, variant, 'first_batch'):.2f} | "
          f"{median(name, variant, 'chars'):.0f} |")
  lines.append("")
  for name in MODELS:
    ratio = lambda key: median(name, VARIANTS[1], key) / median(
        name, VARIANTS[0], key)
    lines.append(
        f"{name}, ours over Keras's: first step {ratio('first_step'):.2f}x the "
        f"seconds, first tagged batch {ratio('first_batch'):.2f}x; "
        f"examples/s {ratio('rate'):.2f}x, chars/s {ratio('chars'):.2f}x. "
        f"The same losses at each of the {steps + 1} steps of every build.")
  common.write_markdown(FLAGS.output, lines)


if __name__ == "__main__":
  app.run(main)
