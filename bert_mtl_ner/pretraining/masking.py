"""Masked-language-model inputs: whole-word (jieba) or character masking.

A training row packs consecutive sentences into ``[CLS] chars... [SEP]`` of at
most ``max_seq_len`` tokens (one token per character, as in the NER models), and
remembers the word spans of its characters. Each time a row is used it is masked
afresh (dynamic masking, as in RoBERTa) by a generator seeded from the step:

* ``word`` (whole-word masking, as the paper's Chinese BERT-wwm): 15% of the
  row's words, chosen at random, are masked with all their characters;
* ``char``: 15% of the row's characters, each on its own.

Of the chosen characters 80% become ``[MASK]``, 10% a random vocabulary token and
10% stay as they are (Devlin et al. 2019); each is a prediction target.
"""

import dataclasses
from typing import List, Mapping, Optional, Sequence, Tuple

import numpy as np

from bert_mtl_ner import tokenization

MASKINGS = ("word", "char")
Span = Tuple[int, int]


def jieba_spans(text: str) -> List[Span]:
  """Character spans [start, end) of the words ``jieba`` finds in ``text``."""
  import jieba  # pylint: disable=g-import-not-at-top
  spans, start = [], 0
  for word in jieba.lcut(text, HMM=True):
    spans.append((start, start + len(word)))
    start += len(word)
  return spans


def char_spans(text: str) -> List[Span]:
  return [(i, i + 1) for i in range(len(text))]


@dataclasses.dataclass
class PackedRows:
  """Token rows and the word spans inside each (spans index tokens of the row).

  Attributes:
    ids: int32 [rows, max_seq_len], ``[CLS] ... [SEP]`` then padding (0).
    lengths: tokens per row, specials included.
    spans: per row, (start, end) token spans of its words.
  """
  ids: np.ndarray
  lengths: np.ndarray
  spans: List[List[Span]]


def pack(sentences: Sequence[str], tokenizer: tokenization.CharTokenizer,
         max_seq_len: int, segment=jieba_spans) -> PackedRows:
  """Packs consecutive ``sentences`` into rows (longer ones are cut into pieces).

  Args:
    sentences: plain text, one sentence each.
    tokenizer: maps characters to ids (one token per character).
    max_seq_len: tokens per row, ``[CLS]`` and ``[SEP]`` included.
    segment: text -> word spans (``jieba_spans`` or ``char_spans``).
  """
  room = max_seq_len - 2
  rows: List[List[int]] = []
  spans: List[List[Span]] = []
  current: List[int] = []
  current_spans: List[Span] = []

  def flush():
    if current:
      rows.append([tokenizer.cls_id] + current + [tokenizer.sep_id])
      spans.append(list(current_spans))
      current.clear()
      current_spans.clear()

  for sentence in sentences:
    ids = tokenizer.char_ids(tuple(sentence))
    words = segment(sentence)
    for begin in range(0, len(ids), room):  # a sentence longer than a row
      piece = ids[begin:begin + room]
      if len(current) + len(piece) > room:
        flush()
      offset = len(current) + 1 - begin  # +1: [CLS]
      current_spans.extend(
          (max(s, begin) + offset, min(e, begin + room) + offset)
          for s, e in words if s < begin + room and e > begin)
      current.extend(piece)
  flush()
  array = np.zeros([len(rows), max_seq_len], np.int32)
  for i, row in enumerate(rows):
    array[i, :len(row)] = row
  return PackedRows(array, np.array([len(r) for r in rows], np.int32), spans)


def choose_positions(spans: Sequence[Span], rate: float,
                     rng: np.random.Generator) -> np.ndarray:
  """Token positions of ``round(rate * len(spans))`` random spans (at least 1)."""
  if not spans:
    return np.zeros([0], np.int64)
  count = max(1, int(round(rate * len(spans))))
  chosen = rng.choice(len(spans), size=min(count, len(spans)), replace=False)
  return np.concatenate([np.arange(*spans[i]) for i in sorted(chosen)])


def replacement_ids(vocab: Mapping[str, int]) -> np.ndarray:
  """Ids a chosen character may be swapped for: every token but the specials
  (``[PAD]``, ``[unused1]``, ``[MASK]``, ``<S>``, ...)."""
  return np.array(sorted(i for t, i in vocab.items() if not (
      (t.startswith("[") and t.endswith("]")) or t in ("<S>", "<T>"))),
                  np.int32)


def mask_batch(rows: PackedRows, index: Sequence[int], masking: str,
               rng: np.random.Generator, mask_id: int, replacements: np.ndarray,
               rate: float = 0.15, max_predictions: Optional[int] = None):
  """Masks rows ``index`` of ``rows``.

  Args:
    rows: packed rows (``pack``).
    index: which rows form the batch.
    masking: ``word`` or ``char``.
    rng: the generator (seed it from the step for a reproducible order).
    mask_id: the ``[MASK]`` id.
    replacements: ids random replacements are drawn from (``replacement_ids``).
    rate: the share of words (or characters) chosen.
    max_predictions: targets per row (default: 20% of the row length, rounded
      up); a row with more chosen positions keeps the first ones.

  Returns:
    A dict of numpy arrays: ``input_ids`` and ``attention_mask`` [batch, time],
    ``positions``, ``labels`` and ``weights`` [batch, max_predictions] (weight 0
    on padding targets).
  """
  if masking not in MASKINGS:
    raise ValueError(f"masking must be one of {MASKINGS}, not {masking!r}")
  ids = rows.ids[np.asarray(index)]  # fancy indexing: a copy
  attention = (ids != 0).astype(np.int32)
  time = ids.shape[1]
  limit = max_predictions or int(np.ceil(0.2 * time))
  positions = np.zeros([len(index), limit], np.int32)
  labels = np.zeros([len(index), limit], np.int32)
  weights = np.zeros([len(index), limit], np.float32)
  for b, row in enumerate(index):
    length = int(rows.lengths[row])
    spans = rows.spans[row] if masking == "word" else [
        (i, i + 1) for i in range(1, length - 1)]
    chosen = choose_positions(spans, rate, rng)[:limit]
    positions[b, :len(chosen)] = chosen
    labels[b, :len(chosen)] = ids[b, chosen]
    weights[b, :len(chosen)] = 1.0
    action = rng.random(len(chosen))
    ids[b, chosen[action < 0.8]] = mask_id
    swap = chosen[(action >= 0.8) & (action < 0.9)]
    ids[b, swap] = rng.choice(replacements, size=len(swap))
  return {"input_ids": ids, "attention_mask": attention, "positions": positions,
          "labels": labels, "weights": weights}
