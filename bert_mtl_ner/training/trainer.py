"""The training loop: weighted CRF loss, two optimizers, checkpoints each epoch,
resume, early stopping on dev entity F1, TensorBoard, a progress bar.

One loop serves single- and multi-task training. A ``Task`` is a corpus and the
names of the emission and CRF layers that score it. With several tasks each batch
comes from one task, picked by ``schedule``: ``proportional`` (probability in
proportion to the task's size), ``temperature`` (to size^(1/T)) or
``round_robin``; an epoch is as many steps as one pass over the main task (the
first) takes in expectation. Early stopping looks at the main task's dev F1.

Resuming is exact: the data order of epoch ``e`` depends only on ``seed + e``, and
the state of every random generator of the model (dropout) is saved in the epoch
checkpoint beside the weights (Keras leaves it out of its own checkpoints on
purpose, see ``random_generators``), so a run killed mid-epoch and resumed from
``--model_dir`` retraces the uninterrupted run and ends with the same metrics.
"""

import dataclasses
import functools
import json
import os
import time
from typing import Callable, Dict, List, Optional, Sequence, Union

from absl import logging
import numpy as np
import tensorflow as tf

from bert_mtl_ner import run_dir
from bert_mtl_ner.data import pipeline
from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.io_utils import atomic_write_text
from bert_mtl_ner.keras import keras
from bert_mtl_ner.training import distribution
from bert_mtl_ner.training import loss as loss_lib
from bert_mtl_ner.training import names
from bert_mtl_ner.training import optimization
from bert_mtl_ner.training import precision
from bert_mtl_ner.training import summaries

Evaluate = Callable[[], Dict]
SCHEDULES = names.TASK_SCHEDULES
# One signature for every batch shape: each head's step is traced once.
BATCH_SPEC = {
    "input_ids": tf.TensorSpec([None, None], tf.int32),
    "attention_mask": tf.TensorSpec([None, None], tf.int32),
    "labels": tf.TensorSpec([None, None], tf.int32),
    "sample_weight": tf.TensorSpec([None], tf.float32),
}


@dataclasses.dataclass
class Task:
  """One task: its encoded training corpus and the layers of its head.

  Attributes:
    name: task name (for logs).
    corpus: encoded sentences with their sample weights.
    emissions: name of the layer that gives the task's emissions.
    crf: name of the task's CRF layer.
    weigh: when given, the sample weights are computed at the start of each
      epoch for the sentences that epoch draws from ``corpus``, and only for
      them: ``weigh(indices)`` maps their row indices to their weights. With
      ``aux_ratio`` an epoch draws a fraction of a large auxiliary corpus
      (``bench/reweighting.py`` measures what weighing only that saves).
  """
  name: str
  corpus: pipeline.EncodedCorpus
  emissions: str = "emissions"
  crf: str = "crf"
  weigh: Optional[Callable[[np.ndarray], np.ndarray]] = None


def task_probabilities(sizes: Sequence[int], schedule: str,
                       temperature: float = 2.0,
                       aux_ratio: float = 0.0) -> np.ndarray:
  """Sampling probability of each task under ``schedule``.

  Args:
    sizes: sentences per task, the main task first.
    schedule: one of ``SCHEDULES``.
    temperature: T of the ``temperature`` schedule.
    aux_ratio: when over 0, the other tasks together get at most this many
      batches per main-task batch (their shares among themselves unchanged):
      a cap on auxiliary batches per epoch.
  """
  sizes = np.asarray(sizes, np.float64)
  if schedule == "proportional":
    weights = sizes
  elif schedule == "temperature":
    weights = sizes ** (1.0 / temperature)
  elif schedule == "round_robin":
    weights = np.ones_like(sizes)
  else:
    raise ValueError(f"unknown schedule {schedule!r}; expected {SCHEDULES}")
  probabilities = weights / weights.sum()
  if aux_ratio > 0 and len(sizes) > 1:
    ratio = min(aux_ratio, (1 - probabilities[0]) / probabilities[0])
    others = probabilities[1:] / probabilities[1:].sum()
    probabilities = np.concatenate([[1.0], ratio * others]) / (1 + ratio)
  return probabilities


