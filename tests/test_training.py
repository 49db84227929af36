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
from bert_mtl_ner.training import multitask
from bert_mtl_ner.training import optimization
from bert_mtl_ner.training import run as run_lib
from bert_mtl_ner.training import trainer as trainer_lib
from bert_mtl_ner.training.run_config import TrainRun
from bert_mtl_ner.data import registry


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


def test_constant_schedule_holds_the_peak_after_warmup():
  schedule = optimization.WarmupLinearDecay(1e-3, total_steps=100,
                                            warmup_steps=10, decay=False)
  assert float(schedule(0)) == pytest.approx(1e-4)
  for step in (9, 50, 99, 100, 500):
    assert float(schedule(step)) == pytest.approx(1e-3)
  assert not optimization.WarmupLinearDecay(**schedule.get_config()).decay
  adam, _ = optimization.make_optimizers(optimization.OptimizerConfig(
      learning_rate=2e-3, total_steps=100, warmup_ratio=0.1,
      schedule="constant"))
  rate = adam.get_config()["learning_rate"]["config"]
  assert rate["decay"] is False and rate["peak"] == pytest.approx(2e-3)


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


def _two_task_trainer(tmp_path, aux_ratio):
  labels = ["O", "B-PER", "I-PER"]
  model = build_model(ModelConfig(
      model="mtl", labels=labels, vocab_size=30, lstm_layers=0, max_seq_len=10,
      task_hidden_units=4, attention_heads=1, main_task="a",
      aux_labels={"b": labels},
      bert_config=tiny_bert_config(30, 8, 1, 1, 8, 32)))
  trainer = trainer_lib.Trainer(
      model, trainer_lib.TrainConfig(epochs=1, batch_size=4, progress=False,
                                     aux_ratio=aux_ratio),
      str(tmp_path), lambda: {})
  encode = lambda n: pipeline.encode(
      [Sentence(("x",) * (1 + i % 7), ("O",) * (1 + i % 7), "f", i + 1)
       for i in range(n)], _Tok(), {t: i for i, t in enumerate(labels)}, 10)
  return trainer, encode


def test_a_task_step_leaves_other_heads_untouched(tmp_path):
  trainer, encode = _two_task_trainer(tmp_path, aux_ratio=0.0)
  model, corpus = trainer.model, encode(1)
  batch = next(iter(pipeline.make_dataset(corpus, 1)))
  for _ in range(2):  # a step of task b first gives Adam moments to b's head
    trainer.train_step(trainer_lib.Task("b", corpus, "b_emissions", "b_crf"))(
        batch)
  before = model.get_layer("b_crf").transitions.numpy().copy()
  trainer.train_step(trainer_lib.Task("a", corpus))(batch)
  np.testing.assert_array_equal(model.get_layer("b_crf").transitions.numpy(),
                                before)


def test_a_weighed_task_weighs_only_the_rows_its_epoch_trains_on(tmp_path):
  trainer, encode = _two_task_trainer(tmp_path, aux_ratio=0.5)
  calls = []

  def weigh(rows):
    calls.append(rows)
    return (rows + 1) / 1000

  tasks = [trainer_lib.Task("a", encode(16)),
           trainer_lib.Task("b", encode(200), "b_emissions", "b_crf", weigh)]
  batches, steps, weighed = trainer._batches(1, tasks)
  trained = [b["sample_weight"].numpy() for task, b in batches
             if task.name == "b"]
  (rows,), = [calls]  # weighed once, before the epoch trains
  # Half as many auxiliary batches as main ones: a fraction of the corpus.
  assert 0 < len(rows) < 200 and np.all(np.diff(rows) > 0)
  assert sum(len(w) for w in trained) == len(rows)  # one pass: no repeats
  np.testing.assert_allclose(np.sort(np.concatenate(trained)),
                             (rows + 1) / 1000)
  # The same epoch without ``weigh`` trains on the same batches.
  plain, _, _ = trainer._batches(1, [tasks[0], trainer_lib.Task(
      "b", encode(200), "b_emissions", "b_crf")])
  ids = lambda pairs: [b["input_ids"].numpy().tolist() for _, b in pairs]
  again, _, _ = trainer._batches(1, tasks)
  assert ids(plain) == ids(again)
  assert np.isnan(weighed[1].corpus.sample_weights).sum() == 200 - len(rows)


