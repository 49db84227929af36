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


def _random_tags(rng, types, sentences):
  tags = []
  for _ in range(sentences):
    row = []
    for _ in range(int(rng.integers(1, 12))):
      kind = rng.integers(0, 3)
      row.append("O" if kind == 0 else
                 f"{'BI'[kind - 1]}-{types[rng.integers(0, len(types))]}")
    tags.append(row)
  return tags


def test_scores_of_any_subset_follow_from_the_counts():
  rng = np.random.default_rng(3)
  types = ["LOC", "ORG", "PER"]
  gold = _random_tags(rng, types, 60)
  pred = [[t if rng.random() < 0.7 else "B-PER" for t in row] for row in gold]
  gold.append(["B-LOC", "I-LOC"])  # a sentence with one type only
  pred.append(["B-LOC", "I-LOC"])
  counts = evaluation.sentence_counts(gold, pred, types)
  for subset in (np.ones(61, bool), rng.random(61) < 0.3, np.arange(61) < 2,
                 np.arange(61) == 60):
    expected = evaluation.score([g for g, s in zip(gold, subset) if s],
                                [p for p, s in zip(pred, subset) if s])
    got = evaluation.scores_from_counts(counts[subset], types)
    assert sorted(got["per_type"]) == sorted(expected["per_type"])
    for key in ("precision", "recall", "f1", "support", "macro_precision",
                "macro_recall", "macro_f1"):
      assert abs(got[key] - expected[key]) < 1e-6, key
    for entity_type, row in expected["per_type"].items():
      for key, value in row.items():
        assert abs(got["per_type"][entity_type][key] - value) < 1e-6


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
