"""The CRF loss with per-sample weights.

``weighted_crf_loss`` is the mean over the batch of ``weight * -log p(gold)``: with
every weight 1 it is the plain mean negative log-likelihood. Scaling a sample's
loss by its weight scales its gradient, which is what the paper's per-sample
learning rates (its eqs. 3-6) do.
"""

import tensorflow as tf

from bert_mtl_ner.layers.crf import CRF


def weighted_crf_loss(crf: CRF, emissions: tf.Tensor, labels: tf.Tensor,
                      mask: tf.Tensor, sample_weight: tf.Tensor) -> tf.Tensor:
  """Mean of ``sample_weight * nll`` over the batch.

  Args:
    crf: the CRF layer whose transitions score the paths.
    emissions: float [batch, time, labels].
    labels: int [batch, time] gold ids.
    mask: 0/1 [batch, time].
    sample_weight: float [batch].

  Returns:
    A scalar float32 loss.
  """
  nll = -crf.log_likelihood(emissions, labels, mask)
  return tf.reduce_mean(tf.cast(sample_weight, tf.float32) * nll)
