"""People's Daily test without what MSRA's train file already holds.

The multi-task People's Daily model trains on MSRA's train file as its
auxiliary task, and that file holds the People's Daily test text. The grid
scores each run on the full test (``peoples_daily_test``) and on the test
without its verbatim copies in MSRA train (``peoples_daily_test_dedup``, see
``data.overlap``). Verbatim misses most of the overlap: with digit widths and
quote marks normalized, and a sentence counted as seen when it occurs inside an
MSRA sentence (``overlap.seen_in``), nearly all of the test is in MSRA train.

This module adds a third scoring, ``peoples_daily_test_unseen``: the test
sentences that are not seen in that sense. It needs no run again: every record
holds per-sentence counts of the full test (``evaluation.sentence_counts``), so
the scores of any subset follow from them (``evaluation.scores_from_counts``).
"""

import copy
from typing import Dict, List, Optional, Sequence

import numpy as np

from bert_mtl_ner import evaluation
from bert_mtl_ner.data import overlap
from bert_mtl_ner.data import registry
from bert_mtl_ner.experiments import records

KEY = "peoples_daily_test_unseen"
SOURCE = "peoples_daily_test"
REFERENCE = ("msra", "train_full")


def scored_whole(results: Sequence[Dict], data_dir: Optional[str]) -> bool:
  """Does any run hold counts of the whole People's Daily test (not of its
  first sentences only, as the smoke preset scores)?"""
  sizes = {r.get("sentence_counts", {}).get(SOURCE, {}).get("shape", [0])[0]
           for r in results}
  return bool(sizes - {0}) and sum(
      1 for _ in registry.read_split("peoples_daily", "test", data_dir)
  ) in sizes


def overlap_counts(data_dir: Optional[str]) -> Dict:
  """How People's Daily test overlaps MSRA's train file, and which of its
  sentences are unseen.

  Returns:
    ``{"reference", "sentences", "verbatim", "normalized_equal", "contained",
    "unseen", "unseen_mask", "unseen_5gram_cover", "msra_test_5gram_cover"}``:
    counts of test sentences; the mask is a list of bools in test order; the
    covers are the mean share of a sentence's character 5-grams found in the
    reference (``overlap.ngram_cover``), for the unseen sentences and, as a
    control that the reference does not contain, for MSRA test.
  """
  test = [s.text for s in registry.read_split("peoples_daily", "test",
                                              data_dir)]
  reference = overlap.reference_texts([REFERENCE], data_dir)
  verbatim = set(reference)
  normalized = {overlap.normalize(t) for t in reference}
  seen = overlap.seen_in(test, reference)
  left = [t for t, s in zip(test, seen) if not s]
  control = [s.text for s in registry.read_split("msra", "test", data_dir)]
  cover = overlap.ngram_cover(left + control, reference)
  mean = lambda values: float(np.mean(values)) if values else 0.0
  return {"reference": ":".join(REFERENCE), "sentences": len(test),
          "verbatim": sum(t in verbatim for t in test),
          "normalized_equal": sum(overlap.normalize(t) in normalized
                                  for t in test),
          "contained": sum(seen), "unseen": len(test) - sum(seen),
          "unseen_mask": [not s for s in seen],
          "unseen_5gram_cover": mean(cover[:len(left)]),
          "msra_test_5gram_cover": mean(cover[len(left):])}


def with_unseen_scores(results: Sequence[Dict], unseen_mask: Sequence[bool]
                       ) -> List[Dict]:
  """``results`` with ``KEY`` added to the scores and counts of each run that
  has per-sentence counts of the whole test (others are returned as they
  are).

  Args:
    results: run results or records.
    unseen_mask: ``overlap_counts()["unseen_mask"]``.
  """
  mask = np.asarray(unseen_mask, bool)
  out = []
  for result in results:
    packed = result.get("sentence_counts", {}).get(SOURCE)
    if packed is None or packed["shape"][0] != len(mask):
      out.append(result)
      continue
    counts = records.unpack_counts(packed)[mask]
    result = copy.copy(result)
    result["scores"] = dict(result["scores"])
    result["scores"][KEY] = dict(
        evaluation.scores_from_counts(counts, packed["types"]),
        sentences=int(mask.sum()),
        removed_as_duplicates=int(len(mask) - mask.sum()))
    result["sentence_counts"] = dict(result["sentence_counts"])
    result["sentence_counts"][KEY] = dict(records.pack_counts(counts),
                                          types=packed["types"])
    out.append(result)
  return out
