r"""Training benchmark: examples/s of every model at one BERT size, side by side.

Each model takes the trainer's real step (``Trainer.train_step``: forward,
weighted CRF loss, backward, clipping, two Adams) on the same bucketed MSRA
train batches; the peer is Hugging Face ``TFBertForTokenClassification`` (softmax
head) with the same BERT, loss and optimizer. The CRF's share of the step time
is measured on ``bert_crf``: the same step with the CRF loss against one with a
softmax cross-entropy on the same emissions.

  python bench/training.py [--quick] [--output=docs/bench/training.md]
"""

import tempfile

from absl import app
from absl import flags
import tensorflow as tf

import common  # bench/common.py  # pylint: disable=g-bad-import-order

from bert_mtl_ner import tokenization  # pylint: disable=g-bad-import-order
from bert_mtl_ner.data import pipeline
from bert_mtl_ner.data import registry
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.keras import keras
from bert_mtl_ner.models import ModelConfig, build_model
from bert_mtl_ner.training import loss as loss_lib
from bert_mtl_ner.training import trainer as trainer_lib

flags.DEFINE_bool("quick", False, "Fewer steps (minutes).")
flags.DEFINE_integer("steps", 30, "Timed steps per model.")
flags.DEFINE_integer("batch_size", 32, "Sentences per step.")
common.define_model_flags(flags)
FLAGS = flags.FLAGS

MODELS = ("bilstm_crf", "bert_crf", "bert_bilstm_crf", "mtl")


def time_steps(step, batches) -> float:
  """Examples per second of ``step`` over ``batches`` (after one warm-up)."""
  step(batches[0])
  seconds = common.median_seconds(lambda: [step(b) for b in batches], 1, 0)
  return sum(int(b["input_ids"].shape[0]) for b in batches) / seconds


def peer_step(bert_config, num_labels):
  """A TFBertForTokenClassification step: softmax CE over real tokens, Adam."""
  from transformers import BertConfig, TFBertForTokenClassification  # pylint: disable=g-import-not-at-top
  config = BertConfig.from_dict(bert_config)
  config.num_labels = num_labels
  model = TFBertForTokenClassification(config)
  optimizer = keras.optimizers.Adam(1e-4)

  @tf.function(input_signature=[trainer_lib.BATCH_SPEC])
  def step(batch):
    with tf.GradientTape() as tape:
      logits = model(input_ids=batch["input_ids"],
                     attention_mask=batch["attention_mask"],
                     training=True).logits
      loss = _softmax_loss(logits, batch)
    grads = tape.gradient(loss, model.trainable_variables)
    grads, _ = tf.clip_by_global_norm(grads, 5.0)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss
  return lambda b: step({k: b[k] for k in trainer_lib.BATCH_SPEC})


def _softmax_loss(logits, batch):
  mask = tf.cast(batch["attention_mask"], tf.float32)
  losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
      batch["labels"], tf.cast(logits, tf.float32))
  return tf.reduce_sum(losses * mask) / tf.reduce_sum(mask)


def crf_share(model) -> tuple:
  """Steps of ``model`` with its CRF loss and with a softmax loss instead."""
  emission_model = keras.Model(model.input, model.get_layer("emissions").output)
  crf = model.get_layer("crf")
  variables = model.trainable_variables

  def make(loss_fn):
    optimizer = keras.optimizers.Adam(1e-4)

    @tf.function(input_signature=[trainer_lib.BATCH_SPEC])
    def step(batch):
      with tf.GradientTape() as tape:
        emissions = emission_model({"input_ids": batch["input_ids"],
                                    "attention_mask": batch["attention_mask"]},
                                   training=True)
        loss = loss_fn(emissions, batch)
      grads = tape.gradient(loss, variables)
      pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
      optimizer.apply_gradients(pairs)
      return loss
    return lambda b: step({k: b[k] for k in trainer_lib.BATCH_SPEC})

  with_crf = make(lambda e, b: loss_lib.weighted_crf_loss(
      crf, e, b["labels"], b["attention_mask"], b["sample_weight"]))
  with_softmax = make(_softmax_loss)
  return with_crf, with_softmax


def main(argv) -> None:
  del argv
  steps = 10 if FLAGS.quick else FLAGS.steps
  tokenizer = tokenization.CharTokenizer.from_vocab_file(FLAGS.vocab_file)
  sentences = list(registry.read_split("msra", "train", FLAGS.data_dir))
  sentences = sentences[:steps * FLAGS.batch_size * 2]
  labels = tags_lib.label_list(["LOC", "ORG", "PER"])
  corpus = pipeline.encode(sentences, tokenizer,
                           {t: i for i, t in enumerate(labels)}, 150)
  batches = list(pipeline.make_dataset(corpus, FLAGS.batch_size, shuffle=True,
                                       seed=1))[:steps]
  bert = common.bert_config(tokenizer.vocab_size, FLAGS.bert_layers,
                            FLAGS.bert_hidden)
  rates, memory = {}, {}
  for name in MODELS:
    model = build_model(ModelConfig(
        model=name, labels=labels, vocab_size=tokenizer.vocab_size,
        lstm_units=128, lstm_layers=0 if name == "bert_crf" else 1,
        bert_config=bert, main_task="msra",
        aux_labels={"peoples_daily": labels} if name == "mtl" else {}))
    trainer = trainer_lib.Trainer(
        model, trainer_lib.TrainConfig(progress=False), tempfile.mkdtemp(),
        lambda: {})
    rates[name] = time_steps(trainer.train_step(
        trainer_lib.Task("msra", corpus)), batches)
    memory[name] = common.peak_rss_mb()
    print(f"{name}: {rates[name]:.1f} examples/s", flush=True)
    if name == "bert_crf":
      with_crf, with_softmax = crf_share(model)
      crf_rate = time_steps(with_crf, batches)
      softmax_rate = time_steps(with_softmax, batches)
    keras.backend.clear_session()
  peer = "TFBertForTokenClassification (softmax)"
  rates[peer] = time_steps(peer_step(bert, len(labels)), batches)
  memory[peer] = common.peak_rss_mb()
  fastest = max(rates.values())
  lines = common.header(
      f"Training: BERT {FLAGS.bert_layers} layers hidden {FLAGS.bert_hidden}, "
      f"BiLSTM 128 units, batch {FLAGS.batch_size}, {steps} bucketed MSRA "
      "train steps")
  lines += ["| model | examples/s | ratio to fastest | vs TFBertForTokenClassification"
            " | peak RSS (MiB) |", "|---|---:|---:|---:|---:|"]
  for name, rate in rates.items():
    lines.append(f"| {name} | {rate:.1f} | {rate / fastest:.2f} | "
                 f"{rate / rates[peer]:.2f} | {memory[name]:.0f} |")
  share = 1 - crf_rate / softmax_rate
  lines += ["", f"CRF share of a bert_crf step: {100 * share:.0f}% (the same "
            f"step with a softmax loss instead of the CRF: {softmax_rate:.1f} "
            f"vs {crf_rate:.1f} examples/s). Peak RSS is the process's "
            "high-water mark after each model (it never falls)."]
  common.write_markdown(FLAGS.output, lines)


if __name__ == "__main__":
  app.run(main)
