"""Ranks a stream of texts with a model and keeps the ones to annotate."""

from typing import Iterable, List, Tuple

import numpy as np

from bert_mtl_ner import inference
from bert_mtl_ner.active import selection
from bert_mtl_ner.active import strategies


def select(tagger: inference.Tagger, documents: Iterable[Tuple[int, str]],
           k: int, strategy: str, diversity: float = 0.7, seed: int = 0,
           batch_size: int = 64, bar=None, with_entities: bool = True
           ) -> List[selection.Candidate]:
  """The ``k`` texts of a stream to annotate next.

  Args:
    tagger: the model.
    documents: (index, text) pairs, streamed in batches of ``batch_size``;
      blank texts are skipped.
    k: how many to choose.
    strategy: one of ``strategies.STRATEGIES``.
    diversity: ``selection.Selector``'s near-duplicate threshold.
    seed: seed of ``random``.
    bar: a progress bar to advance, or None.
    with_entities: keep each text's scored entities as its ``payload``.

  Returns:
    The chosen candidates, least certain first.
  """
  selector = selection.Selector(k, diversity)
  rng = np.random.default_rng(seed)
  batch = []

  def flush():
    values, entities = strategies.certainties(
        tagger, [text for _, text in batch], strategy, rng, with_entities)
    for (line, text), value, found in zip(batch, values,
                                           entities or [None] * len(batch)):
      selector.offer(value, line, text, found)
    if bar is not None:
      bar.update(len(batch))
    batch.clear()

  for line, text in documents:
    if text.strip():
      batch.append((line, text))
    if len(batch) == batch_size:
      flush()
  if batch:
    flush()
  return selector.chosen()
