"""Verbatim overlap between corpora, and de-duplicated evaluation splits.

About 64% of People's Daily test (2958 of 4636 sentences) occurs verbatim in MSRA's
train file, so any model that saw MSRA train must also be scored on People's Daily
test without those sentences. Two sentences are the same when their characters are;
in these corpora equal text always comes with equal tags.

A reference is ``dataset:split``. Use ``msra:train_full`` (the whole
``msra_train_bio``, train and dev of the split) to remove everything a model
trained or early-stopped on MSRA may have seen.
"""

from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from bert_mtl_ner.data import registry
from bert_mtl_ner.data.records import Sentence
from bert_mtl_ner.errors import UsageError

Ref = Tuple[str, str]


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
  keys: Set[str] = set()
  for dataset, split in refs:
    keys.update(s.text for s in registry.read_split(dataset, split, data_dir))
  return keys


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


def overlap_table(datasets: Sequence[str], data_dir: Optional[str] = None
                  ) -> Dict[str, Dict[str, Dict[str, int]]]:
  """For every (dataset, split): how many of its sentences occur in each other
  dataset's training splits.

  Returns:
    ``{dataset: {split: {"sentences": n, "dataset:split": k, ...}}}``.
  """
  refs = reference_splits(datasets)
  ref_keys = {ref: text_keys([ref], data_dir) for ref in refs}
  table: Dict[str, Dict[str, Dict[str, int]]] = {}
  for dataset in datasets:
    for split in registry.get_dataset(dataset).splits:
      texts = [s.text for s in registry.read_split(dataset, split, data_dir)]
      row = {"sentences": len(texts)}
      for ref in refs:
        if ref[0] != dataset:
          row[f"{ref[0]}:{ref[1]}"] = sum(t in ref_keys[ref] for t in texts)
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
