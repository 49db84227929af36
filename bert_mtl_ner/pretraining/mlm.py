"""Masked-language-model pretraining of a BERT encoder.

The model is ``transformers.TFBertForMaskedLM``, so what is written is the
Hugging Face directory format (``config.json``, ``tf_model.h5``) that
``--bert_model=DIR`` loads in every other command (the MLM head is dropped
there). The loss is computed at the masked positions only: the encoder's states
are gathered there before the output projection, which saves a
[batch, time, vocab] logit tensor per step.

``MlmTrainer.fit`` trains for ``train_steps`` optimizer steps, saves a checkpoint
every ``checkpoint_every`` steps and resumes from the last one. Batch ``s`` is a
pure function of the seed and ``s`` (rows shuffled per pass over the data, masks
drawn from a generator seeded with ``(seed, s)``), so a resumed run sees the
batches an uninterrupted one would have seen; the dropout generators are saved
with the checkpoint too.
"""

import dataclasses
import json
import os
import shutil
import time
from typing import Dict, Optional

from absl import logging
import numpy as np
import tensorflow as tf

from bert_mtl_ner.io_utils import atomic_write_text
from bert_mtl_ner.io_utils import staging_dir
from bert_mtl_ner.keras import keras
from bert_mtl_ner.layers import bert_encoder
from bert_mtl_ner.pretraining import masking
from bert_mtl_ner.pretraining.config import HF_FILES
from bert_mtl_ner.training.optimization import WarmupLinearDecay
from bert_mtl_ner.training.trainer import random_generators


_DROPOUTS = ("hidden_dropout_prob", "attention_probs_dropout_prob")


def build_model(bert_config: Optional[Dict] = None,
                init_checkpoint: Optional[str] = None, from_pt: bool = False,
                dropout: Optional[float] = None):
  """A ``TFBertForMaskedLM``, random from ``bert_config`` or loaded.

  Args:
    bert_config: a ``BertConfig`` as a dict (random init).
    init_checkpoint: a Hugging Face BERT directory to continue from.
    from_pt: its weights are ``pytorch_model.bin`` (see ``resolve_bert``).
    dropout: hidden and attention dropout while training (default: the
      config's); ``export`` writes the config's own rates back.

  Returns:
    The built model.
  """
  from transformers import BertConfig, TFBertForMaskedLM  # pylint: disable=g-import-not-at-top
  config = (BertConfig.from_pretrained(init_checkpoint) if init_checkpoint
            else BertConfig(**bert_config))
  finetune_rates = {name: getattr(config, name) for name in _DROPOUTS}
  if dropout is not None:
    for name in _DROPOUTS:
      setattr(config, name, dropout)
  model = (bert_encoder.from_pretrained(TFBertForMaskedLM, init_checkpoint,
                                        config=config, from_pt=from_pt)
           if init_checkpoint else TFBertForMaskedLM(config))
  model.finetune_dropout = finetune_rates
  dummy = tf.constant([[1, 2]], tf.int32)
  model(input_ids=dummy, attention_mask=tf.ones_like(dummy))  # builds weights
  return model


def masked_lm_outputs(model, batch: Dict[str, tf.Tensor], training: bool):
  """(mean cross-entropy, accuracy) over the batch's real targets."""
  states = model.bert(input_ids=batch["input_ids"],
                      attention_mask=batch["attention_mask"],
                      training=training)[0]
  gathered = tf.gather(states, batch["positions"], batch_dims=1)
  logits = tf.cast(model.mlm(gathered), tf.float32)
  weights = batch["weights"]
  losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=batch["labels"], logits=logits)
  total = tf.maximum(tf.reduce_sum(weights), 1.0)
  correct = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32),
                             batch["labels"]), tf.float32)
  return (tf.reduce_sum(losses * weights) / total,
          tf.reduce_sum(correct * weights) / total)


_SPEC = {
    "input_ids": tf.TensorSpec([None, None], tf.int32),
    "attention_mask": tf.TensorSpec([None, None], tf.int32),
    "positions": tf.TensorSpec([None, None], tf.int32),
    "labels": tf.TensorSpec([None, None], tf.int32),
    "weights": tf.TensorSpec([None, None], tf.float32),
}


@dataclasses.dataclass
class MlmConfig:
  """Attributes: see ``PretrainRun`` (the flags of the same names)."""
  train_steps: int = 1000
  batch_size: int = 64
  learning_rate: float = 5e-4
  warmup_ratio: float = 0.06
  weight_decay: float = 0.01
  clip_norm: float = 1.0
  masking: str = "word"
  mask_rate: float = 0.15
  seed: int = 1
  max_minutes: float = 0.0
  checkpoint_every: int = 200
  log_every: int = 20
  progress: bool = True


