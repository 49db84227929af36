"""The training loop: weighted CRF loss, two optimizers, checkpoints each epoch,
resume, early stopping on dev entity F1, TensorBoard, a progress bar.

Resuming is exact: the data order of epoch ``e`` depends only on ``seed + e``, and
every random generator of the model (dropout) is a variable saved in the epoch
checkpoint, so a run killed mid-epoch and resumed from ``--model_dir`` retraces the
uninterrupted run and ends with the same metrics.
"""

import dataclasses
import json
import os
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import tensorflow as tf

from bert_mtl_ner import run_dir
from bert_mtl_ner.data import pipeline
from bert_mtl_ner.io_utils import atomic_write_text
from bert_mtl_ner.keras import keras
from bert_mtl_ner.training import loss as loss_lib
from bert_mtl_ner.training import optimization

Evaluate = Callable[[], Dict]


@dataclasses.dataclass
class TrainConfig:
  """Loop settings.

  Attributes:
    epochs: the most epochs.
    batch_size: sentences per step.
    patience: epochs without a better dev F1 before stopping (0: never stop).
    seed: data order and initialisation seed.
    log_every: steps between TensorBoard step summaries.
    optimizer: learning rates and schedule.
    progress: show a progress bar.
  """
  epochs: int = 50
  batch_size: int = 32
  patience: int = 5
  seed: int = 42
  log_every: int = 50
  optimizer: optimization.OptimizerConfig = dataclasses.field(
      default_factory=optimization.OptimizerConfig)
  progress: bool = True