@pytest.mark.parametrize("seed", [0, 1])
def test_similarity_weights_of_drawn_rows_are_those_of_the_whole_corpus(
    tmp_path, seed):
  """Weighing only the rows an epoch draws gives each row the weight that
  weighing the whole corpus (``--reweight_every`` over 1) gives it."""
  trainer, _ = _two_task_trainer(tmp_path, aux_ratio=0.5)
  rng = np.random.default_rng(seed)
  sentences = lambda n: [Sentence(tuple(rng.choice(list("abcdefgh"), k)),
                                  ("O",) * k, "f", i + 1)
                         for i, k in enumerate(rng.integers(1, 8, n))]
  labels = ["O", "B-PER", "I-PER"]
  main, aux = sentences(12), sentences(40)
  make = lambda every: multitask.EpochTasks(
      trainer.model, _Tok(), ("a", main, labels), [("b", aux, labels)], [],
      multitask.WeightingConfig(every=every, max_seq_len=10, batch_size=8))
  lazy, whole = make(1)(1)[1], make(2)(1)[1]
  assert lazy.weigh is not None and whole.weigh is None
  rows = np.sort(rng.choice(40, 15, replace=False))
  weights = whole.corpus.sample_weights
  assert np.ptp(weights) > 1e-4  # the rows differ, so the check can fail
  np.testing.assert_allclose(lazy.weigh(rows), weights[rows], atol=1e-6)


def test_length_ordered_forward_passes_give_each_row_its_own_result(tmp_path):
  """Sentence vectors and pseudo-labels are computed shortest rows first (a
  batch pads to its longest row); each row still gets what it would alone."""
  trainer, _ = _two_task_trainer(tmp_path, aux_ratio=0.5)
  rng = np.random.default_rng(3)
  sentences = [Sentence(tuple(rng.choice(list("abcdefgh"), k)), ("O",) * k,
                        "f", i + 1) for i, k in enumerate(rng.integers(1, 9, 21))]
  assert np.any(np.diff([len(x.chars) for x in sentences]) < 0)  # unsorted
  labels = ["O", "B-PER", "I-PER"]
  tasks = multitask.EpochTasks(
      trainer.model, _Tok(), ("a", sentences, labels), [], sentences,
      multitask.WeightingConfig(max_seq_len=10, batch_size=4,
                                confidence_floor=0.0))
  corpus = tasks.main_corpus
  alone = [corpus.select([i]) for i in range(len(corpus))]
  np.testing.assert_allclose(
      tasks._vectors(corpus),
      np.concatenate([tasks._vectors(row) for row in alone]), atol=1e-5)
  labelled, weights = tasks._pseudo_label()
  assert [x.chars for x in labelled] == [x.chars for x in sentences]
  for row, sentence, weight in zip(alone, labelled, weights):
    tags, lengths, confidence = tasks._decode_top2(
        tf.constant(row.ids[None]), tf.ones([1, len(row.ids)], tf.int32))
    n = int(lengths[0])
    assert sentence.tags == tuple(labels[t] for t in tags[0, 1:n - 1].numpy())
    np.testing.assert_allclose(weight, confidence[0], atol=1e-5)


def test_a_batch_that_was_not_weighed_stops_training():
  task = trainer_lib.Task("b", None, weigh=lambda rows: rows)
  trainer_lib._check_weights(task, {"sample_weight": tf.constant([0.5, 1.0])})
  with pytest.raises(RuntimeError, match="'b'.*not weighed"):
    trainer_lib._check_weights(
        task, {"sample_weight": tf.constant([0.5, np.nan])})


class _Tok:
  """A stand-in tokenizer: characters a-h are ids 5-12, any other is 4."""

  def encode(self, chars):
    return [2] + [5 + "abcdefgh".find(c) for c in chars] + [3]


def test_aux_exclude_removes_the_main_tasks_evaluation_text(data_dir):
  dev = list(registry.read_split("msra", "dev", data_dir))[:5]
  other = Sentence(tuple("今天天气很好，我们去公园散步。"), ("O",) * 15, "x", 1)
  inside = Sentence(dev[0].chars[:8], dev[0].tags[:8], "x", 2)  # part of one
  aux = [("peoples_daily", [dev[1], other, inside], ["O"])]
  unlabeled = [Sentence(dev[2].chars + tuple("。"), None, "x", 3), other]
  run = TrainRun(model="mtl", data_dir=data_dir,
                 aux_exclude=["msra:dev", "msra:test"])
  kept, left, removed = run_lib.exclude_evaluation_text(run, aux, unlabeled)
  assert kept[0][1] == [other] and left == [other]
  assert removed == {"peoples_daily": 2, "unlabeled": 1}
  plain = TrainRun(model="mtl", data_dir=data_dir)
  assert run_lib.exclude_evaluation_text(plain, aux, unlabeled) == (
      aux, unlabeled, {})
