"""Loss weighting, the learning-rate schedule, and the optimizer split."""

import numpy as np
import pytest
import tensorflow as tf

from bert_mtl_ner.layers.crf import CRF
from bert_mtl_ner.training import loss as loss_lib
from bert_mtl_ner.training import optimization


def _crf_case():
  crf = CRF(5)
  crf.build(None)
  rng = np.random.default_rng(0)
  emissions = tf.constant(rng.normal(size=[4, 6, 5]), tf.float32)
  labels = tf.constant(rng.integers(0, 5, size=[4, 6]), tf.int32)
  mask = tf.constant([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4, [1] * 6])
  return crf, emissions, labels, mask


def test_unit_weights_give_the_unweighted_loss():
  crf, emissions, labels, mask = _crf_case()
  unweighted = tf.reduce_mean(-crf.log_likelihood(emissions, labels, mask))
  weighted = loss_lib.weighted_crf_loss(crf, emissions, labels, mask,
                                        tf.ones([4]))
  assert float(weighted) == pytest.approx(float(unweighted), rel=1e-6)


def test_weights_scale_each_sample():
  crf, emissions, labels, mask = _crf_case()
  nll = -crf.log_likelihood(emissions, labels, mask).numpy()
  weights = np.array([0.0, 0.5, 1.0, 2.0], np.float32)
  got = loss_lib.weighted_crf_loss(crf, emissions, labels, mask, weights)
  assert float(got) == pytest.approx(float(np.mean(weights * nll)), rel=1e-5)
  # a zero weight removes the sample's gradient
  with tf.GradientTape() as tape:
    tape.watch(emissions)
    loss = loss_lib.weighted_crf_loss(crf, emissions, labels, mask, weights)
  assert not tape.gradient(loss, emissions).numpy()[0].any()


def test_warmup_then_linear_decay():
  schedule = optimization.WarmupLinearDecay(1e-3, total_steps=100,
                                            warmup_steps=10)
  values = [float(schedule(s)) for s in range(0, 101, 5)]
  assert values[0] == pytest.approx(1e-4)
  assert max(values) == pytest.approx(1e-3)
  assert float(schedule(9)) == pytest.approx(1e-3)
  assert float(schedule(55)) == pytest.approx(1e-3 * 45 / 90)
  assert values[-1] == 0.0
  assert optimization.WarmupLinearDecay(**schedule.get_config()).peak == 1e-3


def test_split_variables():
  a, b, c = (tf.Variable(1.0) for _ in range(3))
  assert optimization.split_variables([a, b, c], [b]) == ([0, 2], [1])


def test_task_probabilities():
  from bert_mtl_ner.training import trainer  # pylint: disable=g-import-not-at-top
  np.testing.assert_allclose(
      trainer.task_probabilities([300, 100], "proportional"), [0.75, 0.25])
  np.testing.assert_allclose(
      trainer.task_probabilities([400, 100], "temperature", 2.0), [2 / 3, 1 / 3])
  np.testing.assert_allclose(
      trainer.task_probabilities([400, 100], "round_robin"), [0.5, 0.5])
  with pytest.raises(ValueError):
    trainer.task_probabilities([1], "random")


def test_task_order_covers_the_main_task_once_in_expectation():
  from bert_mtl_ner.training import trainer  # pylint: disable=g-import-not-at-top
  order = trainer.task_order([300, 100], "proportional", 2.0, 30, seed=1)
  assert len(order) == 40
  assert order == trainer.task_order([300, 100], "proportional", 2.0, 30, 1)
  assert 20 < order.count(0) < 38
  assert trainer.task_order([5, 5, 5], "round_robin", 2.0, 2, 0) == [0, 1, 2,
                                                                      0, 1, 2]
