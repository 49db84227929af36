"""Picking the K least certain texts of a stream, in constant memory, without
near-duplicates.

Each text comes with a certainty (lower: more worth annotating). ``Selector``
keeps only the ``k * pool_factor`` least certain texts seen so far (a heap), so a
pool of any size streams through it. ``chosen`` then walks them from the least
certain up and skips a text that is a near-duplicate of one already chosen:
its character bigrams overlap a chosen text's by at least ``diversity``
(Jaccard). Annotating ten copies of one confusing headline teaches the model
once; the guard spends the budget on different sentences.
"""

import dataclasses
import heapq
from typing import Any, FrozenSet, List


def bigrams(text: str) -> FrozenSet[str]:
  """The set of character bigrams of ``text`` (its characters when shorter)."""
  text = "".join(text.split())
  return frozenset(text[i:i + 2] for i in range(len(text) - 1)) or \
      frozenset(text)


def jaccard(a: FrozenSet[str], b: FrozenSet[str]) -> float:
  if not a and not b:
    return 1.0
  return len(a & b) / len(a | b)


@dataclasses.dataclass(order=True)
class Candidate:
  """One offered text; ordered by certainty, then by position."""
  certainty: float
  index: int
  text: str = dataclasses.field(compare=False)
  payload: Any = dataclasses.field(compare=False, default=None)


class Selector:
  """The ``k`` least certain, mutually different texts of a stream.

  Args:
    k: how many to choose.
    diversity: bigram Jaccard at or above which two texts are
      near-duplicates; 1.0 drops exact duplicates only (of their bigrams).
    pool_factor: candidates kept per chosen text, for the guard to skip.
  """

  def __init__(self, k: int, diversity: float = 0.7, pool_factor: int = 4):
    if k < 1:
      raise ValueError(f"k must be positive, got {k}")
    if not 0 < diversity <= 1:
      raise ValueError(f"diversity must be in (0, 1], got {diversity}")
    self.k, self.diversity = k, diversity
    self.capacity = k * max(1, pool_factor)
    self._heap: List[tuple] = []  # (-certainty, -index, candidate): max-heap
    self.offered = 0

  def offer(self, certainty: float, index: int, text: str,
            payload: Any = None) -> None:
    """Considers one text (``index``: its position, for ties and output)."""
    self.offered += 1
    item = (-certainty, -index, Candidate(certainty, index, text, payload))
    if len(self._heap) < self.capacity:
      heapq.heappush(self._heap, item)
    elif item > self._heap[0]:
      heapq.heapreplace(self._heap, item)

  def chosen(self) -> List[Candidate]:
    """Up to ``k`` candidates, least certain first, no two near-duplicates
    (fewer than ``k`` only when the kept candidates run out)."""
    picked: List[Candidate] = []
    seen: List[FrozenSet[str]] = []
    for candidate in sorted(item[2] for item in self._heap):
      grams = bigrams(candidate.text)
      if any(jaccard(grams, other) >= self.diversity for other in seen):
        continue
      picked.append(candidate)
      seen.append(grams)
      if len(picked) == self.k:
        break
    return picked