def task_order(sizes: Sequence[int], schedule: str, temperature: float,
               main_batches: int, seed: int,
               aux_ratio: float = 0.0) -> List[int]:
  """The task of every step of one epoch (task 0 is the main task).

  An epoch holds ``main_batches / p(main)`` steps, so the main task is seen about
  once; the order depends only on ``seed``. ``aux_ratio`` caps the other tasks'
  batches (``task_probabilities``).
  """
  probabilities = task_probabilities(sizes, schedule, temperature, aux_ratio)
  steps = int(np.ceil(main_batches / probabilities[0]))
  if schedule == "round_robin" and not aux_ratio:
    return [i % len(sizes) for i in range(steps)]
  return list(np.random.default_rng(seed).choice(len(sizes), size=steps,
                                                  p=probabilities))


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
    schedule: how batches are drawn from several tasks (``SCHEDULES``).
    temperature: T of the ``temperature`` schedule.
    aux_ratio: at most this many auxiliary batches per main-task batch in an
      epoch (0: no cap; see ``task_probabilities``).
    jit_compile: compile the forward and backward pass with XLA.
    mixed_precision: ``precision.POLICIES``; the model must have been built
      under that policy (``precision.set_policy``). float16 gets a dynamic loss
      scale.
  """
  epochs: int = 50
  batch_size: int = 32
  patience: int = 5
  seed: int = 42
  log_every: int = 50
  optimizer: optimization.OptimizerConfig = dataclasses.field(
      default_factory=optimization.OptimizerConfig)
  progress: bool = True
  schedule: str = "proportional"
  temperature: float = 2.0
  aux_ratio: float = 0.0
  jit_compile: bool = False
  mixed_precision: str = "none"


def steps_per_epoch(tasks: Sequence[Task], config: TrainConfig) -> int:
  """Optimizer steps in one epoch of ``tasks``."""
  main = pipeline.num_batches(tasks[0].corpus, config.batch_size)
  if len(tasks) == 1:
    return main
  return len(task_order([len(t.corpus) for t in tasks], config.schedule,
                        config.temperature, main, 0, config.aux_ratio))


def random_generators(model: keras.Model) -> Dict[str, tf.random.Generator]:
  """The ``tf.random.Generator`` of every random layer (dropout) of ``model``.

  Keras keeps these generators out of ``model.weights`` and checkpoints; a resumed
  run that does not restore them draws different dropout masks from the
  uninterrupted one. Layers nested inside other layers (BERT's dropouts) are
  included; the keys follow the layers' order, which a rebuilt model repeats.

  Args:
    model: a built model.

  Returns:
    ``{"<index>_<layer name>": generator}``, for layers whose generator exists
    (stateful RNG, see ``keras.backend.experimental.enable_tf_random_generator``).
  """
  generators = {}
  for index, layer in enumerate(model._flatten_layers(include_self=False)):  # pylint: disable=protected-access
    random = getattr(layer, "_random_generator", None)
    generator = getattr(random, "_generator", None)
    if isinstance(generator, tf.random.Generator):
      generators[f"{index}_{layer.name}"] = generator
  return generators


class Trainer:
  """Trains one model of ``bert_mtl_ner.models`` on one encoded corpus.

  Args:
    model: the model (its CRF layer is named ``crf``).
    config: loop settings.
    model_dir: where checkpoints, best weights, metrics and summaries go.
    evaluate: returns dev scores (``evaluation.score`` format) for the model as
      it is now.
    strategy: the ``tf.distribute`` strategy the model was built under (its
      ``scope()``); the trainer must be made under the same scope. None: no
      strategy.
    labels: the main task's tag names, for the axes of the transition
      heatmap in TensorBoard.
    restore_dir: where to resume from, when not ``model_dir``: a worker other
      than the chief of a multi-worker run writes a folder of its own but
      resumes from the chief's checkpoints and metrics (``cluster``).
  """

  def __init__(self, model: keras.Model, config: TrainConfig, model_dir: str,
               evaluate: Evaluate,
               strategy: Optional[tf.distribute.Strategy] = None,
               labels: Optional[Sequence[str]] = None,
               restore_dir: Optional[str] = None):
    self.model = model
    self.labels = labels
    self.config = config
    self.model_dir = model_dir
    self.restore_dir = restore_dir or model_dir
    self.evaluate = evaluate
    self.strategy = strategy or tf.distribute.get_strategy()
    self.crf = model.get_layer("crf")
    self._steps: Dict[str, Callable] = {}
    self.loss_scale = None
    if precision.needs_loss_scale(config.mixed_precision):
      if self.strategy.num_replicas_in_sync > 1:
        raise UsageError("--mixed_precision=mixed_float16 trains on one replica "
                         "only here; use mixed_bfloat16 with several")
      self.loss_scale = precision.DynamicLossScale()
    self.optimizer, self.bert_optimizer = optimization.make_optimizers(
        config.optimizer)
    bert_vars = (model.get_layer("bert_encoder").trainable_variables
                 if "bert_encoder" in [l.name for l in model.layers] else [])
    self.variables = model.trainable_variables
    self.task_index, self.bert_index = optimization.split_variables(
        self.variables, bert_vars)
    for optimizer, index in ((self.optimizer, self.task_index),
                             (self.bert_optimizer, self.bert_index)):
      if index:  # built up front: each task's step updates a subset
        optimizer.build([self.variables[i] for i in index])
    self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    self.best_f1 = tf.Variable(-1.0, dtype=tf.float64, trainable=False)
    self.bad_epochs = tf.Variable(0, dtype=tf.int64, trainable=False)
    # Epochs an earlier process trained (``fit`` resumed after them).
    self.resumed_after = 0
    self.checkpoint = tf.train.Checkpoint(
        model=model, optimizer=self.optimizer,
        bert_optimizer=self.bert_optimizer, epoch=self.epoch,
        best_f1=self.best_f1, bad_epochs=self.bad_epochs,
        random_generators=random_generators(model),
        **({"loss_scale": self.loss_scale} if self.loss_scale else {}))
    self.manager = tf.train.CheckpointManager(
        self.checkpoint, os.path.join(model_dir, "checkpoints"), max_to_keep=2)
    self.writer = tf.summary.create_file_writer(
        os.path.join(model_dir, "tensorboard"))

  def train_step(self, task: Task):
    """The compiled training step of a task's head (one per head): batch ->
    (loss, gradient norm)."""
    key = f"{task.emissions}/{task.crf}"
    if key not in self._steps:
      emission_model = keras.Model(self.model.input,
                                   self.model.get_layer(task.emissions).output)
      crf = self.model.get_layer(task.crf)
      gradients = functools.partial(self._gradients, emission_model, crf)
      if self.config.jit_compile:
        gradients = tf.function(gradients, jit_compile=True,
                                autograph=False)
      replica_step = functools.partial(self._replica_step, gradients)
      strategy = self.strategy
      if strategy.num_replicas_in_sync == 1:
        step = tf.function(replica_step, input_signature=[BATCH_SPEC],
                           autograph=False)
        self._steps[key] = lambda batch: step({k: batch[k] for k in BATCH_SPEC})
      else:
        @tf.function(reduce_retracing=True, autograph=False)
        def step(batch):
          loss, norm = strategy.run(replica_step, args=(batch,))
          return (strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None),
                  strategy.experimental_local_results(norm)[0])
        self._steps[key] = lambda batch: step(distribution.distribute(
            strategy, {k: batch[k] for k in BATCH_SPEC}))
    return self._steps[key]

  def _gradients(self, emission_model, crf, batch, denominator):
    """(this replica's share of the loss, gradients of every variable)."""
    with tf.GradientTape() as tape:
      emissions = emission_model(
          {"input_ids": batch["input_ids"],
           "attention_mask": batch["attention_mask"]}, training=True)
      loss = loss_lib.weighted_crf_loss(
          crf, emissions, batch["labels"], batch["attention_mask"],
          batch["sample_weight"], denominator)
      total = loss
      if self.model.losses:
        total += tf.add_n(self.model.losses) / tf.cast(
            tf.distribute.get_replica_context().num_replicas_in_sync,
            tf.float32)
      if self.loss_scale is not None:
        total = self.loss_scale.scale_loss(total)
    return loss, tape.gradient(total, self.variables)

  def _replica_step(self, gradients, batch):
    """One optimizer step on this replica's slice of the batch.

    The loss is the slice's weighted sum over the whole batch's size, so the
    gradients summed over replicas are those of one device's batch mean; they
    are summed before clipping, so the clip sees the same norm too.
    """
    context = tf.distribute.get_replica_context()
    size = tf.cast(tf.shape(batch["input_ids"])[0], tf.float32)
    denominator = context.all_reduce(tf.distribute.ReduceOp.SUM, size)
    loss, grads = gradients(batch, denominator)
    # Variables this task's loss does not reach (other tasks' heads) get no
    # update at all: a zero gradient would still move them through Adam's
    # moments.
    present = [i for i, g in enumerate(grads) if g is not None]
    grads = [grads[i] for i in present]
    if context.num_replicas_in_sync > 1:
      grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
    if self.loss_scale is not None:
      grads = self.loss_scale.unscale(grads)
    norm = tf.linalg.global_norm(grads)
    if self.config.optimizer.clip_norm > 0:
      grads, _ = tf.clip_by_global_norm(grads, self.config.optimizer.clip_norm,
                                        use_norm=norm)
    grads = dict(zip(present, grads))

    def apply():
      for optimizer, index in ((self.optimizer, self.task_index),
                               (self.bert_optimizer, self.bert_index)):
        pairs = [(grads[i], self.variables[i]) for i in index if i in grads]
        if pairs:
          optimizer.apply_gradients(pairs, skip_gradients_aggregation=True)
      return tf.constant(True)

    if self.loss_scale is None:
      apply()
    else:  # a step whose float16 gradients overflowed is skipped
      finite = self.loss_scale.update(list(grads.values()))
      tf.cond(finite, apply, lambda: tf.constant(False))
    return loss, norm

  def _metrics_path(self, folder: Optional[str] = None) -> str:
    return os.path.join(folder or self.model_dir, "metrics.jsonl")

  def _read_metrics(self, upto: int) -> List[Dict]:
    path = self._metrics_path(self.restore_dir)
    if not os.path.exists(path):
      return []
    with open(path, encoding="utf-8") as stream:
      rows = [json.loads(line) for line in stream if line.strip()]
    return [r for r in rows if r["epoch"] <= upto]

  def restore(self) -> int:
    """Restores the latest epoch checkpoint, if any; returns epochs done."""
    latest = tf.train.latest_checkpoint(
        os.path.join(self.restore_dir, "checkpoints"))
    if latest:
      self.checkpoint.restore(latest).assert_existing_objects_matched()
      logging.info("resumed from %s after epoch %d", latest,
                   int(self.epoch.numpy()))
    return int(self.epoch.numpy())

  def fit(self, tasks: Union[pipeline.EncodedCorpus, Sequence[Task],
                             Callable[[int], Sequence[Task]]]) -> List[Dict]:
    """Trains until ``epochs`` or early stopping; resumes from ``model_dir``.

    Args:
      tasks: one encoded corpus (single task), a list of tasks (the main task
        first), or ``epoch -> tasks`` for tasks whose sample weights or
        pseudo-labels are recomputed before every epoch.

    Returns:
      The metrics of every epoch (also in ``metrics.jsonl``).
    """
    if isinstance(tasks, pipeline.EncodedCorpus):
      tasks = [Task("main", tasks)]
    tasks_of = tasks if callable(tasks) else (lambda epoch, t=tasks: t)
    done = self.restore()
    self.resumed_after = done
    history = self._read_metrics(done)
    for epoch in range(done + 1, self.config.epochs + 1):
      if self._stopped():
        break
      record = self._run_epoch(epoch, list(tasks_of(epoch)))
      history.append(record)
      atomic_write_text(self._metrics_path(), "".join(
          json.dumps(r, ensure_ascii=False) + "\n" for r in history))
      self.manager.save(checkpoint_number=epoch)
    return history

  def _batches(self, epoch: int, tasks: Sequence[Task]):
    """(task, batch) pairs of one epoch, their count, and the tasks with the
    sample weights their ``weigh`` gave."""
    seed = self.config.seed + epoch
    size = self.config.batch_size
    if len(tasks) == 1:
      task = self._weighed(tasks[0], np.arange(len(tasks[0].corpus)))
      dataset = pipeline.make_dataset(task.corpus, size, shuffle=True,
                                      seed=seed)
      return ((task, b) for b in dataset), pipeline.num_batches(
          task.corpus, size), [task]
    tasks = list(tasks)
    order = task_order([len(t.corpus) for t in tasks], self.config.schedule,
                       self.config.temperature,
                       pipeline.num_batches(tasks[0].corpus, size), seed,
                       self.config.aux_ratio)
    counts = np.bincount(order, minlength=len(tasks))

    def dataset(i, task, with_index=False):
      return pipeline.make_dataset(task.corpus, size, shuffle=True,
                                   seed=seed + 7919 * i, repeat=True,
                                   with_index=with_index)

    # A weighed task's epoch is drawn twice from the same seed: once for the
    # row indices of the batches it will train on (to weigh only those), then
    # to train.
    for i, task in enumerate(tasks):
      if task.weigh is not None:
        drawn = [b["index"].numpy() for b in
                 dataset(i, task, with_index=True).take(int(counts[i]))]
        tasks[i] = self._weighed(task, np.concatenate(
            drawn or [np.zeros([0], np.int64)]))
    iterators = [iter(dataset(i, task)) for i, task in enumerate(tasks)]
    return ((tasks[i], next(iterators[i])) for i in order), len(order), tasks

  @staticmethod
  def _weighed(task: Task, drawn: np.ndarray) -> Task:
    """``task`` with the weights ``weigh`` gives its drawn rows; the rows this
    epoch does not draw get NaN, so a batch that was not foreseen fails loudly
    (``_check_weights``) instead of training with a made-up weight."""
    if task.weigh is None:
      return task
    drawn = np.unique(drawn)
    weights = np.full(len(task.corpus), np.nan, np.float32)
    weights[drawn] = task.weigh(drawn)
    return dataclasses.replace(task, corpus=dataclasses.replace(
        task.corpus, sample_weights=weights))

  def _stopped(self) -> bool:
    patience = self.config.patience
    return patience > 0 and int(self.bad_epochs.numpy()) >= patience

  @property
  def stopped_by(self) -> str:
    """What ended the run so far: ``early_stopping`` once dev F1 has not
    improved for ``patience`` epochs, else ``cap`` (the most epochs)."""
    return "early_stopping" if self._stopped() else "cap"

  def _run_epoch(self, epoch: int, tasks: Sequence[Task]) -> Dict:
    batches, steps, tasks = self._batches(epoch, tasks)
    bar = keras.utils.Progbar(steps, stateful_metrics=["loss", "examples/s"],
                              verbose=1 if self.config.progress else 0)
    start = time.time()
    seen = 0
    losses: Dict[str, List[float]] = {t.name: [] for t in tasks}
    for step, (task, batch) in enumerate(batches, 1):
      if task.weigh is not None:
        _check_weights(task, batch)
      loss, norm = self.train_step(task)(batch)
      seen += int(batch["input_ids"].shape[0])
      losses[task.name].append(float(loss))
      # Keyed on the global step, so epochs shorter than log_every steps
      # still log (the first step always does).
      global_step = int(self.optimizer.iterations.numpy())
      if global_step % self.config.log_every == 0 or global_step == 1:
        with self.writer.as_default(step=global_step):
          tf.summary.scalar("train/loss" if len(tasks) == 1 else
                            f"train/{task.name}_loss", loss)
          tf.summary.scalar("train/grad_norm", norm)
          tf.summary.scalar("train/learning_rate", self.optimizer.learning_rate)
          if self.bert_index:
            tf.summary.scalar("train/bert_learning_rate",
                              self.bert_optimizer.learning_rate)
      bar.update(step, [("loss", float(loss)),
                                    ("examples/s", seen / (time.time() - start))])
    train_seconds = time.time() - start
    scores = self.evaluate()
    record = {"epoch": epoch,
              "train_loss": float(np.mean(losses[tasks[0].name] or [0.0])),
              "train_seconds": round(train_seconds, 2),
              "epoch_seconds": round(time.time() - start, 2),
              "examples_per_second": round(seen / train_seconds, 1),
              "dev": scores}
    if len(tasks) > 1:
      record["task_loss"] = {k: float(np.mean(v)) if v else None
                             for k, v in losses.items()}
      record["task_batches"] = {k: len(v) for k, v in losses.items()}
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
    self._summarise_epoch(epoch, record, tasks)
    if self.config.progress:
      print(f"epoch {epoch}: loss {record['train_loss']:.4f}, dev P/R/F1 "
            f"{scores['precision']:.2f}/{scores['recall']:.2f}/"
            f"{scores['f1']:.2f}{' (best)' if improved else ''}", flush=True)
    return record

  def _summarise_epoch(self, epoch: int, record: Dict,
                       tasks: Sequence[Task]) -> None:
    dev = record["dev"]
    with self.writer.as_default(step=epoch):
      for task in tasks:
        weights = task.corpus.sample_weights
        tf.summary.histogram(f"sample_weight/{task.name}",
                             weights[np.isfinite(weights)])
      tf.summary.scalar("epoch/train_loss", record["train_loss"])
      for task, value in (record.get("task_loss") or {}).items():
        if value is not None:
          tf.summary.scalar(f"epoch/{task}_loss", value)
      for key in ("precision", "recall", "f1", "macro_f1"):
        tf.summary.scalar(f"dev/{key}", dev[key])
      for name, row in dev["per_type"].items():
        for key in ("precision", "recall", "f1"):
          tf.summary.scalar(f"dev_{name}/{key}", row[key])
      tf.summary.image("crf/transitions", summaries.transition_heatmap(
          self.crf.transitions.numpy(), self.labels))
    self.writer.flush()


def _check_weights(task: Task, batch: Dict[str, tf.Tensor]) -> None:
  """Raises if a batch of a weighed task holds a row its epoch did not weigh."""
  if not np.all(np.isfinite(batch["sample_weight"].numpy())):
    raise RuntimeError(
        f"task {task.name!r}: a batch holds sentences that were not weighed for "
        "this epoch; the replayed draw of its batches differs from the one "
        "trained on")
