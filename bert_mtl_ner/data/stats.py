"""Corpus statistics (the paper's Table 2 and more), computed in one streaming pass."""

import collections
from typing import Any, Dict, Iterable, Optional

from bert_mtl_ner.data import tags as tags_lib
from bert_mtl_ner.data.records import ReadReport, Sentence

LONG = 150  # the paper's max_seq_len: the share of longer sentences is reported.


def compute_stats(sentences: Iterable[Sentence],
                  report: Optional[ReadReport] = None,
                  long_threshold: int = LONG) -> Dict[str, Any]:
  """Counts sentences, characters and entities; consumes ``sentences`` once.

  ``entities`` counts the corpus's annotations by type. For span-annotated corpora
  (CLUENER) that includes spans the BIO tags cannot hold because they overlap a
  longer one; those are also listed under ``overlapping_spans_dropped``.

  Args:
    sentences: the sentences (an iterator is fine: nothing is kept).
    report: the reader's report for the same sentences, filled while they are
      read; its drops and repairs are added to the result.
    long_threshold: length above which a sentence counts as long.

  Returns:
    A JSON-ready dict: ``sentences``, ``characters``, ``entities`` {type: n},
    ``mean_length``, ``max_length``, ``longer_than_150`` (share), ``labeled``,
    ``repaired_tags``, ``dropped_tokens``, ``overlapping_spans_dropped``.
  """
  count = characters = longest = long_count = 0
  labeled = False
  entities: collections.Counter = collections.Counter()
  for sentence in sentences:
    count += 1
    characters += len(sentence)
    longest = max(longest, len(sentence))
    long_count += len(sentence) > long_threshold
    if sentence.tags is not None:
      labeled = True
      entities.update(span.type for span in tags_lib.tags_to_spans(sentence.tags))
  report = report or ReadReport()
  entities.update(report.dropped_spans)
  return {
      "sentences": count,
      "characters": characters,
      "entities": dict(sorted(entities.items())),
      "mean_length": round(characters / count, 2) if count else 0.0,
      "max_length": longest,
      f"longer_than_{long_threshold}": round(long_count / count, 4)
                                       if count else 0.0,
      "labeled": labeled,
      "repaired_tags": report.repaired_tags,
      "dropped_tokens": report.dropped_tokens,
      "overlapping_spans_dropped": dict(sorted(report.dropped_spans.items())),
  }


def format_table(stats: Dict[str, Dict[str, Dict[str, Any]]]) -> str:
  """Renders ``{dataset: {split: stats}}`` as a plain-text table."""
  types = sorted({t for splits in stats.values() for s in splits.values()
                  for t in s["entities"]})
  header = ["dataset", "split", "sentences", "chars", "mean", "max",
            f">{LONG}"] + types + ["fixed", "dropped"]
  rows = [header]
  for dataset, splits in stats.items():
    for split, s in splits.items():
      rows.append([dataset, split, str(s["sentences"]), str(s["characters"]),
                   f"{s['mean_length']:.1f}", str(s["max_length"]),
                   f"{100 * s[f'longer_than_{LONG}']:.2f}%"] +
                  [str(s["entities"].get(t, "-")) if s["labeled"] else "-"
                   for t in types] +
                  [str(s["repaired_tags"]),
                   str(s["dropped_tokens"] +
                       sum(s["overlapping_spans_dropped"].values()))])
  widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
  lines = ["  ".join(cell.rjust(w) if i > 1 else cell.ljust(w)
                     for i, (cell, w) in enumerate(zip(row, widths)))
           for row in rows]
  lines.insert(1, "-" * len(lines[0]))
  return "\n".join(lines)