class MlmTrainer:
  """Trains ``model`` on packed ``rows`` (see the module docstring).

  Args:
    model: a ``TFBertForMaskedLM`` (``build_model``).
    rows: the packed, unmasked training rows.
    mask_id: the ``[MASK]`` id.
    replacements: ids for random replacement (``masking.replacement_ids``).
    config: the run's settings.
    work_dir: checkpoints/ and tensorboard/ go here.
  """

  def __init__(self, model, rows: masking.PackedRows, mask_id: int,
               replacements: np.ndarray, config: MlmConfig, work_dir: str):
    self.model = model
    self.rows = rows
    self.mask_id = mask_id
    self.replacements = replacements
    self.config = config
    self.schedule = WarmupLinearDecay(
        config.learning_rate, config.train_steps,
        int(config.train_steps * config.warmup_ratio))
    self.optimizer = keras.optimizers.AdamW(
        self.schedule, weight_decay=config.weight_decay,
        global_clipnorm=config.clip_norm or None)
    self.optimizer.exclude_from_weight_decay(var_names=["LayerNorm", "bias"])
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    self.checkpoint = tf.train.Checkpoint(
        model=model, optimizer=self.optimizer, step=self.step,
        random_generators=random_generators(model))
    self.manager = tf.train.CheckpointManager(
        self.checkpoint, os.path.join(work_dir, "checkpoints"), max_to_keep=2)
    self.writer = tf.summary.create_file_writer(
        os.path.join(work_dir, "tensorboard"))
    self._train_step = tf.function(self._step, input_signature=[_SPEC],
                                   autograph=False)

  def _step(self, batch):
    with tf.GradientTape() as tape:
      loss, accuracy = masked_lm_outputs(self.model, batch, training=True)
    variables = self.model.trainable_variables
    self.optimizer.apply_gradients(zip(tape.gradient(loss, variables),
                                       variables))
    return loss, accuracy

  def batch(self, step: int) -> Dict[str, np.ndarray]:
    """The masked batch of step ``step`` (0-based): a function of seed and step."""
    size, count = self.config.batch_size, len(self.rows.lengths)
    first = step * size
    index = []
    while len(index) < size:
      epoch, offset = divmod(first + len(index), count)
      order = np.random.default_rng([self.config.seed, epoch]).permutation(count)
      index.extend(order[offset:offset + size - len(index)])
    return masking.mask_batch(
        self.rows, index, self.config.masking,
        np.random.default_rng([self.config.seed, 1_000_003, step]),
        self.mask_id, self.replacements, self.config.mask_rate)

  def restore(self) -> int:
    """Restores the last checkpoint, if any; returns the steps done."""
    latest = self.manager.latest_checkpoint
    if latest:
      self.checkpoint.restore(latest).assert_existing_objects_matched()
      logging.info("resumed from %s at step %d", latest, int(self.step.numpy()))
    return int(self.step.numpy())

  def fit(self) -> Dict:
    """Trains to ``train_steps`` (or ``max_minutes``); returns a summary."""
    config = self.config
    done = self.restore()
    start = time.time()
    bar = keras.utils.Progbar(config.train_steps, verbose=int(config.progress),
                              stateful_metrics=["loss", "accuracy"])
    losses, accuracies = [], []
    stopped_early = False
    for step in range(done, config.train_steps):
      batch = {k: tf.constant(v) for k, v in self.batch(step).items()}
      loss, accuracy = (float(x) for x in self._train_step(batch))
      self.step.assign(step + 1)
      losses.append(loss)
      accuracies.append(accuracy)
      if (step + 1) % config.log_every == 0:
        with self.writer.as_default(step=step + 1):
          tf.summary.scalar("mlm/loss", np.mean(losses[-config.log_every:]))
          tf.summary.scalar("mlm/masked_accuracy",
                            np.mean(accuracies[-config.log_every:]))
          tf.summary.scalar("learning_rate", self.schedule(step))
      bar.update(step + 1, [("loss", loss), ("accuracy", accuracy)])
      if (step + 1) % config.checkpoint_every == 0:
        self.manager.save(checkpoint_number=step + 1)
      if config.max_minutes and time.time() - start > 60 * config.max_minutes:
        stopped_early = True
        break
    steps = int(self.step.numpy())
    if steps > done:
      self.manager.save(checkpoint_number=steps)
    tail = max(1, min(len(losses), config.log_every * 5))
    return {"steps": steps, "resumed_at": done, "stopped_early": stopped_early,
            "seconds": round(time.time() - start, 1),
            "final_loss": float(np.mean(losses[-tail:])) if losses else None,
            "final_masked_accuracy": (float(np.mean(accuracies[-tail:]))
                                      if accuracies else None)}


def export(model, vocab_file: str, output_dir: str, summary: Dict) -> None:
  """Writes the Hugging Face files into ``output_dir``, each replaced in one
  step (a reader sees the old file or the new one), then ``pretraining.json``.

  The config keeps the dropout rates the model was built with before any
  pretraining-only ``dropout`` (see ``build_model``).
  """
  staging = staging_dir(os.path.join(output_dir, "tf_model.h5"))
  for name, rate in getattr(model, "finetune_dropout", {}).items():
    setattr(model.config, name, rate)
  try:
    model.save_pretrained(staging)
    shutil.copyfile(vocab_file, os.path.join(staging, "vocab.txt"))
    for name in HF_FILES:
      os.replace(os.path.join(staging, name), os.path.join(output_dir, name))
  finally:
    shutil.rmtree(staging, ignore_errors=True)
  atomic_write_text(os.path.join(output_dir, "pretraining.json"),
                    json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