class Trainer:
  """Trains one model of ``bert_mtl_ner.models`` on one encoded corpus.

  Args:
    model: the model (its CRF layer is named ``crf``).
    config: loop settings.
    model_dir: where checkpoints, best weights, metrics and summaries go.
    evaluate: returns dev scores (``evaluation.score`` format) for the model as
      it is now.
  """

  def __init__(self, model: keras.Model, config: TrainConfig, model_dir: str,
               evaluate: Evaluate):
    self.model = model
    self.config = config
    self.model_dir = model_dir
    self.evaluate = evaluate
    self.crf = model.get_layer("crf")
    self.emission_model = keras.Model(model.input,
                                      model.get_layer("emissions").output)
    self.optimizer, self.bert_optimizer = optimization.make_optimizers(
        config.optimizer)
    bert_vars = (model.get_layer("bert_encoder").trainable_variables
                 if "bert_encoder" in [l.name for l in model.layers] else [])
    self.variables = model.trainable_variables
    self.task_index, self.bert_index = optimization.split_variables(
        self.variables, bert_vars)
    self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    self.best_f1 = tf.Variable(-1.0, dtype=tf.float64, trainable=False)
    self.bad_epochs = tf.Variable(0, dtype=tf.int64, trainable=False)
    self.checkpoint = tf.train.Checkpoint(
        model=model, optimizer=self.optimizer,
        bert_optimizer=self.bert_optimizer, epoch=self.epoch,
        best_f1=self.best_f1, bad_epochs=self.bad_epochs)
    self.manager = tf.train.CheckpointManager(
        self.checkpoint, os.path.join(model_dir, "checkpoints"), max_to_keep=2)
    self.writer = tf.summary.create_file_writer(
        os.path.join(model_dir, "tensorboard"))
    self._train_step = tf.function(self._step, reduce_retracing=True)

  def _step(self, batch):
    with tf.GradientTape() as tape:
      emissions = self.emission_model(
          {"input_ids": batch["input_ids"],
           "attention_mask": batch["attention_mask"]}, training=True)
      loss = loss_lib.weighted_crf_loss(
          self.crf, emissions, batch["labels"], batch["attention_mask"],
          batch["sample_weight"])
      total = loss + tf.add_n(self.model.losses) if self.model.losses else loss
    grads = tape.gradient(total, self.variables)
    grads = [g if g is not None else tf.zeros_like(v)
             for g, v in zip(grads, self.variables)]
    norm = tf.linalg.global_norm(grads)
    if self.config.optimizer.clip_norm > 0:
      grads, _ = tf.clip_by_global_norm(grads, self.config.optimizer.clip_norm,
                                        use_norm=norm)
    for optimizer, index in ((self.optimizer, self.task_index),
                             (self.bert_optimizer, self.bert_index)):
      if index:
        optimizer.apply_gradients([(grads[i], self.variables[i])
                                   for i in index])
    return loss, norm

  def _metrics_path(self) -> str:
    return os.path.join(self.model_dir, "metrics.jsonl")

  def _read_metrics(self, upto: int) -> List[Dict]:
    path = self._metrics_path()
    if not os.path.exists(path):
      return []
    with open(path, encoding="utf-8") as stream:
      rows = [json.loads(line) for line in stream if line.strip()]
    return [r for r in rows if r["epoch"] <= upto]

  def restore(self) -> int:
    """Restores the latest epoch checkpoint, if any; returns epochs done."""
    latest = self.manager.latest_checkpoint
    if latest:
      self.checkpoint.restore(latest).assert_existing_objects_matched()
    return int(self.epoch.numpy())

  def fit(self, corpus: pipeline.EncodedCorpus) -> List[Dict]:
    """Trains until ``epochs`` or early stopping; resumes from ``model_dir``.

    Returns:
      The metrics of every epoch (also in ``metrics.jsonl``).
    """
    done = self.restore()
    history = self._read_metrics(done)
    steps = pipeline.num_batches(corpus, self.config.batch_size)
    for epoch in range(done + 1, self.config.epochs + 1):
      if self._stopped():
        break
      dataset = pipeline.make_dataset(corpus, self.config.batch_size,
                                      shuffle=True,
                                      seed=self.config.seed + epoch)
      record = self._run_epoch(epoch, dataset, steps, len(corpus))
      history.append(record)
      atomic_write_text(self._metrics_path(), "".join(
          json.dumps(r, ensure_ascii=False) + "\n" for r in history))
      self.manager.save(checkpoint_number=epoch)
    return history

  def _stopped(self) -> bool:
    patience = self.config.patience
    return patience > 0 and int(self.bad_epochs.numpy()) >= patience

  def _run_epoch(self, epoch: int, dataset, steps: int, examples: int) -> Dict:
    bar = keras.utils.Progbar(steps, stateful_metrics=["loss", "examples/s"],
                              verbose=1 if self.config.progress else 0)
    start = time.time()
    seen = 0
    losses = []
    for step, batch in enumerate(dataset, 1):
      loss, norm = self._train_step(batch)
      seen += int(batch["input_ids"].shape[0])
      losses.append(float(loss))
      global_step = self.optimizer.iterations
      if step % self.config.log_every == 0:
        with self.writer.as_default(step=int(global_step)):
          tf.summary.scalar("train/loss", loss)
          tf.summary.scalar("train/grad_norm", norm)
          tf.summary.scalar("train/learning_rate", self.optimizer.learning_rate)
          if self.bert_index:
            tf.summary.scalar("train/bert_learning_rate",
                              self.bert_optimizer.learning_rate)
      bar.update(step, [("loss", float(loss)),
                                    ("examples/s", seen / (time.time() - start))])
    train_seconds = time.time() - start
    scores = self.evaluate()
    record = {"epoch": epoch, "train_loss": float(np.mean(losses)),
              "train_seconds": round(train_seconds, 2),
              "examples_per_second": round(examples / train_seconds, 1),
              "dev": scores}
    improved = scores["f1"] > float(self.best_f1.numpy())
    if improved:
      self.best_f1.assign(scores["f1"])
      self.bad_epochs.assign(0)
      run_dir.save_best(self.model_dir, self.model,
                        {"epoch": epoch, "dev_f1": scores["f1"]})
    else:
      self.bad_epochs.assign_add(1)
    self.epoch.assign(epoch)
    record["best"] = improved
    self._summarise_epoch(epoch, record)
    if self.config.progress:
      print(f"epoch {epoch}: loss {record['train_loss']:.4f}, dev P/R/F1 "
            f"{scores['precision']:.2f}/{scores['recall']:.2f}/"
            f"{scores['f1']:.2f}{' (best)' if improved else ''}", flush=True)
    return record

  def _summarise_epoch(self, epoch: int, record: Dict) -> None:
    dev = record["dev"]
    with self.writer.as_default(step=epoch):
      tf.summary.scalar("epoch/train_loss", record["train_loss"])
      for key in ("precision", "recall", "f1", "macro_f1"):
        tf.summary.scalar(f"dev/{key}", dev[key])
      for name, row in dev["per_type"].items():
        for key in ("precision", "recall", "f1"):
          tf.summary.scalar(f"dev_{name}/{key}", row[key])
      transitions = self.crf.transitions
      low, high = tf.reduce_min(transitions), tf.reduce_max(transitions)
      image = (transitions - low) / tf.maximum(high - low, 1e-6)
      tf.summary.image("crf/transitions", image[None, :, :, None])
    self.writer.flush()
