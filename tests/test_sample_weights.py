"""Sample weights against hand-computed values."""

import numpy as np
import pytest
import tensorflow as tf

from bert_mtl_ner.layers import crf as crf_lib
from bert_mtl_ner.training import sample_weights as sw


def test_main_weights_are_one():
  assert list(sw.main_weights(3)) == [1.0, 1.0, 1.0]


def test_similarity_by_hand():
  center = np.array([1.0, 0.0])
  vectors = np.array([[2.0, 0.0],      # cos 1
                      [1.0, 1.0],      # cos 1/sqrt(2)
                      [0.0, 3.0],      # cos 0
                      [-1.0, 0.0],     # cos -1 -> 0
                      [0.0, 0.0]])     # no direction -> 0
  np.testing.assert_allclose(sw.similarity_weights(vectors, center, c=1, d=1),
                             [1.0, 0.70710678, 0.0, 0.0, 0.0], atol=1e-6)
  np.testing.assert_allclose(sw.similarity_weights(vectors, center, c=2, d=2),
                             [0.5, 0.25, 0.0, 0.0, 0.0], atol=1e-6)
  # C < 1 would push weights over 1: clipped
  np.testing.assert_allclose(sw.similarity_weights(vectors[:2], center, c=0.5),
                             [1.0, 1.0], atol=1e-6)
  with pytest.raises(ValueError):
    sw.similarity_weights(vectors, center, c=0)


def test_sentence_vectors_skip_specials_and_padding():
  hidden = tf.constant([[[9.0], [1.0], [3.0], [9.0], [7.0]],
                        [[9.0], [4.0], [9.0], [7.0], [7.0]]])
  mask = tf.constant([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]])
  np.testing.assert_allclose(sw.sentence_vectors(hidden, mask).numpy(),
                             [[2.0], [4.0]])
  np.testing.assert_allclose(
      sw.sentence_vectors(hidden, mask, skip_specials=False).numpy(),
      [[5.5], [22.0 / 3]], rtol=1e-6)


def test_centroid():
  np.testing.assert_allclose(sw.centroid([[1, 2], [3, 4]]), [2, 3])


def test_confidence_weights_and_floor():
  best = tf.constant([0.0, 5.0, 1.0])
  second = tf.constant([-np.log(10.0), 5.0, 1.0 - np.log(2.0)], tf.float32)
  confidence = crf_lib.path_confidence(best, second).numpy()
  np.testing.assert_allclose(confidence, [0.9, 0.0, 0.5], atol=1e-6)
  keep, weights = sw.keep_confident(confidence, 0.5)
  assert list(keep) == [0, 2]
  np.testing.assert_allclose(weights, [0.9, 0.5], atol=1e-6)
