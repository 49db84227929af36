"""Overlap between corpora, and de-duplicated evaluation splits.

About 64% of People's Daily test (2958 of 4636 sentences) occurs verbatim in MSRA's
train file, so any model that saw MSRA train must also be scored on People's Daily
test without those sentences. Two sentences are the same when their characters are;
in these corpora equal text always comes with equal tags.

Verbatim is not all of it. The two corpora print the same 1998 People's Daily
text with different digit widths (``10`` and ``１０``) and quote marks, and cut
it into sentences differently: ``seen_in`` compares texts after ``normalize``
(NFKC, whitespace and quote marks dropped) and counts a sentence as seen when
it occurs inside a reference sentence. By that measure nearly all of People's
Daily test is inside MSRA's train file (``data --action=overlap`` prints it).

A reference is ``dataset:split``. Use ``msra:train_full`` (the whole
``msra_train_bio``, train and dev of the split) to remove everything a model
trained or early-stopped on MSRA may have seen.
"""

import bisect
import re
import unicodedata
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from bert_mtl_ner.data import registry
from bert_mtl_ner.data.records import Sentence
from bert_mtl_ner.errors import UsageError

Ref = Tuple[str, str]
_IGNORED = re.compile("[\\s\"'\u201c\u201d\u2018\u2019\u300c\u300d\u300e\u300f]")


def parse_refs(spec: str) -> List[Ref]:
  """Parses ``"msra:train_full,peoples_daily:train"`` into (dataset, split) pairs.

  Raises:
    UsageError: on an item that is not ``dataset:split`` of a registered dataset.
  """
  refs = []
  for item in filter(None, (part.strip() for part in spec.split(","))):
    dataset, sep, split = item.partition(":")
    if not sep:
      raise UsageError(f"--dedup_against item {item!r} must be dataset:split, "
                       "for example msra:train_full")
    registry.get_split(dataset, split)
    refs.append((dataset, split))
  return refs


def text_keys(refs: Iterable[Ref], data_dir: Optional[str] = None) -> Set[str]:
  """The texts of every sentence of the referenced splits."""
  return set(reference_texts(refs, data_dir))


def normalize(text: str) -> str:
  """``text`` compared across corpora: NFKC (full-width digits and letters
  become ASCII), without whitespace and quote marks."""
  return _IGNORED.sub("", unicodedata.normalize("NFKC", text))


def reference_texts(refs: Iterable[Ref], data_dir: Optional[str] = None
                    ) -> List[str]:
  """The texts of every sentence of the referenced splits, in order (read once
  and handed to ``seen_in`` and ``ngram_cover``)."""
  return [s.text for dataset, split in refs
          for s in registry.read_split(dataset, split, data_dir)]


def seen_in(texts: Iterable[str], reference: Sequence[str]) -> List[bool]:
  """For each text: does it occur, after ``normalize``, inside a sentence of
  ``reference`` (``reference_texts``: a model trained on them has read it)?"""
  joined = _joined(reference)
  return [normalize(t) in joined for t in texts]


def entangled(texts: Sequence[str], reference: Sequence[str]) -> List[bool]:
  """For each text: is it, after ``normalize``, inside a sentence of
  ``reference``, or is a sentence of ``reference`` inside it? A training
  sentence for which this holds has an evaluation sentence's text in it, or
  is part of one (``seen_in`` is the first half). Empty normalized texts
  match nothing."""
  inside = seen_in(texts, reference)
  normalized = [normalize(t) for t in texts]
  joined = "\n".join(normalized)
  # The start offset of each text in ``joined``, to map a match to its text.
  starts, offset = [], 0
  for text in normalized:
    starts.append(offset)
    offset += len(text) + 1
  contains = [False] * len(normalized)
  for needle in {normalize(r) for r in reference}:
    if not needle:
      continue
    at = joined.find(needle)
    while at >= 0:
      contains[bisect.bisect_right(starts, at) - 1] = True
      at = joined.find(needle, at + 1)
  return [a and bool(n) or b for a, b, n in zip(inside, contains, normalized)]


