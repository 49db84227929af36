"""Is one model better than another on the same test sentences?

Two views of a pair of grid rows A and B scored on the same sentences:

* per seed: the difference of their scores for each seed both have, with the
  mean and standard deviation over seeds (the spread of training);
* a paired bootstrap over the test sentences (Koehn 2004; Berg-Kirkpatrick et
  al. 2012): resample the sentences with replacement, score A and B (each the
  mean over its seeds) on the same resample, and take the difference. The 2.5th
  and 97.5th percentiles of the differences are the 95% interval; the p-value
  is twice the share of resamples on the other side of zero from the observed
  difference (two-sided, at most 1). It measures how much the difference
  depends on which sentences happened to be in the test set.

Scores come from per-sentence entity counts (``evaluation.sentence_counts``):
micro F1 from the summed counts, macro F1 as the mean of per-type F1 (seqeval's
``macro avg`` over the types of the test set).
"""

import statistics
from typing import Dict, Sequence

import numpy as np


def f1_scores(totals: np.ndarray, macro: bool) -> np.ndarray:
  """F1 in percent of summed counts ``[..., types, 3]`` (correct, predicted,
  gold): micro over types, or the mean over types."""
  tp, predicted, gold = totals[..., 0], totals[..., 1], totals[..., 2]
  if not macro:
    tp, predicted, gold = tp.sum(-1), predicted.sum(-1), gold.sum(-1)
  denominator = predicted + gold
  f1 = np.where(denominator > 0, 200.0 * tp / np.maximum(denominator, 1), 0.0)
  return f1.mean(-1) if macro else f1


def paired_bootstrap(a: Sequence[np.ndarray], b: Sequence[np.ndarray],
                     macro: bool, resamples: int = 1000,
                     seed: int = 0) -> Dict:
  """Bootstrap of mean-over-seeds F1(A) minus F1(B) over sentences.

  Args:
    a: per-sentence counts ``[sentences, types, 3]`` of each seed of A.
    b: the same for B, on the same sentences in the same order.
    macro: macro F1 (else micro).
    resamples: bootstrap samples.
    seed: of the resampling.

  Returns:
    ``{"delta", "low", "high", "p", "resamples"}``: the observed difference,
    the 95% interval and the two-sided p-value.
  """
  n = a[0].shape[0]
  if any(x.shape[0] != n for x in list(a) + list(b)):
    raise ValueError("the runs were scored on different sentences")
  rng = np.random.default_rng(seed)
  # How often each sentence is drawn, per resample: [resamples, sentences].
  weights = np.stack([np.bincount(rng.integers(0, n, n), minlength=n)
                      for _ in range(resamples)]).astype(np.float64)

  def mean_f1(runs, w):
    flat = [np.tensordot(w, x.reshape(n, -1), axes=(-1, 0)).reshape(
        w.shape[:-1] + x.shape[1:]) for x in runs]
    return np.mean([f1_scores(t, macro) for t in flat], axis=0)

  ones = np.ones(n)
  observed = float(mean_f1(a, ones) - mean_f1(b, ones))
  deltas = mean_f1(a, weights) - mean_f1(b, weights)
  if observed >= 0:
    p = 2 * float(np.mean(deltas <= 0))
  else:
    p = 2 * float(np.mean(deltas >= 0))
  return {"delta": observed, "low": float(np.percentile(deltas, 2.5)),
          "high": float(np.percentile(deltas, 97.5)), "p": min(1.0, p),
          "resamples": resamples}


def per_seed(a: Dict[int, float], b: Dict[int, float]) -> Dict:
  """Differences A - B for the seeds both have: ``{"seeds", "deltas", "mean",
  "std"}`` (sample standard deviation; 0 for one seed)."""
  seeds = sorted(set(a) & set(b))
  deltas = [a[s] - b[s] for s in seeds]
  return {"seeds": seeds, "deltas": deltas,
          "mean": statistics.mean(deltas) if deltas else None,
          "std": statistics.stdev(deltas) if len(deltas) > 1 else 0.0}
