"""How certain a model is of each text, by strategy (lower: annotate first).

* ``confid``: the paper's ``confid(x) = (p1 - p2) / p1`` from the two best CRF
  paths (``inference.Tagger.path_certainties``).
* ``min_entity_score``: the lowest entity score of the text
  (``inference.Tagger.entity_scores``); a text without a predicted entity
  takes the probability of its best path (all ``O``), the chance that "no
  entity here" is right.
* ``random``: a uniform random number, the baseline.
"""

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from bert_mtl_ner import inference

STRATEGIES = ("confid", "min_entity_score", "random")


def certainties(tagger: inference.Tagger, texts: Sequence[str], strategy: str,
                rng: np.random.Generator, with_entities: bool = True
                ) -> Tuple[List[float], Optional[List[List[Dict]]]]:
  """Each text's certainty under ``strategy``, and its scored entities.

  Args:
    tagger: the model.
    texts: raw texts.
    strategy: one of ``STRATEGIES``.
    rng: draws ``random``'s numbers.
    with_entities: also return the entities (``random`` then needs the
      model; without them it does not).

  Returns:
    (certainty per text, entities per text as ``predict`` writes them, or
    None).
  """
  if strategy not in STRATEGIES:
    raise ValueError(f"unknown strategy {strategy!r}; expected one of "
                     f"{', '.join(STRATEGIES)}")
  if strategy == "random" and not with_entities:
    return rng.random(len(texts)).tolist(), None
  decoded = tagger.decode(texts)
  scores = tagger.entity_scores(decoded)
  entities = [inference.entities_of(text, tags, row) for text, tags, row in
              zip(texts, decoded.tags, scores)] if with_entities else None
  if strategy == "random":
    return rng.random(len(texts)).tolist(), entities
  confid, best = tagger.path_certainties(decoded)
  if strategy == "confid":
    return confid, entities
  return [min(row) if row else p for row, p in zip(scores, best)], entities
