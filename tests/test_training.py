"""Loss weighting, the learning-rate schedule, and the optimizer split."""

import numpy as np
import pytest
import tensorflow as tf

from bert_mtl_ner.data import pipeline
from bert_mtl_ner.data.records import Sentence
from bert_mtl_ner.layers.bert_encoder import tiny_bert_config
from bert_mtl_ner.layers.crf import CRF
from bert_mtl_ner.models import ModelConfig, build_model
from bert_mtl_ner.training import loss as loss_lib
from bert_mtl_ner.training import optimization
from bert_mtl_ner.training import trainer as trainer_lib


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
  np.testing.assert_allclose(
      trainer_lib.task_probabilities([300, 100], "proportional"), [0.75, 0.25])
  np.testing.assert_allclose(
      trainer_lib.task_probabilities([400, 100], "temperature", 2.0), [2 / 3, 1 / 3])
  np.testing.assert_allclose(
      trainer_lib.task_probabilities([400, 100], "round_robin"), [0.5, 0.5])
  with pytest.raises(ValueError):
    trainer_lib.task_probabilities([1], "random")


def test_task_order_covers_the_main_task_once_in_expectation():
  order = trainer_lib.task_order([300, 100], "proportional", 2.0, 30, seed=1)
  assert len(order) == 40
  assert order == trainer_lib.task_order([300, 100], "proportional", 2.0, 30, 1)
  assert 20 < order.count(0) < 38
  assert trainer_lib.task_order([5, 5, 5], "round_robin", 2.0, 2, 0) == [0, 1, 2,
                                                                      0, 1, 2]


def test_aux_ratio_caps_the_other_tasks_batches():
  # CLUENER2020-like: the auxiliary corpora are 6x the main one.
  sizes = [100, 400, 200]
  np.testing.assert_allclose(
      trainer_lib.task_probabilities(sizes, "proportional", aux_ratio=1.0),
      [0.5, 0.5 * 2 / 3, 0.5 / 3])
  assert len(trainer_lib.task_order(sizes, "proportional", 2.0, 30, 1)) == 210
  assert len(trainer_lib.task_order(sizes, "proportional", 2.0, 30, 1,
                                aux_ratio=1.0)) == 60
  # A cap above what the schedule gives changes nothing.
  np.testing.assert_allclose(
      trainer_lib.task_probabilities([300, 100], "proportional", aux_ratio=1.0),
      [0.75, 0.25])


def test_a_task_step_leaves_other_heads_untouched(tmp_path):
  labels = ["O", "B-PER", "I-PER"]
  model = build_model(ModelConfig(
      model="mtl", labels=labels, vocab_size=30, lstm_layers=0, max_seq_len=10,
      task_hidden_units=4, attention_heads=1, main_task="a",
      aux_labels={"b": labels},
      bert_config=tiny_bert_config(30, 8, 1, 1, 8, 32)))
  trainer = trainer_lib.Trainer(
      model, trainer_lib.TrainConfig(epochs=1, progress=False),
      str(tmp_path), lambda: {})
  corpus = pipeline.encode([Sentence(("x", "y"), ("B-PER", "I-PER"), "f", 1)],
                           _Tok(), {t: i for i, t in enumerate(labels)}, 10)
  batch = next(iter(pipeline.make_dataset(corpus, 1)))
  for _ in range(2):  # a step of task b first gives Adam moments to b's head
    trainer.train_step(trainer_lib.Task("b", corpus, "b_emissions", "b_crf"))(
        batch)
  before = model.get_layer("b_crf").transitions.numpy().copy()
  trainer.train_step(trainer_lib.Task("a", corpus))(batch)
  np.testing.assert_array_equal(model.get_layer("b_crf").transitions.numpy(),
                                before)


class _Tok:
  """A stand-in tokenizer: every character is id 5."""

  def encode(self, chars):
    return [2] + [5] * len(chars) + [3]
