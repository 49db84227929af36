"""The CRF loss with per-sample weights.

``weighted_crf_loss`` is the mean over the batch of ``weight * -log p(gold)``: with
every weight 1 it is the plain mean negative log-likelihood. Under a
``tf.distribute`` strategy each replica divides its slice's sum by the whole
batch's size (``denominator``), so the replicas' losses add up to that mean. Scaling a sample's
loss by its weight scales its gradient, which is what the paper's per-sample
learning rates (its eqs. 3-6) do.
"""

from typing import Optional

import tensorflow as tf

from bert_mtl_ner.layers.crf import CRF


def weighted_crf_loss(crf: CRF, emissions: tf.Tensor, labels: tf.Tensor,
                      mask: tf.Tensor, sample_weight: tf.Tensor,
                      denominator: Optional[tf.Tensor] = None) -> tf.Tensor:
  """Sum of ``sample_weight * nll`` over the batch, over ``denominator``.

  Args:
    crf: the CRF layer whose transitions score the paths.
    emissions: float [batch, time, labels].
    labels: int [batch, time] gold ids.
    mask: 0/1 [batch, time].
    sample_weight: float [batch].
    denominator: what the sum is divided by; None: the batch size (the mean).

  Returns:
    A scalar float32 loss.
  """
  nll = -crf.log_likelihood(emissions, labels, mask)
  weighted = tf.cast(sample_weight, tf.float32) * nll
  if denominator is None:
    return tf.reduce_mean(weighted)
  return tf.reduce_sum(weighted) / tf.cast(denominator, tf.float32)