def ngram_cover(texts: Iterable[str], reference: Sequence[str], n: int = 5
                ) -> List[float]:
  """For each text: the share of its character ``n``-grams (after
  ``normalize``) found anywhere in ``reference`` (sentence texts); 0 for a
  text shorter than ``n``. Unlike ``seen_in``, it measures partial overlap,
  such as two sentences of the same article."""
  grams: Set[str] = set()
  for sentence in reference:
    text = normalize(sentence)
    grams.update(text[i:i + n] for i in range(len(text) - n + 1))
  covers = []
  for text in texts:
    text = normalize(text)
    own = [text[i:i + n] for i in range(len(text) - n + 1)]
    covers.append(sum(g in grams for g in own) / len(own) if own else 0.0)
  return covers


def _joined(reference: Sequence[str]) -> str:
  """The normalized sentences, one per line (a text without a line break is
  inside one of them exactly when it is inside this)."""
  return "\n".join(normalize(s) for s in reference)


def deduplicate(sentences: Iterable[Sentence],
                keys: Set[str]) -> Tuple[List[Sentence], int]:
  """Drops the sentences whose text is in ``keys``.

  Returns:
    (kept sentences, number removed).
  """
  kept: List[Sentence] = []
  removed = 0
  for sentence in sentences:
    if sentence.text in keys:
      removed += 1
    else:
      kept.append(sentence)
  return kept, removed


def reference_splits(datasets: Sequence[str]) -> List[Ref]:
  """The training splits overlap is measured against (every ``train*`` split)."""
  return [(d, s) for d in datasets for s in registry.get_dataset(d).splits
          if s.startswith("train")]


def overlap_table(datasets: Sequence[str], data_dir: Optional[str] = None,
                  contained: bool = False
                  ) -> Dict[str, Dict[str, Dict[str, int]]]:
  """For every (dataset, split): how many of its sentences occur in each other
  dataset's training splits.

  Args:
    datasets: registered dataset names.
    data_dir: the data folder.
    contained: also count the sentences ``seen_in`` each split (normalized,
      inside a sentence), as ``"dataset:split (contained)"``.

  Returns:
    ``{dataset: {split: {"sentences": n, "dataset:split": k, ...}}}``.
  """
  refs = reference_splits(datasets)
  ref_texts = {ref: reference_texts([ref], data_dir) for ref in refs}
  ref_keys = {ref: set(texts) for ref, texts in ref_texts.items()}
  joined = ({ref: _joined(texts) for ref, texts in ref_texts.items()}
            if contained else {})
  table: Dict[str, Dict[str, Dict[str, int]]] = {}
  for dataset in datasets:
    for split in registry.get_dataset(dataset).splits:
      texts = [s.text for s in registry.read_split(dataset, split, data_dir)]
      row = {"sentences": len(texts)}
      for ref in refs:
        if ref[0] != dataset:
          row[f"{ref[0]}:{ref[1]}"] = sum(t in ref_keys[ref] for t in texts)
          if contained:
            row[f"{ref[0]}:{ref[1]} (contained)"] = sum(
                normalize(t) in joined[ref] for t in texts)
      table.setdefault(dataset, {})[split] = row
  return table


def format_overlap(table: Dict[str, Dict[str, Dict[str, int]]]) -> str:
  """Plain-text rendering of ``overlap_table``: counts and shares."""
  lines = []
  for dataset, splits in table.items():
    for split, row in splits.items():
      total = row["sentences"]
      parts = [f"{ref} {n} ({100 * n / total:.1f}%)" for ref, n in row.items()
               if ref != "sentences" and n]
      lines.append(f"{dataset}:{split} ({total} sentences) in "
                   + (", ".join(parts) if parts else "no other training split"))
  return "\n".join(lines)


def read_deduplicated(dataset: str, split: str, refs: Sequence[Ref],
                      data_dir: Optional[str] = None
                      ) -> Tuple[List[Sentence], int]:
  """A split without the sentences found in ``refs`` (all of it when empty).

  Returns:
    (sentences, number removed).
  """
  sentences = registry.read_split(dataset, split, data_dir)
  if not refs:
    return list(sentences), 0
  return deduplicate(sentences, text_keys(refs, data_dir))
