"""Per-sample loss weights of the multi-task strategy (the paper's eqs. 3-6).

* main-task samples: 1.0 (``main_weights``);
* auxiliary samples: ``fun(x, IN) = (1/C) * cos(v_x, v_IN)^d`` (``similarity_weights``),
  with ``v_x`` the sentence vector of x (``sentence_vectors``: the mean of the
  encoder outputs over its real characters) and ``v_IN`` the centroid of the main
  task's training sentences (``centroid``). A negative cosine counts as 0 before
  the power (a fractional power of a negative number is undefined, and such a
  sentence is unlike the main corpus); the weight is clipped to [0, 1];
* unlabeled samples with pseudo-labels: ``confid(x) = (p1 - p2) / p1`` from the
  best and second-best CRF paths (``layers.crf.crf_top2_scores`` and
  ``path_confidence``); samples under a floor are dropped (``keep_confident``).
"""

from typing import Tuple

import numpy as np
import tensorflow as tf


def main_weights(count: int) -> np.ndarray:
  """Weight 1.0 for each of ``count`` main-task samples."""
  return np.ones(count, np.float32)


def sentence_vectors(hidden: tf.Tensor, attention_mask: tf.Tensor,
                     skip_specials: bool = True) -> tf.Tensor:
  """Mean of ``hidden`` [batch, time, dim] over each sentence's real characters.

  Args:
    hidden: encoder outputs.
    attention_mask: 0/1 [batch, time], ones first.
    skip_specials: leave out ``[CLS]`` (first) and ``[SEP]`` (last real token).

  Returns:
    float32 [batch, dim].
  """
  mask = tf.cast(attention_mask, tf.float32)
  if skip_specials:
    lengths = tf.reduce_sum(tf.cast(attention_mask, tf.int32), axis=1)
    positions = tf.range(tf.shape(mask)[1])[None, :]
    mask *= tf.cast((positions > 0) & (positions < lengths[:, None] - 1),
                    tf.float32)
  total = tf.reduce_sum(tf.cast(hidden, tf.float32) * mask[:, :, None], axis=1)
  return total / tf.maximum(tf.reduce_sum(mask, axis=1, keepdims=True), 1.0)


def centroid(vectors: np.ndarray) -> np.ndarray:
  """``v_IN``: the mean of the main task's sentence vectors [n, dim] -> [dim]."""
  return np.asarray(vectors, np.float64).mean(axis=0)


def similarity_weights(vectors: np.ndarray, center: np.ndarray, c: float = 1.0,
                       d: float = 1.0) -> np.ndarray:
  """``(1/C) * cos(v_x, v_IN)^d`` per row of ``vectors``, clipped to [0, 1].

  Args:
    vectors: sentence vectors [n, dim] of auxiliary samples.
    center: the main corpus centroid [dim].
    c: the normaliser C (> 0).
    d: the exponent d (> 0); larger d favours the most similar sentences.

  Returns:
    float32 [n] weights.
  """
  if c <= 0 or d <= 0:
    raise ValueError(f"C and d must be positive, got C={c}, d={d}")
  vectors = np.asarray(vectors, np.float64)
  center = np.asarray(center, np.float64)
  norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(center)
  cos = np.divide(vectors @ center, norms, out=np.zeros(len(vectors)),
                  where=norms > 0)
  weights = np.clip(cos, 0.0, 1.0) ** d / c
  return np.clip(weights, 0.0, 1.0).astype(np.float32)


def keep_confident(confidence: np.ndarray, floor: float
                   ) -> Tuple[np.ndarray, np.ndarray]:
  """Indices and weights of pseudo-labeled samples at or over ``floor``."""
  confidence = np.asarray(confidence, np.float32)
  keep = np.flatnonzero(confidence >= floor)
  return keep, confidence[keep]
