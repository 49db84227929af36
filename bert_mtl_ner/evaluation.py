"""Entity-level scores (seqeval, strict BIO) and CoNLL prediction files."""

from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import numpy as np
from seqeval.scheme import IOB2, Entities

from bert_mtl_ner import progress as progress_lib
from bert_mtl_ner import tokenization
from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.data.records import Sentence
from bert_mtl_ner.io_utils import atomic_open

SPACE = "[SPACE]"  # how whitespace characters appear in CoNLL files


def score(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]
          ) -> Dict:
  """Micro and macro P/R/F1 and per-type scores, seqeval strict IOB2 mode.

  Args:
    gold: gold BIO tags per sentence.
    pred: predicted BIO tags per sentence (same lengths).

  Returns:
    ``{"precision", "recall", "f1", "macro_precision", "macro_recall",
    "macro_f1", "support", "per_type": {TYPE: {precision, recall, f1,
    support}}}``, scores as percentages.
  """
  # seqeval.metrics imports scikit-learn (about a second) for one warning
  # class: imported here, so that processes that never score do not pay it.
  from seqeval.metrics import classification_report  # pylint: disable=g-import-not-at-top
  gold = [list(g) for g in gold]
  pred = [list(p) for p in pred]
  for g, p in zip(gold, pred):
    if len(g) != len(p):
      raise ValueError(f"{len(p)} predictions for {len(g)} gold tags")
  report = classification_report(gold, pred, mode="strict", scheme=IOB2,
                                 output_dict=True, zero_division=0)
  pct = lambda row: {"precision": 100 * float(row["precision"]),
                     "recall": 100 * float(row["recall"]),
                     "f1": 100 * float(row["f1-score"]),
                     "support": int(row["support"])}
  per_type = {k: pct(v) for k, v in sorted(report.items())
              if not k.endswith(" avg")}
  micro = pct(report.get("micro avg", {"precision": 0, "recall": 0,
                                       "f1-score": 0, "support": 0}))
  macro = pct(report.get("macro avg", {"precision": 0, "recall": 0,
                                       "f1-score": 0, "support": 0}))
  return {**{k: micro[k] for k in ("precision", "recall", "f1", "support")},
          "macro_precision": macro["precision"],
          "macro_recall": macro["recall"], "macro_f1": macro["f1"],
          "per_type": per_type}


def sentence_counts(gold: Sequence[Sequence[str]],
                    pred: Sequence[Sequence[str]],
                    types: Sequence[str]) -> np.ndarray:
  """Per sentence and entity type: (correct, predicted, gold) entity counts,
  with entities as ``score`` reads them (seqeval strict IOB2).

  Summed over sentences they give ``score``'s precision, recall and F1; summed
  over a resample of sentences, those of the resample (``significance``).

  Returns:
    int array ``[len(gold), len(types), 3]``.
  """
  index = {t: i for i, t in enumerate(types)}
  counts = np.zeros((len(gold), len(types), 3), np.int64)
  gold_entities = Entities([list(g) for g in gold], IOB2).entities
  pred_entities = Entities([list(p) for p in pred], IOB2).entities
  for row, (g, p) in enumerate(zip(gold_entities, pred_entities)):
    g, p = {e.to_tuple() for e in g}, {e.to_tuple() for e in p}
    for column, entities in ((0, g & p), (1, p), (2, g)):
      for entity in entities:
        counts[row, index[entity[1]], column] += 1
  return counts


def scores_from_counts(counts: np.ndarray, types: Sequence[str]) -> Dict:
  """``score``'s result from per-sentence counts (``sentence_counts``) of any
  subset of sentences: the scores of those sentences alone, without tagging
  them again.

  Args:
    counts: int ``[sentences, len(types), 3]`` (correct, predicted, gold).
    types: the entity types of the counts' second axis.

  Returns:
    The dict ``score`` returns; a type without gold or predicted entities in
    the subset is left out, as seqeval leaves it out.
  """
  totals = np.asarray(counts).sum(axis=0)

  def prf(tp, predicted, gold):
    precision = 100.0 * tp / predicted if predicted else 0.0
    recall = 100.0 * tp / gold if gold else 0.0
    f1 = 200.0 * tp / (predicted + gold) if predicted + gold else 0.0
    return {"precision": precision, "recall": recall, "f1": f1,
            "support": int(gold)}

  per_type = {t: prf(*totals[i]) for i, t in enumerate(types)
              if totals[i, 1] or totals[i, 2]}
  micro = prf(*totals.sum(axis=0))
  macro = {m: (float(np.mean([row[m] for row in per_type.values()]))
               if per_type else 0.0) for m in ("precision", "recall", "f1")}
  return {**micro, "macro_precision": macro["precision"],
          "macro_recall": macro["recall"], "macro_f1": macro["f1"],
          "per_type": dict(sorted(per_type.items()))}


NOVELTY = ("seen", "unseen")


def entity_name(sentence: Sentence, span: tags_lib.Span) -> Tuple[str, str]:
  """An entity's name: its text and type."""
  return "".join(sentence.chars[span.start:span.end]), span.type


def entity_names(sentences: Iterable[Sentence]) -> Set[Tuple[str, str]]:
  """The names (``entity_name``) of every gold entity of ``sentences``."""
  return {entity_name(s, span) for s in sentences
          for span in tags_lib.tags_to_spans(s.tags)}


