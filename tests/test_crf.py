"""The CRF layer against brute-force enumeration of every tag path."""

import itertools

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_addons as tfa

from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.keras import keras
from bert_mtl_ner.layers import crf as crf_lib

LABELS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]


def _score(emissions, transitions, path):
  score = sum(emissions[t, tag] for t, tag in enumerate(path))
  return score + sum(transitions[a, b] for a, b in zip(path, path[1:]))


def _paths(num_tags, length):
  return list(itertools.product(range(num_tags), repeat=length))


def _valid(path):
  allowed = crf_lib.bio_allowed_transitions(LABELS)
  starts = crf_lib.bio_allowed_starts(LABELS)
  return starts[path[0]] and all(allowed[a, b] for a, b in zip(path, path[1:]))


def _layer(constrain=True, seed=0):
  layer = crf_lib.CRF(len(LABELS), labels=LABELS, constrain_bio=constrain)
  layer.build(None)
  rng = np.random.default_rng(seed)
  layer.transitions.assign(rng.normal(size=[5, 5]).astype(np.float32))
  return layer


def _case(seed, batch=3, time=4):
  rng = np.random.default_rng(seed)
  emissions = rng.normal(size=[batch, time, 5]).astype(np.float32)
  lengths = rng.integers(1, time + 1, size=batch)
  lengths[0] = time
  mask = (np.arange(time)[None, :] < lengths[:, None]).astype(np.int32)
  tags = rng.integers(0, 5, size=[batch, time]).astype(np.int32)
  return emissions, mask, tags, lengths


@pytest.mark.parametrize("seed", range(4))
def test_log_likelihood_matches_brute_force(seed):
  layer = _layer(seed=seed)
  emissions, mask, tags, lengths = _case(seed)
  got = layer.log_likelihood(emissions, tags, mask).numpy()
  trans = layer.transitions.numpy()
  for b, n in enumerate(lengths):
    scores = [_score(emissions[b], trans, p) for p in _paths(5, n)]
    log_z = np.logaddexp.reduce(scores)
    want = _score(emissions[b], trans, tuple(tags[b, :n])) - log_z
    assert got[b] == pytest.approx(want, abs=1e-4)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("constrain", [False, True])
def test_viterbi_matches_brute_force(seed, constrain):
  layer = _layer(constrain, seed)
  emissions, mask, _, lengths = _case(seed + 10)
  tags, scores = layer.decode(emissions, mask)
  tags, scores = tags.numpy(), scores.numpy()
  trans = layer.transitions.numpy()
  for b, n in enumerate(lengths):
    candidates = [p for p in _paths(5, n) if not constrain or _valid(p)]
    best = max(candidates, key=lambda p: _score(emissions[b], trans, p))
    assert tuple(tags[b, :n]) == best
    assert not tags[b, n:].any()  # padding decoded as 0
    if not constrain:
      assert scores[b] == pytest.approx(_score(emissions[b], trans, best),
                                        abs=1e-4)


def test_constraint_changes_an_invalid_best_path():
  layer = _layer(seed=0)
  layer.transitions.assign(np.zeros([5, 5], np.float32))
  emissions = np.full([1, 2, 5], -5.0, np.float32)
  emissions[0, 0, 0] = emissions[0, 1, 2] = 5.0  # O then I-LOC is best raw
  tags = layer((emissions, np.ones([1, 2], np.int32))).numpy()
  assert _valid(tuple(tags[0]))
  unconstrained = _layer(constrain=False)
  unconstrained.transitions.assign(np.zeros([5, 5], np.float32))
  raw = unconstrained((emissions, np.ones([1, 2], np.int32))).numpy()
  assert list(raw[0]) == [0, 2]


def test_allowed_transitions():
  allowed = crf_lib.bio_allowed_transitions(LABELS)
  assert not allowed[0, 2] and not allowed[3, 2] and not allowed[4, 2]
  assert allowed[1, 2] and allowed[2, 2] and allowed[2, 3] and allowed[0, 1]
  assert list(crf_lib.bio_allowed_starts(LABELS)) == [True, True, False, True,
                                                      False]


def test_config_round_trip_and_functional_use():
  layer = crf_lib.CRF(5, labels=LABELS, name="crf")
  clone = crf_lib.CRF.from_config(layer.get_config())
  assert (clone.num_tags, clone.labels, clone.constrain_bio, clone.name) == (
      5, LABELS, True, "crf")
  emissions = keras.Input([None, 5])
  mask = keras.Input([None], dtype="int32")
  model = keras.Model([emissions, mask], clone((emissions, mask)))
  out = model([tf.zeros([2, 3, 5]), tf.constant([[1, 1, 1], [1, 0, 0]])])
  assert out.shape == (2, 3) and out.dtype == tf.int32
  assert clone.transitions.shape == (5, 5)


@pytest.mark.parametrize("seed", range(4))
def test_top2_scores_match_brute_force(seed):
  layer = _layer(seed=seed)
  emissions, mask, _, lengths = _case(seed + 20)
  trans = layer.transitions.numpy()
  best, second = crf_lib.crf_top2_scores(emissions, trans, lengths)
  for b, n in enumerate(lengths):
    scores = sorted((_score(emissions[b], trans, p) for p in _paths(5, n)),
                    reverse=True)
    assert float(best[b]) == pytest.approx(scores[0], abs=1e-4)
    assert float(second[b]) == pytest.approx(scores[1], abs=1e-4)


