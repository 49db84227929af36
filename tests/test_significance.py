"""Paired bootstrap and the per-sentence counts it resamples."""

import numpy as np

from bert_mtl_ner import evaluation
from bert_mtl_ner.experiments import significance


def test_counts_reproduce_seqeval_scores():
  gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-LOC"],
          ["O", "O"]]
  pred = [["B-PER", "I-PER", "O", "I-LOC"], ["B-ORG", "B-PER", "B-LOC"],
          ["B-LOC", "O"]]
  types = ["LOC", "ORG", "PER"]
  counts = evaluation.sentence_counts(gold, pred, types)
  assert counts.shape == (3, 3, 3)
  scores = evaluation.score(gold, pred)
  totals = counts.sum(axis=0)
  assert abs(significance.f1_scores(totals, macro=False) - scores["f1"]) < 1e-9
  assert abs(significance.f1_scores(totals, macro=True) -
             scores["macro_f1"]) < 1e-9
  # strict IOB2: the lone I-LOC is no entity
  assert counts[0, 0].tolist() == [0, 0, 1]


def test_bootstrap_of_a_model_against_itself_finds_nothing():
  rng = np.random.default_rng(1)
  gold = rng.integers(0, 3, size=(300, 3))
  tp = rng.binomial(gold, 0.8)
  counts = np.stack([tp, tp + rng.integers(0, 2, size=gold.shape), gold], -1)
  same = significance.paired_bootstrap([counts], [counts], macro=False,
                                       resamples=200)
  assert same["delta"] == 0 and same["low"] == 0 and same["high"] == 0
  assert same["p"] == 1.0
  worse = counts.copy()
  worse[:150, :, 0] = 0  # half the sentences lose every correct entity
  result = significance.paired_bootstrap([counts], [worse], macro=False,
                                         resamples=200)
  assert 0 < result["low"] <= result["delta"] <= result["high"]
  assert result["p"] < 0.01


def test_per_seed_differences():
  result = significance.per_seed({1: 90.0, 2: 92.0, 3: 91.0},
                                 {1: 89.0, 2: 89.0})
  assert result["seeds"] == [1, 2]
  assert result["deltas"] == [1.0, 3.0]
  assert result["mean"] == 2.0 and abs(result["std"] - 2 ** 0.5) < 1e-12