def novelty_scores(sentences: Sequence[Sentence],
                   predictions: Sequence[Sequence[str]],
                   seen: Set[Tuple[str, str]]) -> Dict:
  """P/R/F1 of the entities whose text, with their type, is in ``seen`` (the
  entities of a training split: ``entity_names``) and of the rest, the names
  a model has never been taught.

  A gold entity counts on the side of its own name; so does a predicted one,
  so that ``unseen`` precision is the share of right ones among the
  predictions of unseen names.

  Returns:
    ``{"seen": {precision, recall, f1, support}, "unseen": {...}}``, scores as
    percentages (``scores_from_counts``); a side without gold or predicted
    entities is left out.
  """
  counts = np.zeros((len(sentences), len(NOVELTY), 3), np.int64)
  for row, (sentence, pred) in enumerate(zip(sentences, predictions)):
    side = lambda span: int(entity_name(sentence, span) not in seen)  # pylint: disable=cell-var-from-loop
    gold = set(tags_lib.tags_to_spans(sentence.tags))
    for span in tags_lib.tags_to_spans(pred):
      counts[row, side(span), 1] += 1
      counts[row, side(span), 0] += span in gold
    for span in gold:
      counts[row, side(span), 2] += 1
  return scores_from_counts(counts, NOVELTY)["per_type"]


def format_rows(rows: Dict[str, Dict], title: str = "",
                label: str = "type") -> str:
  """A plain-text table of named rows of P/R/F1 and support."""
  lines = [title] if title else []
  lines.append(f"{label:14s} {'P':>7s} {'R':>7s} {'F1':>7s} {'support':>8s}")
  for name, row in rows.items():
    lines.append(f"{name:14s} {row['precision']:7.2f} {row['recall']:7.2f} "
                 f"{row['f1']:7.2f} {row['support']:8d}")
  return "\n".join(lines)


def format_scores(scores: Dict, title: str = "") -> str:
  """A plain-text table of ``score``'s result."""
  lines = [format_rows(scores["per_type"], title)]
  lines.append(f"{'micro':14s} {scores['precision']:7.2f} "
               f"{scores['recall']:7.2f} {scores['f1']:7.2f} "
               f"{scores['support']:8d}")
  lines.append(f"{'macro':14s} {scores['macro_precision']:7.2f} "
               f"{scores['macro_recall']:7.2f} {scores['macro_f1']:7.2f}")
  return "\n".join(lines)


def write_conll(path: str, sentences: Sequence[Sentence],
                predictions: Sequence[Sequence[str]],
                entity_scores: Optional[Sequence[Sequence[float]]] = None
                ) -> None:
  """Writes ``char gold pred`` per line, a blank line after each sentence.

  Whitespace characters are written as ``[SPACE]`` so the columns stay split.
  With ``entity_scores`` (per sentence, one per predicted entity in order) a
  fourth column holds the score of the predicted entity over the character,
  ``-`` outside entities.
  """
  with atomic_open(path) as out:
    for index, (sentence, pred) in enumerate(zip(sentences, predictions)):
      gold = sentence.tags or ["O"] * len(sentence)
      column = None
      if entity_scores is not None:
        column = ["-"] * len(pred)
        for span, value in zip(tags_lib.tags_to_spans(pred),
                               entity_scores[index]):
          column[span.start:span.end] = [f"{value:.4g}"] * (span.end -
                                                           span.start)
      for i, (char, g, p) in enumerate(zip(sentence.chars, gold, pred)):
        shown = SPACE if tokenization.is_whitespace(char) or \
            tokenization.is_control(char) else char
        extra = f" {column[i]}" if column is not None else ""
        out.write(f"{shown} {g} {p}{extra}\n")
      out.write("\n")


def tag_sentences(tagger, sentences: Sequence[Sentence], progress: bool = False,
                  chunk: int = 512, entity_scores: bool = False
                  ) -> Tuple[List[List[str]], Optional[List[List[float]]]]:
  """Predicts every character of ``sentences``.

  Args:
    tagger: an ``inference.Tagger`` (or, without ``entity_scores``, anything
      with ``predict_tags``).
    sentences: sentences (their tags are not read).
    progress: show a progress bar on stderr (when it is a terminal).
    chunk: sentences per model pass (the bar's step).
    entity_scores: also score each predicted entity (``Tagger.entity_scores``).

  Returns:
    (BIO tags per sentence, entity scores per sentence or None).
  """
  predictions: List[List[str]] = []
  scores: Optional[List[List[float]]] = [] if entity_scores else None
  with progress_lib.bar(len(sentences), "tagging", enabled=progress) as bar:
    for begin in range(0, len(sentences), chunk):
      part = [s.chars for s in sentences[begin:begin + chunk]]
      if entity_scores:
        decoded = tagger.decode(part)
        predictions += decoded.tags
        scores += tagger.entity_scores(decoded)
      else:
        predictions += tagger.predict_tags(part)
      bar.update(len(part))
  return predictions, scores


def evaluate_sentences(tagger, sentences: Sequence[Sentence],
                       progress: bool = False, chunk: int = 512
                       ) -> Tuple[Dict, List[List[str]]]:
  """Predicts every character of ``sentences`` and scores against their tags.

  Returns:
    (scores, predictions); see ``tag_sentences`` for the arguments.
  """
  predictions, _ = tag_sentences(tagger, sentences, progress, chunk)
  return score([s.tags for s in sentences], predictions), predictions