def test_top2_with_bio_constraints_and_ties():
  layer = _layer(seed=1)
  emissions, _, _, lengths = _case(5)
  emissions_c, trans_c = layer.decoding_parameters(tf.constant(emissions))
  best, second = crf_lib.crf_top2_scores(emissions_c, trans_c, lengths)
  trans = layer.transitions.numpy()
  for b, n in enumerate(lengths):
    valid = sorted((_score(emissions[b], trans, p) for p in _paths(5, n)
                    if _valid(p)), reverse=True)
    assert float(best[b]) == pytest.approx(valid[0], abs=1e-3)
    assert float(second[b]) == pytest.approx(valid[1], abs=1e-3)
  # two equally good paths: zero confidence
  tie, tie2 = crf_lib.crf_top2_scores(np.zeros([1, 3, 2], np.float32),
                                      np.zeros([2, 2], np.float32), [3])
  assert crf_lib.path_confidence(tie, tie2).numpy().tolist() == [0.0]


def test_path_confidence():
  best = tf.constant([2.0, 0.0, -3.0, 1.0])
  second = tf.constant([2.0 - np.log(4.0), -np.inf, -3.0 - np.log(2.0), 1.0],
                       tf.float32)
  np.testing.assert_allclose(crf_lib.path_confidence(best, second).numpy(),
                             [0.75, 1.0, 0.5, 0.0], atol=1e-6)


def test_span_marginals_match_brute_force_under_bio_constraints():
  """Every span and type of two sequences (one padded): the probability that
  exactly it carries the type, summed over all tag paths by enumeration."""
  labels = ["O", "B-A", "I-A", "B-B", "I-B"]
  rng = np.random.default_rng(0)
  size = len(labels)
  layer = crf_lib.CRF(size, labels=labels)
  layer.build(None)
  layer.transitions.assign(rng.normal(size=(size, size)).astype(np.float32))
  emissions, transitions = layer.decoding_parameters(tf.constant(
      rng.normal(size=(2, 5, size)).astype(np.float32)))
  emissions, transitions = emissions.numpy(), transitions.numpy()
  lengths = np.array([5, 3])
  spans = [(b, s, e, begin, begin + 1) for b in range(2)
           for s in range(lengths[b]) for e in range(s + 1, lengths[b] + 1)
           for begin in (1, 3)]
  got = crf_lib.span_log_marginals(
      emissions, transitions, lengths,
      *(np.array(column) for column in zip(*spans))).numpy()
  for k, (b, s, e, begin, inside) in enumerate(spans):
    n = lengths[b]
    total = hit = -np.inf
    for path in itertools.product(range(size), repeat=n):
      score = emissions[b, 0, path[0]] + sum(
          transitions[path[t - 1], path[t]] + emissions[b, t, path[t]]
          for t in range(1, n))
      total = np.logaddexp(total, score)
      if (path[s] == begin and all(path[t] == inside for t in range(s + 1, e))
          and (e == n or path[e] != inside)):
        hit = np.logaddexp(hit, score)
    np.testing.assert_allclose(np.exp(got[k]), np.exp(hit - total), atol=1e-4)
  _, _, log_z = crf_lib.crf_forward_backward(emissions, transitions, lengths)
  np.testing.assert_allclose(log_z.numpy(), tfa.text.crf_log_norm(
      tf.constant(emissions), tf.constant(lengths, tf.int32),
      tf.constant(transitions)).numpy(), rtol=1e-5)


@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_layer_span_probabilities_sum_valid_paths_at_a_temperature(temperature):
  """``CRF.span_probabilities`` against enumeration of the valid BIO paths
  only, each scored ``score / temperature``, reading entities from the tags
  between the first and the last token (the specials)."""
  layer = _layer(seed=3)
  emissions, _, _, _ = _case(5, batch=2, time=5)
  lengths = np.array([5, 4])
  mask = (np.arange(5)[None, :] < lengths[:, None]).astype(np.int32)
  trans = layer.transitions.numpy()
  spans = [(b, s, e, begin) for b in range(2) for s in range(1, lengths[b] - 1)
           for e in range(s + 1, lengths[b]) for begin in (1, 3)]
  got = layer.span_probabilities(
      emissions, mask, *(np.array(c) for c in zip(*spans)),
      temperature=temperature).numpy()
  for k, (b, s, e, begin) in enumerate(spans):
    weights = {p: np.exp(_score(emissions[b], trans, p) / temperature)
               for p in _paths(5, lengths[b]) if _valid(p)}
    hit = sum(w for p, w in weights.items() if tags_lib.Span(
        s - 1, e - 1, LABELS[begin][2:]) in tags_lib.tags_to_spans(
            [LABELS[t] for t in p[1:-1]]))
    np.testing.assert_allclose(got[k], hit / sum(weights.values()), atol=1e-4)
