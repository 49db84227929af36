"""Adam with linear warmup, then linear decay or a constant rate; a smaller rate
for BERT's weights."""

import dataclasses
from typing import List, Sequence, Tuple

import tensorflow as tf

from bert_mtl_ner.keras import keras
from bert_mtl_ner.training import names


SCHEDULES = names.LR_SCHEDULES


@keras.utils.register_keras_serializable(package="bert_mtl_ner")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
  """Rises linearly from 0 to ``peak`` over ``warmup_steps``, then falls linearly
  to 0 at ``total_steps`` (or, without ``decay``, stays at ``peak``).

  Args:
    peak: the highest learning rate.
    total_steps: steps of the whole run.
    warmup_steps: steps of the rise.
    decay: fall after the warmup.
  """

  def __init__(self, peak: float, total_steps: int, warmup_steps: int,
               decay: bool = True):
    super().__init__()
    self.peak = float(peak)
    self.total_steps = max(int(total_steps), 1)
    self.warmup_steps = int(warmup_steps)
    self.decay = bool(decay)

  def __call__(self, step):
    step = tf.cast(step, tf.float32)
    warm = tf.cast(max(self.warmup_steps, 1), tf.float32)
    total = tf.cast(self.total_steps, tf.float32)
    rise = self.peak * (step + 1.0) / warm
    fall = self.peak * tf.maximum(total - step, 0.0) / tf.maximum(
        total - warm, 1.0) if self.decay else tf.constant(self.peak)
    return tf.where(step < warm, tf.minimum(rise, self.peak),
                    tf.minimum(fall, self.peak))

  def get_config(self):
    return {"peak": self.peak, "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps, "decay": self.decay}


@dataclasses.dataclass
class OptimizerConfig:
  """Learning rates and schedule (the paper's Table 3: Adam, 1e-3, warmup 0.1).

  Attributes:
    learning_rate: peak rate of the non-BERT weights.
    bert_learning_rate: peak rate of BERT's weights.
    warmup_ratio: share of the steps spent warming up.
    total_steps: steps of the whole run.
    schedule: after the warmup, ``linear`` decay to 0 at ``total_steps`` or
      ``constant``.
    clip_norm: global gradient norm clip (0 for none).
  """
  learning_rate: float = 1e-3
  bert_learning_rate: float = 3e-5
  warmup_ratio: float = 0.1
  total_steps: int = 1000
  schedule: str = "linear"
  clip_norm: float = 5.0


def make_optimizers(config: OptimizerConfig) -> Tuple[keras.optimizers.Adam,
                                                       keras.optimizers.Adam]:
  """(optimizer of the task layers, optimizer of BERT's weights)."""
  warmup = int(config.total_steps * config.warmup_ratio)

  def adam(rate, name):
    return keras.optimizers.Adam(
        WarmupLinearDecay(rate, config.total_steps, warmup,
                          decay=config.schedule == "linear"), name=name)

  return adam(config.learning_rate, "adam"), adam(config.bert_learning_rate,
                                                  "bert_adam")


def split_variables(variables: Sequence[tf.Variable],
                    bert_variables: Sequence[tf.Variable]
                    ) -> Tuple[List[int], List[int]]:
  """Indices of ``variables`` that are not / are BERT's."""
  bert_ids = {id(v) for v in bert_variables}
  task = [i for i, v in enumerate(variables) if id(v) not in bert_ids]
  bert = [i for i, v in enumerate(variables) if id(v) in bert_ids]
  return task, bert
