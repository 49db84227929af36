"""Mixed precision: the Keras policy, and dynamic loss scaling for float16.

``--mixed_precision=mixed_float16|mixed_bfloat16`` computes layers in 16 bits and
keeps variables in float32; the emission layer and the CRF stay in float32
(their ``dtype``), so path scores and the log-likelihood are exact enough.
float16 gradients underflow without loss scaling: ``DynamicLossScale`` multiplies
the loss by a scale, divides the gradients by it, skips a step whose gradients
are not finite and halves the scale, and doubles it after ``period`` good steps.
bfloat16 has float32's range and needs no scaling.
"""

from typing import List, Optional

import tensorflow as tf

from bert_mtl_ner.keras import keras
from bert_mtl_ner.training import names

POLICIES = names.PRECISION_POLICIES


def set_policy(name: str) -> None:
  """Sets Keras' global dtype policy (``none``: float32) for models built next."""
  if name not in POLICIES:
    raise ValueError(f"unknown mixed precision {name!r}; expected {POLICIES}")
  keras.mixed_precision.set_global_policy("float32" if name == "none" else
                                          name)


def needs_loss_scale(name: str) -> bool:
  return name == "mixed_float16"


class DynamicLossScale(tf.Module):
  """A loss scale that adapts to overflow (see the module docstring).

  Args:
    initial: the first scale.
    period: good steps before the scale doubles.
  """

  def __init__(self, initial: float = 2.0**15, period: int = 2000):
    super().__init__(name="loss_scale")
    self.scale = tf.Variable(float(initial), trainable=False, name="scale")
    self.good_steps = tf.Variable(0, dtype=tf.int64, trainable=False,
                                  name="good_steps")
    self.period = period

  def scale_loss(self, loss: tf.Tensor) -> tf.Tensor:
    return loss * tf.cast(self.scale, loss.dtype)

  def unscale(self, grads: List[Optional[tf.Tensor]]) -> List:
    def one(g):
      if isinstance(g, tf.IndexedSlices):
        return tf.IndexedSlices(g.values / self.scale, g.indices, g.dense_shape)
      return None if g is None else g / self.scale
    return [one(g) for g in grads]

  def update(self, grads: List[Optional[tf.Tensor]]) -> tf.Tensor:
    """Adapts the scale to ``grads`` (unscaled); True when they are finite."""
    values = [g.values if isinstance(g, tf.IndexedSlices) else g
              for g in grads if g is not None]
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(v))
                            for v in values])
    grow = self.good_steps + 1 >= self.period
    self.scale.assign(tf.where(finite, tf.where(grow, self.scale * 2.0,
                                                self.scale),
                               tf.maximum(self.scale / 2.0, 1.0)))
    self.good_steps.assign(tf.where(finite & ~grow, self.good_steps + 1,
                                    tf.zeros_like(self.good_steps)))
    return finite
